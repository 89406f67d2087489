package loopback

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func start(t *testing.T, h http.Handler) *Server {
	t.Helper()
	l := New(h)
	if err := l.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return l
}

func TestListensOnLoopback(t *testing.T) {
	t.Parallel()
	l := start(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	host, _, err := net.SplitHostPort(strings.TrimPrefix(l.URL(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		t.Errorf("url %s, want a loopback address", l.URL())
	}
	resp, err := http.Get(l.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if b, _ := io.ReadAll(resp.Body); string(b) != "ok" {
		t.Errorf("body %q", b)
	}
}

// TestCloseWaitsForInFlight: a request being handled when Close is
// called gets its whole response, and Close returns only after it.
func TestCloseWaitsForInFlight(t *testing.T) {
	t.Parallel()
	entered, release := make(chan struct{}), make(chan struct{})
	l := start(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(entered)
		<-release
		_, _ = io.WriteString(w, "finished")
	}))
	got := make(chan string, 1)
	go func() {
		resp, err := http.Get(l.URL())
		if err != nil {
			got <- "error: " + err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		got <- string(b)
	}()
	<-entered
	closed := make(chan struct{})
	go func() { l.Close(); close(closed) }()
	select {
	case <-closed:
		t.Fatal("close returned while a request was in flight")
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if b := <-got; b != "finished" {
		t.Errorf("in-flight response = %q, want finished", b)
	}
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("close did not return after the request finished")
	}
	if _, err := http.Get(l.URL()); err == nil {
		t.Error("request after close succeeded")
	}
}

// TestCloseIdle: keep-alive connections between requests, and a
// connection that never sent one, do not hold Close up.
func TestCloseIdle(t *testing.T) {
	t.Parallel()
	l := start(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	client := &http.Client{Transport: &http.Transport{}}
	resp, err := client.Get(l.URL()) // leaves an idle keep-alive connection
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	silent, err := net.Dial("tcp", strings.TrimPrefix(l.URL(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	waitConns(t, l, 2)
	done := make(chan struct{})
	go func() { l.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("close blocked on idle connections")
	}
}

func waitConns(t *testing.T, l *Server, n int) {
	t.Helper()
	for range 500 {
		l.mu.Lock()
		got := len(l.conns)
		l.mu.Unlock()
		if got == n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("never saw %d connections", n)
}

func TestStartErrors(t *testing.T) {
	t.Parallel()
	l := New(http.NotFoundHandler())
	if l.URL() != "" {
		t.Errorf("URL before Start = %q", l.URL())
	}
	l.Close()
	if err := l.Start(); !errors.Is(err, ErrClosed) {
		t.Errorf("Start after Close = %v, want ErrClosed", err)
	}
	if l.URL() != NotListening {
		t.Errorf("URL after a failed Start = %q, want %s", l.URL(), NotListening)
	}
	if resp, err := http.Get(NotListening); err == nil {
		resp.Body.Close()
		t.Errorf("%s answered", NotListening)
	}
	l.Close()

	twice := start(t, http.NotFoundHandler())
	if err := twice.Start(); err == nil {
		t.Error("second Start succeeded")
	}
}
