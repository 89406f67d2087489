package credserve_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"

	"github.com/buildrole/buildrole/internal/credserve"
)

// sessions issues numbered sessions that last life.
type sessions struct {
	life time.Duration
	n    atomic.Int32
	fail func(n int32) error
}

func (s *sessions) fetch(context.Context) (aws.Credentials, error) {
	n := s.n.Add(1)
	if s.fail != nil {
		if err := s.fail(n); err != nil {
			return aws.Credentials{}, err
		}
	}
	return aws.Credentials{AccessKeyID: fmt.Sprintf("ASIA%016d", n), SecretAccessKey: "secret", SessionToken: "token",
		CanExpire: true, Expires: time.Now().Add(s.life)}, nil
}

// sdk is the AWS SDK for Go v2's own container-credentials client, as a
// child process configured by Environ would build it.
func sdk(t *testing.T, s *credserve.Server) *endpointcreds.Provider {
	t.Helper()
	env := s.Environ(nil, "/dev/null")
	var url, token string
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case credserve.EnvFullURI:
			url = v
		case credserve.EnvToken:
			token = v
		}
	}
	return endpointcreds.New(url, func(o *endpointcreds.Options) { o.AuthorizationToken = token })
}

func start(t *testing.T, f credserve.Fetch, o credserve.Options) *credserve.Server {
	t.Helper()
	s, err := credserve.Start(f, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// A session is renewed with a third of its lifetime left, and the SDK
// gets the new one: a command outlives any one session.
func TestRenewsBeforeExpiry(t *testing.T) {
	src := &sessions{life: 1500 * time.Millisecond}
	s := start(t, src.fetch, credserve.Options{RetryMin: 50 * time.Millisecond})
	p := sdk(t, s)
	seen := map[string]bool{}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c, err := p.Retrieve(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !c.Expires.After(time.Now()) {
			t.Fatalf("served credentials expired at %s", c.Expires)
		}
		if time.Until(c.Expires) < 400*time.Millisecond {
			t.Errorf("served a session with %s left; renewal is due with a third left", time.Until(c.Expires))
		}
		seen[c.AccessKeyID] = true
		time.Sleep(100 * time.Millisecond)
	}
	if len(seen) < 4 {
		t.Errorf("over 5 s of 1.5 s sessions the SDK saw %d sessions, want at least 4", len(seen))
	}
}

// Only the holder of the token gets credentials.
func TestRefusesWithoutToken(t *testing.T) {
	src := &sessions{life: time.Hour}
	s := start(t, src.fetch, credserve.Options{})
	for _, auth := range []string{"", "wrong"} {
		req, _ := http.NewRequest(http.MethodGet, s.URL(), nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("Authorization %q: status %d, want 403", auth, resp.StatusCode)
		}
	}
	if _, served := s.Stats(); served != 0 {
		t.Errorf("served %d times without the token", served)
	}
}

// A request made before the first session exists waits for it: the
// propagation wait moves to the command's first call.
func TestFirstRequestWaits(t *testing.T) {
	release := make(chan struct{})
	src := &sessions{life: time.Hour}
	s := start(t, func(ctx context.Context) (aws.Credentials, error) {
		<-release
		return src.fetch(ctx)
	}, credserve.Options{})
	time.AfterFunc(300*time.Millisecond, func() { close(release) })
	start := time.Now()
	c, err := sdk(t, s).Retrieve(context.Background())
	if err != nil || c.AccessKeyID == "" {
		t.Fatalf("Retrieve: %v %+v", err, c)
	}
	if waited := time.Since(start); waited < 250*time.Millisecond {
		t.Errorf("answered after %s, before the first session existed", waited)
	}
}

// Transient failures are retried while the current session is valid; the
// SDK never sees them.
func TestTransientFailuresRetried(t *testing.T) {
	var logs sync.Map
	src := &sessions{life: 1500 * time.Millisecond, fail: func(n int32) error {
		if n == 2 || n == 3 {
			return errors.New("throttled")
		}
		return nil
	}}
	s := start(t, src.fetch, credserve.Options{RetryMin: 100 * time.Millisecond,
		Logf: func(f string, a ...any) { logs.Store(fmt.Sprintf(f, a...), true) }})
	p := sdk(t, s)
	for deadline := time.Now().Add(4 * time.Second); time.Now().Before(deadline) && src.n.Load() < 5; {
		if _, err := p.Retrieve(context.Background()); err != nil {
			t.Fatalf("a transient renewal failure reached the SDK: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := s.Err(); err != nil {
		t.Errorf("Err = %v after transient failures", err)
	}
	if sessions, _ := s.Stats(); sessions < 2 {
		t.Errorf("%d sessions: the renewal did not recover", sessions)
	}
	n := 0
	logs.Range(func(any, any) bool { n++; return true })
	if n != 2 {
		t.Errorf("%d log lines for 2 failed renewals", n)
	}
}

// A renewal that cannot succeed is reported once; the current session is
// served until it expires, then the SDK gets the reason, not a hang.
func TestPermanentFailureReportedOnce(t *testing.T) {
	gone := errors.New("NoSuchEntity: the role was deleted")
	var logs []string
	var mu sync.Mutex
	src := &sessions{life: 1200 * time.Millisecond, fail: func(n int32) error {
		if n > 1 {
			return gone
		}
		return nil
	}}
	s := start(t, src.fetch, credserve.Options{Permanent: func(err error) bool { return errors.Is(err, gone) },
		Logf: func(f string, a ...any) { mu.Lock(); logs = append(logs, fmt.Sprintf(f, a...)); mu.Unlock() }})
	p := sdk(t, s)
	if _, err := p.Retrieve(context.Background()); err != nil {
		t.Fatalf("first session: %v", err)
	}
	time.Sleep(1500 * time.Millisecond)
	_, err := p.Retrieve(context.Background())
	if err == nil || !strings.Contains(err.Error(), "role was deleted") {
		t.Errorf("after expiry the SDK got %v, want the renewal's failure", err)
	}
	if !errors.Is(s.Err(), gone) {
		t.Errorf("Err = %v", s.Err())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(logs) != 1 || !strings.Contains(logs[0], "cannot be renewed") {
		t.Errorf("logs = %q, want one line saying renewal cannot succeed", logs)
	}
	if got := src.n.Load(); got != 2 {
		t.Errorf("%d fetches; a permanent failure is not retried", got)
	}
}

// Nothing in the parent's environment can win over the endpoint in either
// SDK's chain.
func TestEnvironDropsShadowing(t *testing.T) {
	src := &sessions{life: time.Hour}
	s := start(t, src.fetch, credserve.Options{})
	// Every source either SDK would try before a container endpoint, or
	// instead of this one.
	shadowing := []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
		"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"}
	parent := []string{"PATH=/bin", "AWS_REGION=eu-west-1"}
	for _, k := range shadowing {
		parent = append(parent, k+"=from-parent")
	}
	env := s.Environ(parent, "/empty")
	got := map[string][]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		got[k] = append(got[k], v)
	}
	for _, k := range shadowing {
		if slices.Contains(got[k], "from-parent") {
			t.Errorf("%s kept from the parent", k)
		}
	}
	for k, want := range map[string]string{"PATH": "/bin", "AWS_REGION": "eu-west-1", "AWS_CONFIG_FILE": "/empty",
		"AWS_SHARED_CREDENTIALS_FILE": "/empty", credserve.EnvFullURI: s.URL()} {
		if len(got[k]) != 1 || got[k][0] != want {
			t.Errorf("%s = %q, want %q", k, got[k], want)
		}
	}
}
