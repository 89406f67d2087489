package stsauth

import (
	"context"
	"fmt"
	"net/url"
	"testing"
)

// A call cut short by buildrole itself (SIGINT, the in-flight cap,
// the rollback timeout) is wrapped by net/http in a *url.Error; Unreachable
// reports it as "cannot reach AWS", and withExplanation then tells the user
// to check the network, proxy and endpoint.
func TestCancellationIsNotUnreachable(t *testing.T) {
	for _, cause := range []error{context.Canceled, fmt.Errorf("call still running 5s after up was told to stop: %w", context.DeadlineExceeded)} {
		err := &url.Error{Op: "Post", URL: "https://iam.amazonaws.com/", Err: cause}
		if c, ok := Unreachable(fmt.Errorf("operation error IAM: CreateRole, https response error: %w", err)); ok {
			t.Errorf("%v: reported as unreachable: %s", cause, c)
		}
	}
}

// The SDK also reads AWS_ACCESS_KEY and AWS_SECRET_KEY: so does the check
// for keys up's export would replace.
func TestEnvKeysUnderOlderNames(t *testing.T) {
	env := map[string]string{"AWS_ACCESS_KEY_ID": "AKIAOLDNAMES00000001", "AWS_SECRET_KEY": "s"}
	if got := EnvKeyID(func(k string) string { return env[k] }); got != "AKIAOLDNAMES00000001" {
		t.Errorf("EnvKeyID = %q", got)
	}
	delete(env, "AWS_SECRET_KEY")
	if got := EnvKeyID(func(k string) string { return env[k] }); got != "" {
		t.Errorf("a key without a secret: EnvKeyID = %q", got)
	}
}
