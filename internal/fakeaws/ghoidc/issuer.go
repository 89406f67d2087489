// Package ghoidc is a fake of GitHub Actions' OIDC token issuer: the
// runner's token endpoint (ACTIONS_ID_TOKEN_REQUEST_URL with its bearer
// token), the OpenID configuration and the JWKS, minting RS256 tokens with
// GitHub's claims for a Job. fakeaws serves it beside IAM and STS; it must
// not depend on other buildrole packages.
package ghoidc

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// Job describes the GitHub Actions job whose OIDC tokens the issuer mints.
// Empty fields take the defaults of defaultJob, except Environment; derived
// fields follow GitHub's rules.
type Job struct {
	Repository      string // "OWNER/REPO"; default "octo-org/octo-repo"
	RepositoryOwner string // default: the OWNER part of Repository
	Ref             string // default "refs/heads/main"
	EventName       string // default "push"
	Workflow        string // workflow name; default "build"
	Actor           string // default "octocat"
	RunID           string // default "1234567890"
	RunAttempt      string // default "1"
	Environment     string // deployment environment; "" = none
	// Subject "" = derived like GitHub: repo:OWNER/REPO:environment:NAME,
	// repo:OWNER/REPO:pull_request, or repo:OWNER/REPO:ref:REF.
	Subject string
	// JobWorkflowRef "" = OWNER/REPO/.github/workflows/<workflow>.yml@REF.
	JobWorkflowRef string
	TTL            time.Duration // token lifetime; default 5m
}

func defaultJob() Job {
	return Job{
		Repository: "octo-org/octo-repo", Ref: "refs/heads/main", EventName: "push",
		Workflow: "build", Actor: "octocat", RunID: "1234567890", RunAttempt: "1",
		TTL: 5 * time.Minute,
	}
}

// resolved fills defaults and derived fields.
func (j Job) resolved() Job {
	d := defaultJob()
	fill := func(v *string, def string) {
		if *v == "" {
			*v = def
		}
	}
	fill(&j.Repository, d.Repository)
	owner, _, _ := strings.Cut(j.Repository, "/")
	fill(&j.RepositoryOwner, owner)
	fill(&j.Ref, d.Ref)
	fill(&j.EventName, d.EventName)
	fill(&j.Workflow, d.Workflow)
	fill(&j.Actor, d.Actor)
	fill(&j.RunID, d.RunID)
	fill(&j.RunAttempt, d.RunAttempt)
	if j.TTL <= 0 {
		j.TTL = d.TTL
	}
	if j.Subject == "" {
		switch {
		case j.Environment != "":
			j.Subject = "repo:" + j.Repository + ":environment:" + j.Environment
		case j.EventName == "pull_request" || j.EventName == "pull_request_target":
			j.Subject = "repo:" + j.Repository + ":pull_request"
		default:
			j.Subject = "repo:" + j.Repository + ":ref:" + j.Ref
		}
	}
	fill(&j.JobWorkflowRef, j.Repository+"/.github/workflows/"+j.Workflow+".yml@"+j.Ref)
	return j
}

// Issuer mints tokens. Set the fields, then use it; Register adds its
// endpoints to a mux.
type Issuer struct {
	// URL is the `iss` of minted tokens.
	URL string
	// Now is the clock for iat, nbf and exp.
	Now func() time.Time
	// Base is the server's base URL, for the JWKS address.
	Base func() string
	// Bearer is the runner's ACTIONS_ID_TOKEN_REQUEST_TOKEN.
	Bearer string
	// Delay, when set, runs before a token request is answered (the
	// server's latency); false means the client went away or the server
	// is closing. Default nil: no delay.
	Delay func(ctx context.Context) bool

	mu       sync.Mutex
	job      Job
	requests int

	keyOnce sync.Once
	key     *rsa.PrivateKey
	kid     string
	keyErr  error
}

// TokenPath is the token endpoint's path and query; clients append
// "&audience=X".
const TokenPath = "/_github/idtoken?api-version=2.0"

// Register serves the token endpoint, the OpenID configuration and the
// JWKS on mux.
func (s *Issuer) Register(mux *http.ServeMux) {
	mux.HandleFunc("/.well-known/openid-configuration", s.serveOpenIDConfig)
	mux.HandleFunc("/.well-known/jwks", s.serveJWKS)
	mux.HandleFunc("/_github/idtoken", s.serveIDToken)
}

