package fakeaws

import (
	"fmt"
	"net"
	"net/http"
	"sync"
)

// loopback serves a handler over plain HTTP on a loopback port, the way
// httptest.Server does, without net/http/httptest: `buildrole demo` serves
// the fake from the binary users install, which must not carry test
// packages (internal/layout checks). Nothing in it is global, so any number
// run side by side.
type loopback struct {
	url string
	ln  net.Listener
	srv *http.Server

	mu     sync.Mutex
	closed bool
	conns  map[net.Conn]http.ConnState
	// wg counts the Serve loop and every open connection: Close returns
	// once all are done.
	wg sync.WaitGroup
}

// listenLoopback listens on 127.0.0.1 (or [::1] where there is no IPv4
// loopback) on a port the system picks, for serve to serve h there.
func listenLoopback(h http.Handler) (*loopback, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		var err6 error
		if ln, err6 = net.Listen("tcp6", "[::1]:0"); err6 != nil {
			return nil, fmt.Errorf("fakeaws: listen on loopback: %w", err)
		}
	}
	l := &loopback{url: "http://" + ln.Addr().String(), ln: ln, conns: map[net.Conn]http.ConnState{}}
	l.srv = &http.Server{Handler: h, ConnState: l.track}
	return l, nil
}

// serve starts serving: whatever the caller stored before the call is
// visible to the handlers.
func (l *loopback) serve() {
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		_ = l.srv.Serve(l.ln) // returns when close closes the listener
	}()
}

// track follows every connection's state so that Close can close the idle
// ones and wait for the busy ones. net/http calls it for StateNew from the
// Serve loop, before Serve can return: wg never reaches zero while a
// connection may still be added.
func (l *loopback) track(c net.Conn, st http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch st {
	case http.StateNew:
		l.wg.Add(1)
		l.conns[c] = st
		if l.closed {
			_ = c.Close() // accepted as Close began; it will never be used
		}
	case http.StateActive:
		if _, ok := l.conns[c]; ok {
			l.conns[c] = st
		}
	case http.StateIdle:
		if _, ok := l.conns[c]; ok {
			l.conns[c] = st
		}
		if l.closed {
			_ = c.Close()
		}
	case http.StateHijacked, http.StateClosed:
		if _, ok := l.conns[c]; ok {
			delete(l.conns, c)
			l.wg.Done()
		}
	}
}

// close stops accepting, closes connections between requests (and those
// that never sent one), lets requests in flight finish, their connections
// closing after the response, and waits for all of them. Safe to call more
// than once.
func (l *loopback) close() {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		_ = l.ln.Close()
		l.srv.SetKeepAlivesEnabled(false)
		for c, st := range l.conns {
			if st == http.StateIdle || st == http.StateNew {
				_ = c.Close()
			}
		}
	}
	l.mu.Unlock()
	l.wg.Wait()
}
