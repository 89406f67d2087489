package stsauth_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/buildrole/buildrole/internal/stsauth"
)

// An endpoint nobody listens on: the error says connection refused and
// names the endpoint, not "no usable credentials".
func TestUnreachableEndpointNamesTheCause(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	o := stsauth.Options{Region: "us-east-1", EndpointURL: "http://" + addr, RetryMaxAttempts: 2, RetryBaseDelay: time.Millisecond, RetryMaxDelay: time.Millisecond,
		Getenv: func(k string) string {
			return map[string]string{"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "s"}[k]
		}}
	_, err = stsauth.Bootstrap(context.Background(), o, "", "s", "sts.amazonaws.com", nil)
	if err == nil || !strings.Contains(err.Error(), "connection refused (http://"+addr+")") || strings.Contains(err.Error(), "no usable credentials") {
		t.Fatalf("err = %v", err)
	}
	if cause, ok := stsauth.Unreachable(err); !ok || !strings.Contains(cause, "connection refused") {
		t.Errorf("Unreachable = %q, %v", cause, ok)
	}
	_, err = stsauth.Bootstrap(context.Background(), stsauth.Options{Region: "us-east-1", EndpointURL: "http://no-such-host.invalid", RetryMaxAttempts: 1,
		Getenv: o.Getenv}, "", "s", "sts.amazonaws.com", nil)
	if err == nil || !strings.Contains(err.Error(), "DNS lookup of no-such-host.invalid failed") {
		t.Fatalf("err = %v", err)
	}
}
