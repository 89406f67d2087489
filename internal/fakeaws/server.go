package fakeaws

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/time/rate"

	"github.com/buildrole/buildrole/internal/fakeaws/ec2"
	"github.com/buildrole/buildrole/internal/fakeaws/ghoidc"
	"github.com/buildrole/buildrole/internal/fakeaws/internal/loopback"
	"github.com/buildrole/buildrole/internal/fakeaws/internal/sigv4"
)

// Server is a fake IAM + STS endpoint and GitHub OIDC issuer; on the same
// endpoint it refuses every EC2 call (package ec2), all over plain HTTP on
// a loopback port. Configure the exported fields, then call Start; the
// fields must not change afterwards.
type Server struct {
	// AccountID is the account that owns every resource. Default "123456789012".
	AccountID string
	// Partition is the ARN partition. Default "aws".
	Partition string
	// Issuer is the `iss` of minted OIDC tokens.
	// Default "https://token.actions.githubusercontent.com".
	Issuer string
	// Now is the clock for timestamps, token and credential expiry and
	// propagation delay. Default time.Now. Latency always uses real time.
	Now func() time.Time

	ls           *loopback.Server
	startErr     error
	closing      chan struct{}
	closeOnce    sync.Once
	startOnce    sync.Once
	defaultsOnce sync.Once
	adminID      string // UserId of the static-key caller
	issuer       *ghoidc.Issuer

	mu            sync.Mutex
	latency       time.Duration
	actionLatency map[string]time.Duration
	delivery      map[string]time.Duration
	faults        []*faultState
	propagation   time.Duration
	readLag       time.Duration
	lifetime      time.Duration            // of STS sessions; 0: as asked for
	throttles     map[string]*rate.Limiter // by service
	roleQuota     int
	profileQuota  int
	calls         []Call
	inFlight      int
	started       map[string]int            // calls begun, by action
	roles         map[string]*role          // by lower-case name
	profiles      map[string]*profile       // by lower-case name
	providers     map[string]*provider      // by ARN
	sessions      map[string]*session       // by access key id
	policies      map[string]*managedPolicy // customer managed, by ARN
	users         map[string]*user          // by access key id

	ec2Once sync.Once
	ec2     *ec2.Cloud
}

// Call is one logged AWS API request.
type Call struct {
	Action      string
	Service     string // "iam", "sts" or "ec2"
	AccessKeyID string // "" for unsigned requests
	// Status is the HTTP status sent; 0 when the connection was dropped or the
	// client went away before a response.
	Status int
	// ErrorCode is the AWS error code sent, "ConnectionDropped" for a Drop
	// fault, "RequestCanceled" when the client went away during latency.
	ErrorCode  string
	Start, End time.Time // wall clock, so overlapping calls can be measured
	Params     url.Values
}

// Fault makes matching calls fail. Each injected fault counts the calls that
// match its Action from the moment it is injected.
type Fault struct {
	Action string // e.g. "CreateRole" or EC2's "RunInstances"; "" = any action
	Nth    int    // fail the Nth matching call (1-based); 0 = every call
	Times  int    // consecutive calls failing from Nth; 0 means 1 (ignored when Nth==0)
	// Error to send. Code "" = "ServiceFailure"; Status 0 = AWS's status for
	// Code (500 if unknown); Message "" = AWS's usual text for Code.
	Code    string
	Status  int
	Message string
	// Drop hijacks and closes the TCP connection instead of responding.
	Drop bool
	// AfterApply performs the call's mutation first, then fails: a lost response.
	AfterApply bool
}

type faultState struct {
	f    Fault
	seen int
}

