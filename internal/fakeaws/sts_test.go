package fakeaws_test

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/golang-jwt/jwt/v5"

	"github.com/buildrole/buildrole/internal/fakeaws"
)

func TestGetCallerIdentity(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := startServer(t)
	admin := must(stsClient(s).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))(t)
	if got, want := *admin.Arn, "arn:aws:iam::123456789012:user/fake-admin"; got != want {
		t.Errorf("static key Arn = %q, want %q", got, want)
	}
	if *admin.Account != "123456789012" {
		t.Errorf("Account = %q", *admin.Account)
	}
	s.AddRole("deployer", "/", rootTrust)
	out := must(stsClient(s).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::123456789012:role/deployer"), RoleSessionName: aws.String("sess-1"),
	}))(t)
	id := must(stsAs(s, out.Credentials).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))(t)
	if got, want := *id.Arn, "arn:aws:sts::123456789012:assumed-role/deployer/sess-1"; got != want {
		t.Errorf("session Arn = %q, want %q", got, want)
	}
	if *id.UserId != *out.AssumedRoleUser.AssumedRoleId || !strings.HasSuffix(*id.UserId, ":sess-1") {
		t.Errorf("UserId = %q, AssumedRoleId = %q", *id.UserId, *out.AssumedRoleUser.AssumedRoleId)
	}
	if k := *out.Credentials.AccessKeyId; !strings.HasPrefix(k, "ASIA") || len(k) != 20 {
		t.Errorf("AccessKeyId = %q, want ASIA + 16", k)
	}
	if len(*out.Credentials.SecretAccessKey) != 40 {
		t.Errorf("SecretAccessKey has %d characters, want 40", len(*out.Credentials.SecretAccessKey))
	}
	if s.Sessions() != 1 {
		t.Errorf("Sessions = %d, want 1", s.Sessions())
	}
	calls := s.Requests()
	if last := calls[len(calls)-1]; last.AccessKeyID != *out.Credentials.AccessKeyId || last.Service != "sts" {
		t.Errorf("last call = %+v, want the session's key on sts", last)
	}
}

