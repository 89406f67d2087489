package credserve

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// The variables that point an SDK at the server.
const (
	EnvFullURI = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
	EnvToken   = "AWS_CONTAINER_AUTHORIZATION_TOKEN"
)

// shadowing are the variables that make either SDK take credentials from
// somewhere before (or instead of) the container endpoint: static keys,
// a profile, web identity, another container endpoint. The shared files
// are pointed at an empty file, so a default profile with keys in
// ~/.aws/credentials cannot win either.
var shadowing = []string{
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
	"AWS_ACCESS_KEY", "AWS_SECRET_KEY", "AWS_SECURITY_TOKEN",
	"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SDK_LOAD_CONFIG",
	"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
	"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
	EnvFullURI, EnvToken,
	"AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
}

// Fetch obtains a new session of the role.
type Fetch func(ctx context.Context) (aws.Credentials, error)

// Options tune a Server; the zero value is usable.
type Options struct {
	// Permanent tells a failure that retrying cannot mend (the role is
	// gone, the trust refuses): it is reported once and renewal stops.
	Permanent func(error) bool
	// Logf reports renewals that fail and the one that cannot succeed.
	Logf func(format string, args ...any)
	// Now is the clock (tests).
	Now func() time.Time
	// RetryMin and RetryMax bound the backoff between failed renewals
	// (defaults 1 s and 30 s).
	RetryMin, RetryMax time.Duration
	// FirstWait is how long a request waits for the first session before
	// it is answered 503, which both SDKs retry (default 60 s).
	FirstWait time.Duration
}

// Server serves one role's credentials on 127.0.0.1.
type Server struct {
	fetch Fetch
	o     Options
	ln    net.Listener
	http  *http.Server
	token string
	stop  context.CancelFunc
	done  chan struct{}

	mu       sync.Mutex
	cur      aws.Credentials
	have     bool
	failed   error         // the renewal that cannot succeed
	changed  chan struct{} // closed when cur or failed changes
	sessions int
	served   int
}

// Start listens on a free loopback port and fetches the first session in
// the background; requests wait for it.
func Start(fetch Fetch, o Options) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("credentials endpoint: %w", err)
	}
	var secret [32]byte
	if _, err := rand.Read(secret[:]); err != nil {
		ln.Close()
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	s := &Server{fetch: fetch, o: o.withDefaults(), ln: ln, token: hex.EncodeToString(secret[:]),
		stop: stop, done: make(chan struct{}), changed: make(chan struct{})}
	s.http = &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 10 * time.Second}
	go s.http.Serve(ln) //nolint:errcheck // ends with Close
	go s.renew(ctx)
	return s, nil
}

func (o Options) withDefaults() Options {
	if o.Permanent == nil {
		o.Permanent = func(error) bool { return false }
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.RetryMin <= 0 {
		o.RetryMin = time.Second
	}
	if o.RetryMax <= 0 {
		o.RetryMax = 30 * time.Second
	}
	if o.FirstWait <= 0 {
		o.FirstWait = time.Minute
	}
	return o
}

// URL is the endpoint's address.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() + "/credentials" }

// Environ returns the child's environment: parent without the variables
// that would shadow the endpoint, the shared files pointed at empty, and
// the endpoint with its token.
func (s *Server) Environ(parent []string, emptyFile string) []string {
	drop := map[string]bool{}
	for _, k := range shadowing {
		drop[k] = true
	}
	var env []string
	for _, kv := range parent {
		k, _, _ := strings.Cut(kv, "=")
		if !drop[k] {
			env = append(env, kv)
		}
	}
	return append(env,
		"AWS_CONFIG_FILE="+emptyFile, "AWS_SHARED_CREDENTIALS_FILE="+emptyFile,
		EnvFullURI+"="+s.URL(), EnvToken+"="+s.token)
}

// Stats says how many sessions were obtained and how many requests were
// answered with credentials.
func (s *Server) Stats() (sessions, served int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions, s.served
}

// Err is the renewal failure that could not be mended, if any.
func (s *Server) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failed
}

