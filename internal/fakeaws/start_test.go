package fakeaws_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/buildrole/buildrole/internal/fakeaws"
)

// TestStartAndClose: plain HTTP on loopback; Start reports an error, never
// panics; a server that is not listening names an address that refuses
// connections, never an empty endpoint a client would replace with AWS's.
func TestStartAndClose(t *testing.T) {
	t.Parallel()
	s := fakeaws.NewUnstartedServer()
	if s.URL() != "" {
		t.Errorf("URL before Start = %q, want empty", s.URL())
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil || s.Err() != nil {
		t.Errorf("second Start = %v, Err %v", err, s.Err())
	}
	if !strings.HasPrefix(s.URL(), "http://127.0.0.1:") && !strings.HasPrefix(s.URL(), "http://[::1]:") {
		t.Errorf("URL %q, want plain HTTP on loopback", s.URL())
	}
	s.Close()
	s.Close() // again: no panic

	closed := fakeaws.NewUnstartedServer()
	closed.Close()
	if err := closed.Start(); err == nil || closed.Err() != err {
		t.Fatalf("Start after Close = %v (Err %v), want an error", err, closed.Err())
	}
	if u := closed.URL(); u == "" {
		t.Error("URL after a failed Start is empty")
	} else if resp, err := http.Get(u + "/"); err == nil {
		resp.Body.Close()
		t.Errorf("%s answered", u)
	}
}
