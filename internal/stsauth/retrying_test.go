package stsauth

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The SDK's back-off is never silent: every retry that waits a second or
// more is reported, with the network cause, and none shorter.
func TestBackoffReportsLongWaits(t *testing.T) {
	t.Parallel()
	refused := &url.Error{Op: "Post", URL: "https://sts.us-east-1.amazonaws.com/", Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}
	var got []Retry
	b := backoff{base: 10 * time.Second, max: 10 * time.Second, attempts: 8, notify: func(r Retry) { got = append(got, r) }}
	long := 0
	for i := 0; i < 50; i++ {
		d, _ := b.BackoffDelay(2, fmt.Errorf("operation error STS: GetCallerIdentity: %w", refused))
		if d >= time.Second {
			long++
		}
	}
	if long == 0 || len(got) != long {
		t.Fatalf("%d waits of a second or more, %d reported", long, len(got))
	}
	line := got[0].String()
	for _, want := range []string{"connection refused (https://sts.us-east-1.amazonaws.com)", "attempt 3 of 8", "trying again in"} {
		if !strings.Contains(line, want) {
			t.Errorf("%q lacks %q", line, want)
		}
	}
}