// NewUnstartedServer returns a Server that is not yet listening.
func NewUnstartedServer() *Server {
	s := &Server{
		closing:       make(chan struct{}),
		actionLatency: map[string]time.Duration{},
		delivery:      map[string]time.Duration{},
		roles:         map[string]*role{},
		started:       map[string]int{},
		profiles:      map[string]*profile{},
		providers:     map[string]*provider{},
		sessions:      map[string]*session{},
		policies:      map[string]*managedPolicy{},
		users:         map[string]*user{},
		issuer:        &ghoidc.Issuer{Bearer: randString(upperAlnum, 40)},
		adminID:       "AIDA" + randString(upperAlnum, 17),
	}
	mux := http.NewServeMux()
	// The runner's token service is a round trip too.
	s.issuer.Delay = func(ctx context.Context) bool { return s.sleep(ctx, s.latencyFor("")) }
	s.issuer.Register(mux)
	mux.HandleFunc("/", s.serveAWS)
	s.ls = loopback.New(mux)
	return s
}

// NewServer returns a started Server with default settings. It does not
// panic when it cannot listen: the server is returned closed, with Err
// saying why and a URL that refuses connections (see Start).
func NewServer() *Server {
	s := NewUnstartedServer()
	_ = s.Start()
	return s
}

// Start applies defaults and serves on a port of 127.0.0.1 the system
// picks. A listen error is returned, never a panic; the server is then
// closed, and its URL refuses connections. Later calls return the first
// call's result.
func (s *Server) Start() error {
	s.startOnce.Do(func() {
		s.setDefaults()
		if err := s.ls.Start(); err != nil {
			s.startErr = fmt.Errorf("fakeaws: %w", err)
			s.Close()
		}
	})
	return s.startErr
}

// Err is Start's error: nil once listening, and before Start.
func (s *Server) Err() error { return s.startErr }

func (s *Server) setDefaults() {
	s.defaultsOnce.Do(func() {
		if s.AccountID == "" {
			s.AccountID = "123456789012"
		}
		if s.Partition == "" {
			s.Partition = "aws"
		}
		if s.Issuer == "" {
			s.Issuer = "https://token.actions.githubusercontent.com"
		}
		if s.Now == nil {
			s.Now = time.Now
		}
		s.issuer.URL, s.issuer.Now, s.issuer.Base = s.Issuer, s.Now, s.URL
	})
}

// Job describes the GitHub Actions job whose OIDC tokens the issuer mints.
type Job = ghoidc.Job

// SetJob sets the claims of tokens minted after this call.
func (s *Server) SetJob(j Job) { s.issuer.SetJob(j) }

// TokenRequestURL is the runner's ACTIONS_ID_TOKEN_REQUEST_URL; clients
// append "&audience=X".
func (s *Server) TokenRequestURL() string { return s.URL() + ghoidc.TokenPath }

// TokenRequests counts requests to the token endpoint.
func (s *Server) TokenRequests() int { return s.issuer.Requests() }

// TokenRequestToken is the runner's ACTIONS_ID_TOKEN_REQUEST_TOKEN, the
// bearer token the token endpoint requires (random per server).
func (s *Server) TokenRequestToken() string { return s.issuer.Bearer }

// MintToken returns a token for audience ("" = GitHub's default,
// "https://github.com/OWNER"), exactly as the token endpoint would.
func (s *Server) MintToken(audience string) (string, error) { return s.issuer.MintToken(audience) }

// MintTokenForJob mints a token for j without changing the server's job.
func (s *Server) MintTokenForJob(j Job, audience string) (string, error) {
	return s.issuer.MintTokenForJob(j, audience)
}

// Close stops the server and waits for in-flight requests; requests sleeping
// in injected latency are cut short. Safe before Start and more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.closing) })
	s.ls.Close()
}

// URL is the base endpoint for both the IAM and the STS SDK clients, and
// the OIDC issuer's: "http://127.0.0.1:PORT". Empty before Start; after a
// failed Start, an address that refuses connections.
func (s *Server) URL() string { return s.ls.URL() }

// SetLatency makes every AWS API call, and every request for an OIDC
// token, wait d before it is handled.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// SetActionLatency adds d to calls of one action, on top of SetLatency.
func (s *Server) SetActionLatency(action string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.actionLatency[action] = d
}

// SetActionDelivery makes calls of one action take effect d after they
// arrive even when the client has given up waiting, as a request held up
// on a slow network still reaches AWS: its outcome is unknown to the
// client, and it lands later.
func (s *Server) SetActionDelivery(action string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delivery[action] = d
}