// Close stops renewing and serving.
func (s *Server) Close() error {
	s.stop()
	<-s.done
	return s.http.Close()
}

// renew fetches a session, then another when a third of its lifetime is
// left, retrying failures with backoff while the current one is valid.
func (s *Server) renew(ctx context.Context) {
	defer close(s.done)
	backoff := s.o.RetryMin
	for {
		creds, err := s.fetch(ctx)
		if ctx.Err() != nil {
			return
		}
		var wait time.Duration
		switch {
		case err == nil:
			s.set(creds, nil)
			backoff = s.o.RetryMin
			wait = max(s.renewIn(creds), s.o.RetryMin)
		case s.o.Permanent(err) || !s.retryable():
			s.set(aws.Credentials{}, err)
			return
		default:
			s.o.Logf("renewing the build role's credentials failed, retrying in %s: %v", backoff, err)
			wait = backoff
			backoff = min(2*backoff, s.o.RetryMax)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// renewIn is when to renew: with a third of the lifetime left, and never
// later than five minutes before expiry where the lifetime allows (the
// SDKs' own window).
func (s *Server) renewIn(c aws.Credentials) time.Duration {
	if !c.CanExpire {
		return 24 * time.Hour
	}
	left := c.Expires.Sub(s.o.Now())
	margin := max(left/3, min(5*time.Minute, left/2))
	return max(left-margin, 0)
}

// retryable: a failure may be retried while there is no session yet (the
// first may still propagate) or the current one is valid.
func (s *Server) retryable() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.have || s.cur.Expires.After(s.o.Now())
}

func (s *Server) set(c aws.Credentials, failed error) {
	if failed != nil {
		s.o.Logf("the build role's credentials cannot be renewed: %v", failed)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if failed != nil {
		s.failed = failed
	} else {
		s.cur, s.have = c, true
		s.sessions++
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

// current waits, within the request's context and FirstWait, for a valid
// session.
func (s *Server) current(ctx context.Context) (aws.Credentials, error) {
	deadline := time.After(s.o.FirstWait)
	for {
		s.mu.Lock()
		c, have, failed, changed := s.cur, s.have, s.failed, s.changed
		if have && (!c.CanExpire || c.Expires.After(s.o.Now())) {
			s.served++
			s.mu.Unlock()
			return c, nil
		}
		s.mu.Unlock()
		if failed != nil {
			return aws.Credentials{}, failed
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return aws.Credentials{}, ctx.Err()
		case <-deadline:
			return aws.Credentials{}, errNotYet
		}
	}
}

var errNotYet = errors.New("the build role's credentials are not available yet")

// response is the document both SDKs decode; errors carry code and message.
type response struct {
	AccessKeyID     string `json:"AccessKeyId,omitempty"`
	SecretAccessKey string `json:"SecretAccessKey,omitempty"`
	Token           string `json:"Token,omitempty"`
	Expiration      string `json:"Expiration,omitempty"`
	Code            string `json:"code,omitempty"`
	Message         string `json:"message,omitempty"`
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.Method != http.MethodGet || r.URL.Path != "/credentials" {
		reply(w, http.StatusNotFound, response{Code: "NotFound", Message: "no such resource"})
		return
	}
	if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte(s.token)) != 1 {
		reply(w, http.StatusForbidden, response{Code: "AccessDenied", Message: "wrong or missing authorization token"})
		return
	}
	c, err := s.current(r.Context())
	switch {
	case errors.Is(err, errNotYet):
		reply(w, http.StatusServiceUnavailable, response{Code: "NotYetAvailable", Message: err.Error()})
	case err != nil:
		// Not retryable for the SDKs: the failure is final.
		reply(w, http.StatusBadRequest, response{Code: "RenewalFailed", Message: "buildrole could not renew the build role's credentials: " + err.Error()})
	default:
		out := response{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, Token: c.SessionToken}
		if c.CanExpire {
			out.Expiration = c.Expires.UTC().Format(time.RFC3339Nano)
		}
		reply(w, http.StatusOK, out)
	}
}

func reply(w http.ResponseWriter, status int, body response) {
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