// Requests counts requests to the token endpoint.
func (s *Issuer) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// SetJob sets the claims of tokens minted after this call.
func (s *Issuer) SetJob(j Job) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.job = j
}

// signingKey generates the issuer's RS256 key on first use: RSA key
// generation is slow, and many tests never need a token.
// SigningKey is the issuer's key and its kid, for verifying tokens.
func (s *Issuer) SigningKey() (*rsa.PrivateKey, string, error) {
	s.keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			s.keyErr = err
			return
		}
		der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
		if err != nil {
			s.keyErr = err
			return
		}
		sum := sha256.Sum256(der)
		s.key, s.kid = k, strings.ToUpper(fmt.Sprintf("%x", sum[:20]))
	})
	return s.key, s.kid, s.keyErr
}

// MintToken returns a token for audience ("" = GitHub's default,
// "https://github.com/OWNER"), exactly as the token endpoint would.
func (s *Issuer) MintToken(audience string) (string, error) {
	if s.Now == nil {
		return "", errNotStarted
	}
	s.mu.Lock()
	j := s.job.resolved()
	s.mu.Unlock()
	return s.mint(j, audience, s.Now().UTC())
}

var errNotStarted = errors.New("fakeaws: server not started")

// MintTokenForJob mints a token for j without changing the server's job.
func (s *Issuer) MintTokenForJob(j Job, audience string) (string, error) {
	if s.Now == nil {
		return "", errNotStarted
	}
	return s.mint(j.resolved(), audience, s.Now().UTC())
}

func (s *Issuer) mint(j Job, audience string, now time.Time) (string, error) {
	if audience == "" {
		audience = "https://github.com/" + j.RepositoryOwner
	}
	refType := "branch"
	if strings.HasPrefix(j.Ref, "refs/tags/") {
		refType = "tag"
	}
	claims := jwt.MapClaims{
		"iss":                   s.URL,
		"aud":                   audience,
		"sub":                   j.Subject,
		"iat":                   now.Unix(),
		"nbf":                   now.Unix(),
		"exp":                   now.Add(j.TTL).Unix(),
		"jti":                   uuid.NewString(),
		"repository":            j.Repository,
		"repository_owner":      j.RepositoryOwner,
		"run_id":                j.RunID,
		"run_attempt":           j.RunAttempt,
		"event_name":            j.EventName,
		"ref":                   j.Ref,
		"ref_type":              refType,
		"workflow":              j.Workflow,
		"workflow_ref":          j.JobWorkflowRef,
		"job_workflow_ref":      j.JobWorkflowRef,
		"actor":                 j.Actor,
		"runner_environment":    "github-hosted",
		"repository_visibility": "private",
	}
	if j.Environment != "" {
		claims["environment"] = j.Environment
	}
	key, kid, err := s.SigningKey()
	if err != nil {
		return "", fmt.Errorf("generate issuer key: %w", err)
	}
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	t.Header["kid"] = kid
	t.Header["x5t"] = kid
	return t.SignedString(key)
}

func (s *Issuer) serveIDToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	s.mu.Lock()
	s.requests++
	s.mu.Unlock()
	if s.Delay != nil && !s.Delay(r.Context()) {
		http.Error(w, "server closing", http.StatusServiceUnavailable)
		return
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(s.Bearer)) != 1 {
		w.Header().Set("WWW-Authenticate", "Bearer")
		http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
		return
	}
	tok, err := s.MintToken(r.URL.Query().Get("audience"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, map[string]any{"count": len(tok), "value": tok})
}

func (s *Issuer) serveOpenIDConfig(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, map[string]any{
		"issuer":                                s.URL,
		"jwks_uri":                              s.Base() + "/.well-known/jwks",
		"subject_types_supported":               []string{"public", "pairwise"},
		"response_types_supported":              []string{"id_token"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      []string{"openid"},
		"claims_supported": []string{"sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref", "repository",
			"repository_owner", "run_id", "run_attempt", "actor", "workflow", "workflow_ref", "event_name",
			"ref_type", "environment", "job_workflow_ref", "runner_environment", "repository_visibility"},
	})
}

func (s *Issuer) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	key, kid, err := s.SigningKey()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	b64 := base64.RawURLEncoding.EncodeToString
	writeJSON(w, map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid, "x5t": kid,
		"n": b64(key.N.Bytes()),
		"e": b64(big.NewInt(int64(key.E)).Bytes()),
	}}})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}