func TestAssumeRole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := startServer(t)
	s.AddRole("first", "/", rootTrust)
	firstARN := "arn:aws:iam::123456789012:role/first"
	s.AddRole("second", "/", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"`+firstARN+`"},"Action":"sts:AssumeRole"}]}`)
	s.AddRole("nobody", "/", ec2Trust)
	s.AddRole("denied", "/", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:*"},
		{"Effect":"Deny","Principal":{"AWS":"*"},"Action":"sts:AssumeRole","Condition":{"StringLike":{"sts:RoleSessionName":"bad-*"}}}]}`)
	s.SetRoleMaxSessionDuration("first", 43200)
	s.SetRoleMaxSessionDuration("second", 43200)
	// second's trust names the role, not the session: first's own policy
	// must allow the call too.
	s.PutRolePolicyDirect("first", "chain", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::123456789012:role/second"}]}`)

	first := must(stsClient(s).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String(firstARN), RoleSessionName: aws.String("boot"), DurationSeconds: aws.Int32(7200),
	}))(t)
	chained := stsAs(s, first.Credentials)
	secondARN := aws.String("arn:aws:iam::123456789012:role/second")

	tests := []struct {
		name    string
		client  *sts.Client
		in      sts.AssumeRoleInput
		code    string
		message string
	}{
		{"chained within an hour", chained, sts.AssumeRoleInput{RoleArn: secondARN, DurationSeconds: aws.Int32(3600)}, "", ""},
		{"chained over an hour", chained, sts.AssumeRoleInput{RoleArn: secondARN, DurationSeconds: aws.Int32(3601)}, "ValidationError", "1 hour session limit for roles assumed by role chaining"},
		{"admin not trusted by second", stsClient(s), sts.AssumeRoleInput{RoleArn: secondARN}, "AccessDenied",
			"User: arn:aws:iam::123456789012:user/fake-admin is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/second"},
		{"service-only trust", stsClient(s), sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/nobody")}, "AccessDenied", ""},
		{"missing role", stsClient(s), sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/missing")}, "AccessDenied", ""},
		{"wrong path", stsClient(s), sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/x/first")}, "AccessDenied", ""},
		{"explicit deny", stsClient(s), sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/denied"), RoleSessionName: aws.String("bad-1")}, "AccessDenied", ""},
		{"deny not matching", stsClient(s), sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/denied"), RoleSessionName: aws.String("good-1")}, "", ""},
		{"over MaxSessionDuration", stsClient(s), sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/denied"), DurationSeconds: aws.Int32(3601)}, "ValidationError",
			"The requested DurationSeconds exceeds the MaxSessionDuration set for this role."},
		{"under 900 seconds", stsClient(s), sts.AssumeRoleInput{RoleArn: aws.String(firstARN), DurationSeconds: aws.Int32(899)}, "ValidationError", ""},
		{"session name too short", stsClient(s), sts.AssumeRoleInput{RoleArn: aws.String(firstARN), RoleSessionName: aws.String("a")}, "ValidationError", ""},
		{"session name bad characters", stsClient(s), sts.AssumeRoleInput{RoleArn: aws.String(firstARN), RoleSessionName: aws.String("a b")}, "ValidationError", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := tt.in
			if in.RoleSessionName == nil {
				in.RoleSessionName = aws.String("s1")
			}
			_, err := tt.client.AssumeRole(ctx, &in)
			if tt.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantCode(t, err, tt.code)
			if tt.message != "" && !strings.Contains(err.Error(), tt.message) {
				t.Errorf("err = %v, want message containing %q", err, tt.message)
			}
		})
	}
}

// webIdentitySetup is a server with the GitHub provider and roles trusting
// it with different subject conditions.
func webIdentitySetup(t *testing.T, c *clock) *fakeaws.Server {
	t.Helper()
	s := startServer(t, withClock(c))
	prov := s.AddOIDCProvider(ghIssuer, stsAudience)
	s.AddRole("main-only", "/", githubTrust(prov, "StringEquals", "repo:octo-org/octo-repo:ref:refs/heads/main"))
	s.AddRole("any-ref", "/", githubTrust(prov, "StringLike", "repo:octo-org/octo-repo:*"))
	s.AddRole("pr-only", "/", githubTrust(prov, "ForAnyValue:StringLike", "repo:octo-org/octo-rep?:pull_request"))
	s.AddRole("deny-forks", "/", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Principal":{"Federated":"`+prov+`"},"Action":["sts:AssumeRoleWithWebIdentity","sts:TagSession"],"Condition":{"StringEquals":{"`+ghHost+`:aud":"sts.amazonaws.com"}}},
		{"Effect":"Deny","Principal":{"Federated":"`+prov+`"},"Action":"sts:*","Condition":{"StringNotEquals":{"`+ghHost+`:repository_owner":"octo-org"}}}]}`)
	return s
}

func TestAssumeRoleWithWebIdentity(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newClock()
	s := webIdentitySetup(t, c)
	other := startServer(t) // same issuer URL, different signing key
	other.AddOIDCProvider(ghIssuer, stsAudience)
	noProvider := startServer(t)
	noProvider.AddRole("main-only", "/", ec2Trust)

	mint := func(srv *fakeaws.Server, j fakeaws.Job, aud string) string {
		t.Helper()
		return must(srv.MintTokenForJob(j, aud))(t)
	}
	mainJob := fakeaws.Job{}
	prJob := fakeaws.Job{EventName: "pull_request", Ref: "refs/pull/42/merge"}
	good := mint(s, mainJob, stsAudience)
	tampered := good[:strings.LastIndex(good, ".")+1] + base64.RawURLEncoding.EncodeToString([]byte("not a signature"))

	tests := []struct {
		name    string
		srv     *fakeaws.Server
		role    string
		token   string
		advance time.Duration
		code    string // "" = success
	}{
		{"main on main-only", s, "main-only", good, 0, ""},
		{"main on any-ref", s, "any-ref", good, 0, ""},
		{"pull request on pr-only", s, "pr-only", mint(s, prJob, stsAudience), 0, ""},
		{"owner allowed by deny-forks", s, "deny-forks", good, 0, ""},
		{"wrong sub", s, "main-only", mint(s, prJob, stsAudience), 0, "AccessDenied"},
		{"wrong sub on pr-only", s, "pr-only", good, 0, "AccessDenied"},
		{"fork denied", s, "deny-forks", mint(s, fakeaws.Job{Repository: "evil/octo-repo"}, stsAudience), 0, "AccessDenied"},
		{"wrong aud", s, "main-only", mint(s, mainJob, "https://github.com/octo-org"), 0, "InvalidIdentityToken"},
		{"signed by another issuer key", s, "main-only", mint(other, mainJob, stsAudience), 0, "InvalidIdentityToken"},
		{"tampered signature", s, "main-only", tampered, 0, "InvalidIdentityToken"},
		{"not a JWT", s, "main-only", "not-a-token", 0, "InvalidIdentityToken"},
		{"unknown provider", noProvider, "main-only", mint(noProvider, mainJob, stsAudience), 0, "InvalidIdentityToken"},
		{"missing role", s, "missing", good, 0, "AccessDenied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := sts.NewFromConfig(awsConfig(tt.srv, aws.AnonymousCredentials{}))
			out, err := client.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
				RoleArn:          aws.String("arn:aws:iam::123456789012:role/" + tt.role),
				RoleSessionName:  aws.String("gha-1"),
				WebIdentityToken: aws.String(tt.token),
			})
			if tt.code != "" {
				wantCode(t, err, tt.code)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if *out.Audience != stsAudience || *out.Provider != "arn:aws:iam::123456789012:oidc-provider/"+ghHost ||
				!strings.HasPrefix(*out.SubjectFromWebIdentityToken, "repo:octo-org/octo-repo:") {
				t.Errorf("result = aud %q provider %q sub %q", *out.Audience, *out.Provider, *out.SubjectFromWebIdentityToken)
			}
			id := must(stsAs(s, out.Credentials).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))(t)
			if want := "arn:aws:sts::123456789012:assumed-role/" + tt.role + "/gha-1"; *id.Arn != want {
				t.Errorf("caller = %q, want %q", *id.Arn, want)
			}
		})
	}
}

// TestAssumeRoleWithWebIdentityErrors: typed errors, and the texts STS uses.
func TestAssumeRoleWithWebIdentityErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newClock()
	s := webIdentitySetup(t, c)
	noProvider := startServer(t)
	noProvider.AddRole("main-only", "/", ec2Trust)
	mint := func(srv *fakeaws.Server, j fakeaws.Job, aud string) string {
		t.Helper()
		return must(srv.MintTokenForJob(j, aud))(t)
	}
	mainJob := fakeaws.Job{}
	expiring := fakeaws.Job{TTL: time.Minute}
	good := mint(s, mainJob, stsAudience)

	anon := sts.NewFromConfig(awsConfig(s, aws.AnonymousCredentials{}))
	assume := func(token string, duration int32) error {
		in := &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/main-only"), RoleSessionName: aws.String("gha-1"), WebIdentityToken: aws.String(token)}
		if duration > 0 {
			in.DurationSeconds = aws.Int32(duration)
		}
		_, err := anon.AssumeRoleWithWebIdentity(ctx, in)
		return err
	}
	var iit *ststypes.InvalidIdentityTokenException
	if err := assume(mint(s, mainJob, "other"), 0); !errors.As(err, &iit) || iit.ErrorMessage() != "Incorrect token audience" {
		t.Errorf("wrong aud: %v, want InvalidIdentityTokenException \"Incorrect token audience\"", err)
	}
	if _, err := noProvider.MintToken(stsAudience); err != nil {
		t.Fatal(err)
	}
	err := func() error {
		anon := sts.NewFromConfig(awsConfig(noProvider, aws.AnonymousCredentials{}))
		_, err := anon.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/main-only"), RoleSessionName: aws.String("gha-1"), WebIdentityToken: aws.String(mint(noProvider, mainJob, stsAudience))})
		return err
	}()
	if !errors.As(err, &iit) || iit.ErrorMessage() != "No OpenIDConnect provider found in your account for "+ghIssuer {
		t.Errorf("unknown provider: %v", err)
	}
	if err := assume(good, 3601); err == nil || !strings.Contains(err.Error(), "exceeds the MaxSessionDuration set for this role") {
		t.Errorf("duration over max: %v", err)
	}
	token := mint(s, expiring, stsAudience)
	c.Advance(time.Minute)
	var ete *ststypes.ExpiredTokenException
	if err := assume(token, 0); !errors.As(err, &ete) {
		t.Errorf("expired token: %v, want *ststypes.ExpiredTokenException", err)
	}
}

func TestTokenEndpoint(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.SetJob(fakeaws.Job{Repository: "acme/web", Environment: "prod", RunID: "77", RunAttempt: "2"})
	get := func(url, bearer string) (int, []byte) {
		t.Helper()
		req := must(http.NewRequest(http.MethodGet, url, nil))(t)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp := must(http.DefaultClient.Do(req))(t)
		defer resp.Body.Close()
		return resp.StatusCode, must(io.ReadAll(resp.Body))(t)
	}
	if code, _ := get(s.TokenRequestURL(), ""); code != http.StatusUnauthorized {
		t.Errorf("no bearer: status %d, want 401", code)
	}
	if code, _ := get(s.TokenRequestURL(), "wrong"); code != http.StatusUnauthorized {
		t.Errorf("wrong bearer: status %d, want 401", code)
	}

	var jwks struct {
		Keys []struct{ Kid, N, E string }
	}
	_, body := get(s.URL()+"/.well-known/jwks", "")
	if err := json.Unmarshal(body, &jwks); err != nil || len(jwks.Keys) != 1 {
		t.Fatalf("jwks %s: %v", body, err)
	}
	n := new(big.Int).SetBytes(must(base64.RawURLEncoding.DecodeString(jwks.Keys[0].N))(t))
	e := new(big.Int).SetBytes(must(base64.RawURLEncoding.DecodeString(jwks.Keys[0].E))(t))
	pub := &rsa.PublicKey{N: n, E: int(e.Int64())}
	var conf struct {
		Issuer  string
		JWKSURI string `json:"jwks_uri"`
	}
	_, body = get(s.URL()+"/.well-known/openid-configuration", "")
	if err := json.Unmarshal(body, &conf); err != nil || conf.Issuer != ghIssuer || conf.JWKSURI != s.URL()+"/.well-known/jwks" {
		t.Errorf("openid-configuration = %s (%v)", body, err)
	}

	for _, tt := range []struct{ query, wantAud string }{
		{"", "https://github.com/acme"},
		{"&audience=sts.amazonaws.com", "sts.amazonaws.com"},
	} {
		code, body := get(s.TokenRequestURL()+tt.query, s.TokenRequestToken())
		if code != http.StatusOK {
			t.Fatalf("status %d: %s", code, body)
		}
		var resp struct{ Value string }
		if err := json.Unmarshal(body, &resp); err != nil {
			t.Fatal(err)
		}
		claims := jwt.MapClaims{}
		tok, err := jwt.ParseWithClaims(resp.Value, claims, func(tok *jwt.Token) (any, error) {
			if tok.Header["kid"] != jwks.Keys[0].Kid {
				return nil, errors.New("kid does not match the JWKS")
			}
			return pub, nil
		}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(ghIssuer), jwt.WithAudience(tt.wantAud))
		if err != nil || !tok.Valid {
			t.Fatalf("token for %q does not verify against the JWKS: %v", tt.wantAud, err)
		}
		for k, want := range map[string]string{
			"sub": "repo:acme/web:environment:prod", "repository": "acme/web", "repository_owner": "acme",
			"environment": "prod", "run_id": "77", "run_attempt": "2", "ref": "refs/heads/main",
			"job_workflow_ref": "acme/web/.github/workflows/build.yml@refs/heads/main",
		} {
			if claims[k] != want {
				t.Errorf("claim %s = %v, want %q", k, claims[k], want)
			}
		}
		for _, k := range []string{"jti", "iat", "nbf", "exp", "event_name", "actor", "workflow"} {
			if _, ok := claims[k]; !ok {
				t.Errorf("claim %s missing", k)
			}
		}
	}
	if s.CountCalls("") != 0 {
		t.Errorf("OIDC endpoints were logged as AWS calls: %+v", s.Requests())
	}
}

func TestSubjectDerivation(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	tests := []struct {
		job  fakeaws.Job
		want string
	}{
		{fakeaws.Job{Repository: "o/r"}, "repo:o/r:ref:refs/heads/main"},
		{fakeaws.Job{Repository: "o/r", Ref: "refs/tags/v1"}, "repo:o/r:ref:refs/tags/v1"},
		{fakeaws.Job{Repository: "o/r", EventName: "pull_request"}, "repo:o/r:pull_request"},
		{fakeaws.Job{Repository: "o/r", EventName: "pull_request", Environment: "e"}, "repo:o/r:environment:e"},
		{fakeaws.Job{Repository: "o/r", Subject: "custom"}, "custom"},
	}
	for _, tt := range tests {
		raw := must(s.MintTokenForJob(tt.job, ""))(t)
		claims := jwt.MapClaims{}
		if _, _, err := jwt.NewParser().ParseUnverified(raw, claims); err != nil {
			t.Fatal(err)
		}
		if claims["sub"] != tt.want {
			t.Errorf("%+v: sub = %v, want %q", tt.job, claims["sub"], tt.want)
		}
	}
}

func TestPropagationDelay(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newClock()
	s := startServer(t, withClock(c))
	s.SetPropagationDelay(10 * time.Second)
	prov := s.AddOIDCProvider(ghIssuer, stsAudience)
	ic := iamClient(s)
	anon := sts.NewFromConfig(awsConfig(s, aws.AnonymousCredentials{}))
	roleARN := must(ic.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName: aws.String("build"), AssumeRolePolicyDocument: aws.String(githubTrust(prov, "StringLike", "repo:octo-org/*")),
	}))(t).Role.Arn
	must(ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("chain"), AssumeRolePolicyDocument: aws.String(rootTrust)}))(t)
	assumeWeb := func() error {
		tok := must(s.MintToken(stsAudience))(t)
		_, err := anon.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{RoleArn: roleARN, RoleSessionName: aws.String("s1"), WebIdentityToken: aws.String(tok)})
		return err
	}
	assume := func() error {
		_, err := stsClient(s).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/chain"), RoleSessionName: aws.String("s1")})
		return err
	}
	getProfile := func() error {
		_, err := ic.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String("vm")})
		return err
	}
	must(ic.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("vm")}))(t)
	// Adding the role works before the profile is visible, as in IAM.
	must(ic.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("vm"), RoleName: aws.String("build")}))(t)

	wantCode(t, assumeWeb(), "AccessDenied")
	wantCode(t, assume(), "AccessDenied")
	wantCode(t, getProfile(), "NoSuchEntity")
	c.Advance(9 * time.Second)
	wantCode(t, assumeWeb(), "AccessDenied")
	c.Advance(time.Second)
	for name, call := range map[string]func() error{"web identity": assumeWeb, "assume role": assume, "get profile": getProfile} {
		if err := call(); err != nil {
			t.Errorf("%s after the delay: %v", name, err)
		}
	}
	// Updating the trust policy starts a new window.
	must(ic.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("build"), PolicyDocument: aws.String(githubTrust(prov, "StringLike", "repo:octo-org/*"))}))(t)
	wantCode(t, assumeWeb(), "AccessDenied")
	c.Advance(10 * time.Second)
	if err := assumeWeb(); err != nil {
		t.Errorf("after update and delay: %v", err)
	}
}

func TestExpiredSessionCredentials(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newClock()
	s := startServer(t, withClock(c))
	s.AddRole("r", "/", rootTrust)
	out := must(stsClient(s).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/r"), RoleSessionName: aws.String("s1"), DurationSeconds: aws.Int32(900)}))(t)
	c.Advance(900 * time.Second)
	_, err := stsAs(s, out.Credentials).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantCode(t, err, "ExpiredToken")
}

// EC2 refuses expired session credentials with its own code.
func TestExpiredSessionCredentialsInEC2(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newClock()
	s := startServer(t, withClock(c))
	s.AddRole("r", "/", rootTrust)
	out := must(stsClient(s).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/r"), RoleSessionName: aws.String("s1"), DurationSeconds: aws.Int32(900)}))(t)
	c.Advance(900 * time.Second)
	_, err := ec2Client(s, sessionCreds(out.Credentials)).DescribeRegions(ctx, &ec2.DescribeRegionsInput{})
	wantCode(t, err, "RequestExpired")
}

// tamper changes one part of each request after the SDK signed it, as a
// proxy that is not transparent would.
type tamper struct {
	change func(*http.Request)
}

func (t tamper) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	t.change(r)
	return http.DefaultTransport.RoundTrip(r)
}

// Credentials this server issued must sign the request as it arrives: a
// changed Host, signed header or body is refused as AWS refuses it, while
// the same request unchanged (and static keys it cannot check) pass.
func TestSignaturesOfIssuedCredentialsVerified(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := startServer(t)
	s.AddRole("r", "/", rootTrust)
	out := must(stsClient(s).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/r"), RoleSessionName: aws.String("s1")}))(t)
	if _, err := stsAs(s, out.Credentials).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("unchanged: %v", err)
	}
	for name, change := range map[string]func(*http.Request){
		"host":  func(r *http.Request) { r.Host = "sts.eu-west-1.amazonaws.com" },
		"date":  func(r *http.Request) { r.Header.Set("X-Amz-Date", "20250601T120001Z") },
		"token": func(r *http.Request) { r.Header.Set("X-Amz-Security-Token", r.Header.Get("X-Amz-Security-Token")+"x") },
		"query": func(r *http.Request) { r.URL.RawQuery = "x=1" },
		"body": func(r *http.Request) {
			r.Body = io.NopCloser(strings.NewReader("Action=GetCallerIdentity&Version=2011-06-15&X=1"))
			r.ContentLength = 47
		},
		"secret": nil,
	} {
		cfg := awsConfig(s, sessionCreds(out.Credentials))
		if change == nil {
			cfg.Credentials = credentials.NewStaticCredentialsProvider(*out.Credentials.AccessKeyId, "wrong", *out.Credentials.SessionToken)
		} else {
			cfg.HTTPClient = &http.Client{Transport: tamper{change}}
		}
		_, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if name == "token" {
			wantCode(t, err, "InvalidClientTokenId")
			continue
		}
		t.Run(name, func(t *testing.T) { wantCode(t, err, "SignatureDoesNotMatch") })
	}
}