// InjectFault adds f; several faults may be active at once, the first
// injected one that triggers wins.
func (s *Server) InjectFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &faultState{f: f})
}

// ClearFaults removes every injected fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// SetPropagationDelay models IAM's eventual consistency: for d after a role's
// trust policy is created or updated, STS denies assuming it, and for d after
// an instance profile is created, GetInstanceProfile does not find it.
func (s *Server) SetPropagationDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.propagation = d
}

// SetSessionLifetime makes every STS session issued from now on last d,
// whatever DurationSeconds asked for (0: as asked). Calls signed with an
// expired session are refused as AWS refuses them, so a test can outlive
// several sessions in seconds.
func (s *Server) SetSessionLifetime(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lifetime = d
}

// SetReadLag models IAM's eventual consistency for reads: for d after a
// role or instance profile is created, GetRole, the List calls and IAM's
// own authorization do not see it (a policy bound to its path or tags then
// refuses calls on it), as a read replica that has not caught up.
func (s *Server) SetReadLag(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.readLag = d
}

// Requests returns a copy of the log of AWS API calls, in arrival order.
func (s *Server) Requests() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Call, len(s.calls))
	for i, c := range s.calls {
		c.Params = cloneValues(c.Params)
		out[i] = c
	}
	return out
}

// InFlight reports how many AWS API calls are being handled right now.
func (s *Server) InFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inFlight
}

// Started counts the calls of action that have begun, finished or not: a
// test can act while one is in flight.
func (s *Server) Started(action string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.started[action]
}

// ResetRequests empties the request log.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
}

// CountCalls reports how many logged calls were of action ("" = all).
func (s *Server) CountCalls(action string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if action == "" || c.Action == action {
			n++
		}
	}
	return n
}

func (s *Server) now() time.Time { return s.Now().UTC() }

// reqCtx is what an action handler sees; handlers run with s.mu held.
type reqCtx struct {
	action string
	params url.Values
	akid   string
	now    time.Time
}

type handler func(s *Server, rc *reqCtx) (any, *apiError)

func (s *Server) serveAWS(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	reqID := uuid.NewString()
	r = sigv4.WithPayload(r)
	if err := r.ParseForm(); err != nil {
		writeError(w, iamNS, reqID, errInvalidParameter("could not parse request body"))
		return
	}
	params := cloneValues(r.Form)
	if ec2.Is(r, params) {
		s.serveEC2(w, r, params)
		return
	}
	action := params.Get("Action")
	h, svc, ok := lookupAction(action)
	ns := iamNS
	if svc == "sts" {
		ns = stsNS
	}
	c := Call{Action: action, Service: svc, AccessKeyID: accessKeyID(r), Start: start, Params: params}
	defer s.track(&c)()

	if !s.sleep(r.Context(), s.latencyFor(action)) {
		c.ErrorCode = "RequestCanceled"
		abort(w) // returning normally would send an empty 200
		return
	}
	s.mu.Lock()
	delivery := s.delivery[action]
	s.mu.Unlock()
	if !s.sleep(context.Background(), delivery) {
		abort(w)
		return
	}
	if ok {
		if e := s.throttled(svc, time.Now()); e != nil {
			c.Status, c.ErrorCode = e.Status, e.Code
			writeError(w, ns, reqID, e)
			return
		}
	}
	fault := s.matchFault(action)
	if fault != nil && !fault.AfterApply {
		s.sendFault(w, fault, &c, func(e *apiError) { writeError(w, ns, reqID, e) })
		return
	}

	var result any
	var aerr *apiError
	if !ok {
		aerr = errInvalidAction(action, params.Get("Version"))
	} else {
		s.mu.Lock()
		aerr = s.authenticate(r, action, c.AccessKeyID)
		rc := &reqCtx{action: action, params: params, akid: c.AccessKeyID, now: s.now()}
		if aerr == nil {
			aerr = s.authorize(rc)
		}
		if aerr == nil {
			result, aerr = h(s, rc)
		}
		s.mu.Unlock()
	}

	if fault != nil {
		s.sendFault(w, fault, &c, func(e *apiError) { writeError(w, ns, reqID, e) })
		return
	}
	if aerr != nil {
		c.Status, c.ErrorCode = aerr.Status, aerr.Code
		writeError(w, ns, reqID, aerr)
		return
	}
	c.Status = http.StatusOK
	writeResult(w, ns, action, reqID, result)
}

