package fakeaws

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func startLoopback(t *testing.T, h http.Handler) *loopback {
	t.Helper()
	l, err := listenLoopback(h)
	if err != nil {
		t.Fatal(err)
	}
	l.serve()
	t.Cleanup(l.close)
	return l
}

func TestLoopbackListensOnLoopback(t *testing.T) {
	t.Parallel()
	l := startLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	host, _, err := net.SplitHostPort(strings.TrimPrefix(l.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		t.Errorf("url %s, want a loopback address", l.url)
	}
	resp, err := http.Get(l.url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if b, _ := io.ReadAll(resp.Body); string(b) != "ok" {
		t.Errorf("body %q", b)
	}
}

// TestLoopbackCloseWaitsForInFlight: a request being handled when Close is
// called gets its whole response, and Close returns only after it.
func TestLoopbackCloseWaitsForInFlight(t *testing.T) {
	t.Parallel()
	entered, release := make(chan struct{}), make(chan struct{})
	l := startLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(entered)
		<-release
		_, _ = io.WriteString(w, "finished")
	}))
	got := make(chan string, 1)
	go func() {
		resp, err := http.Get(l.url)
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
	go func() { l.close(); close(closed) }()
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
	if _, err := http.Get(l.url); err == nil {
		t.Error("request after close succeeded")
	}
}

// TestLoopbackCloseIdle: keep-alive connections between requests, and a
// connection that never sent one, do not hold Close up.
func TestLoopbackCloseIdle(t *testing.T) {
	t.Parallel()
	l := startLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	client := &http.Client{Transport: &http.Transport{}}
	resp, err := client.Get(l.url) // leaves an idle keep-alive connection
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	silent, err := net.Dial("tcp", strings.TrimPrefix(l.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	waitConns(t, l, 2)
	done := make(chan struct{})
	go func() { l.close(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("close blocked on idle connections")
	}
}

func waitConns(t *testing.T, l *loopback, n int) {
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

// TestServerStartErrors: Start reports, never panics; a server that is not
// listening names an address that refuses connections, never an empty
// endpoint a client would replace with AWS's.
func TestServerStartErrors(t *testing.T) {
	t.Parallel()
	s := NewUnstartedServer()
	if s.URL() != "" {
		t.Errorf("URL before Start = %q, want empty", s.URL())
	}
	s.Close()
	if err := s.Start(); !errors.Is(err, errClosed) {
		t.Fatalf("Start after Close = %v, want %v", err, errClosed)
	}
	if s.Err() == nil || s.URL() != notListening {
		t.Errorf("after a failed Start: Err %v, URL %q", s.Err(), s.URL())
	}
	if _, err := http.Get(s.URL() + "/"); err == nil {
		t.Errorf("%s answered", s.URL())
	}
	s.Close() // again: no panic

	ok := NewUnstartedServer()
	if err := ok.Start(); err != nil {
		t.Fatal(err)
	}
	defer ok.Close()
	if err := ok.Start(); err != nil || ok.Err() != nil {
		t.Errorf("second Start = %v, Err %v", err, ok.Err())
	}
	if !strings.HasPrefix(ok.URL(), "http://127.0.0.1:") && !strings.HasPrefix(ok.URL(), "http://[::1]:") {
		t.Errorf("URL %q, want plain HTTP on loopback", ok.URL())
	}
}
