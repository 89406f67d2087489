// Package loopback serves an http.Handler over plain HTTP on a loopback
// port, shaped like httptest.Server (New, Start, URL, Close that waits for
// requests in flight) without net/http/httptest: fakeaws serves
// `buildrole demo` from the binary users install, which must carry no test
// package. Listen errors are returned, never panics; nothing is global, so
// any number run side by side. It must not depend on other packages of
// buildrole.
package loopback

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
)

// Server is one handler served on a loopback port: New, then Start.
type Server struct {
	handler http.Handler

	mu      sync.Mutex
	started bool
	closed  bool
	url     string
	ln      net.Listener
	srv     *http.Server
	conns   map[net.Conn]http.ConnState
	// wg counts the Serve loop and every open connection: Close returns
	// once all are done.
	wg sync.WaitGroup
}

// NotListening is the URL of a server whose Start failed: port 0 on
// loopback refuses every connection, so a client that ignored the error
// fails at once, and never reaches an endpoint an empty URL would default
// to.
const NotListening = "http://127.0.0.1:0"

// ErrClosed is Start's error after Close.
var ErrClosed = errors.New("server closed before Start")

// New returns a server for h that is not listening yet.
func New(h http.Handler) *Server {
	return &Server{handler: h, conns: map[net.Conn]http.ConnState{}}
}

// Start listens on 127.0.0.1 (or [::1] where there is no IPv4 loopback),
// on a port the system picks, and serves there in the background. An error
// is returned, never a panic; the server is then closed and its URL is
// NotListening.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.started:
		return errors.New("server already started")
	case s.closed:
		s.url = NotListening
		return ErrClosed
	}
	s.started = true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		var err6 error
		if ln, err6 = net.Listen("tcp6", "[::1]:0"); err6 != nil {
			s.closed, s.url = true, NotListening
			return fmt.Errorf("listen on loopback: %w", err)
		}
	}
	s.ln, s.url = ln, "http://"+ln.Addr().String()
	s.srv = &http.Server{Handler: s.handler, ConnState: s.track}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = s.srv.Serve(ln) // returns when Close closes the listener
	}()
	return nil
}

// URL is "http://" and the address listened on: "" before Start,
// NotListening after a failed one.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url
}

// track follows every connection's state so that Close can close the idle
// ones and wait for the busy ones. net/http calls it for StateNew from the
// Serve loop, before Serve can return: wg never reaches zero while a
// connection may still be added.
func (s *Server) track(c net.Conn, st http.ConnState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch st {
	case http.StateNew:
		s.wg.Add(1)
		s.conns[c] = st
		if s.closed {
			_ = c.Close() // accepted as Close began; it will never be used
		}
	case http.StateActive:
		if _, ok := s.conns[c]; ok {
			s.conns[c] = st
		}
	case http.StateIdle:
		if _, ok := s.conns[c]; ok {
			s.conns[c] = st
		}
		if s.closed {
			_ = c.Close()
		}
	case http.StateHijacked, http.StateClosed:
		if _, ok := s.conns[c]; ok {
			delete(s.conns, c)
			s.wg.Done()
		}
	}
}

// Close stops accepting, closes connections between requests (and those
// that never sent one), lets requests in flight finish, their connections
// closing after the response, and waits for all of them. Safe before
// Start and more than once.
func (s *Server) Close() {
	s.mu.Lock()
	if !s.closed && s.ln != nil {
		_ = s.ln.Close()
		s.srv.SetKeepAlivesEnabled(false)
		for c, st := range s.conns {
			if st == http.StateIdle || st == http.StateNew {
				_ = c.Close()
			}
		}
	}
	s.closed = true
	s.mu.Unlock()
	s.wg.Wait()
}