// track counts c as begun and in flight; the function it returns logs c,
// as it then stands, when the call ends.
func (s *Server) track(c *Call) (done func()) {
	s.mu.Lock()
	s.started[c.Action]++
	s.inFlight++
	s.mu.Unlock()
	return func() {
		c.End = time.Now()
		s.mu.Lock()
		s.inFlight--
		s.calls = append(s.calls, *c)
		s.mu.Unlock()
	}
}

// authenticate mimics the checks AWS makes before authorising: a signature
// must be present, and keys this server issued must be valid, unexpired
// and sign the request (their secret is known; static keys are not checked).
func (s *Server) authenticate(r *http.Request, action, akid string) *apiError {
	if action == "AssumeRoleWithWebIdentity" {
		return nil
	}
	if akid == "" {
		return &apiError{Status: 403, Code: "MissingAuthenticationToken", Message: "Request is missing Authentication Token"}
	}
	sess, ok := s.sessions[akid]
	if !ok {
		return nil
	}
	tok := r.Header.Get("X-Amz-Security-Token")
	if tok == "" {
		tok = r.URL.Query().Get("X-Amz-Security-Token")
	}
	if tok != sess.token {
		return &apiError{Status: 403, Code: "InvalidClientTokenId", Message: "The security token included in the request is invalid."}
	}
	if !s.now().Before(sess.expires) {
		return &apiError{Status: 403, Code: "ExpiredToken", Message: "The security token included in the request is expired"}
	}
	// A presigned URL (no Authorization header) is not checked.
	if r.Header.Get("Authorization") != "" && !sigv4.Matches(r, sess.secret) {
		return &apiError{Status: 403, Code: "SignatureDoesNotMatch", Message: "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."}
	}
	return nil
}

func (s *Server) latencyFor(action string) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.latency + s.actionLatency[action]
}

// sleep waits d; false if the client went away or the server is closing.
func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.closing:
		return false
	}
}

func (s *Server) matchFault(action string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	var hit *Fault
	for _, fs := range s.faults {
		if fs.f.Action != "" && fs.f.Action != action {
			continue
		}
		fs.seen++
		if hit != nil {
			continue
		}
		times := max(fs.f.Times, 1)
		if fs.f.Nth == 0 || (fs.seen >= fs.f.Nth && fs.seen < fs.f.Nth+times) {
			f := fs.f
			hit = &f
		}
	}
	return hit
}

// sendFault answers c with the injected fault f: a dropped connection,
// or the error, written in the service's own document by write.
func (s *Server) sendFault(w http.ResponseWriter, f *Fault, c *Call, write func(*apiError)) {
	if f.Drop {
		c.ErrorCode = "ConnectionDropped"
		abort(w)
		return
	}
	e := faultError(f)
	c.Status, c.ErrorCode = e.Status, e.Code
	write(e)
}

// abort closes the connection without a response.
func abort(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	// Not hijackable (HTTP/2): net/http's own idiom resets the stream.
	panic(http.ErrAbortHandler)
}

// accessKeyID reads the caller's key from the SigV4 Authorization header (or
// a presigned query); the signature itself is not verified.
func accessKeyID(r *http.Request) string {
	auth := r.Header.Get("Authorization")
	if i := strings.Index(auth, "Credential="); i >= 0 {
		cred := auth[i+len("Credential="):]
		if j := strings.IndexAny(cred, "/, "); j >= 0 {
			cred = cred[:j]
		}
		return cred
	}
	if cred := r.URL.Query().Get("X-Amz-Credential"); cred != "" {
		k, _, _ := strings.Cut(cred, "/")
		return k
	}
	return ""
}

func cloneValues(v url.Values) url.Values {
	if v == nil {
		return nil
	}
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
