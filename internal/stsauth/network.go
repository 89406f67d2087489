package stsauth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"syscall"
)

// Unreachable says why err is a failure to reach an endpoint at all (a
// refused connection, a failed DNS lookup, a timeout, a TLS or proxy
// error), naming the endpoint; ok is false for any other error. Users then
// read the real cause, not what the SDK's retries made of it.
func Unreachable(err error) (cause string, ok bool) {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		// Told to stop, or out of time: not the network's doing.
		return "", false
	}
	endpoint := ""
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			endpoint = u.Scheme + "://" + u.Host
		}
	}
	at := func(s string) string {
		if endpoint != "" {
			return s + " (" + endpoint + ")"
		}
		return s
	}
	var dns *net.DNSError
	var op *net.OpError
	var ne net.Error
	switch {
	case errors.As(err, &dns):
		return at(fmt.Sprintf("DNS lookup of %s failed: %s", dns.Name, dns.Err)), true
	case errors.Is(err, syscall.ECONNREFUSED):
		return at("connection refused"), true
	case errors.As(err, &ne) && ne.Timeout():
		return at("timed out"), true
	case errors.As(err, &op):
		return at(fmt.Sprintf("%s %s failed: %v", op.Op, op.Net, op.Err)), true
	case ue != nil:
		return at(ue.Err.Error()), true
	}
	return "", false
}

// UnreachableError is a call that could not reach AWS at all, with the
// cause and what to check.
type UnreachableError struct {
	Doing string
	Cause string
	Err   error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("%s: cannot reach AWS: %s; check the network, --endpoint-url / AWS_ENDPOINT_URL, and HTTPS_PROXY / NO_PROXY: %v", e.Doing, e.Cause, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// withCause puts the network cause first when there is one.
func withCause(err error, doing string) error {
	if cause, ok := Unreachable(err); ok {
		return &UnreachableError{Doing: doing, Cause: cause, Err: err}
	}
	return nil
}
