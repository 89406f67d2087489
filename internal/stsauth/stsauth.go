package stsauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
	"github.com/buildrole/buildrole/internal/awsfacts"
)

// Options say how to reach AWS.
type Options struct {
	Region string
	// Now is the clock of waits and their reports. Default time.Now.
	Now func() time.Time
	// EndpointURL points every client at an AWS-compatible endpoint.
	// Default "": AWS, or the SDK's own AWS_ENDPOINT_URL* variables.
	EndpointURL string
	// RetryMaxAttempts per call on transient errors (5xx, network, IAM's
	// ConcurrentModification). Default 8.
	RetryMaxAttempts int
	// ThrottleAttempts bounds the attempts of a call that AWS keeps
	// throttling (an account's rate is shared by every run at once);
	// RetryMaxAttempts still bounds every other error. Default
	// CreateThrottleAttempts; teardown sets TeardownThrottleAttempts.
	ThrottleAttempts int
	// RetryBaseDelay is the first backoff; it doubles up to RetryMaxDelay,
	// with full jitter. Defaults 1s and 20s, as the SDK's standard retryer.
	RetryBaseDelay, RetryMaxDelay time.Duration
	// HTTPClient for every AWS call. Default: the SDK's.
	HTTPClient aws.HTTPClient
	// Credentials stand in for the default credential chain after its
	// environment keys (shared config, web identity, container and
	// instance credentials) when no role is assumed with OIDC; tests use
	// them for a runner's own identity. Default nil: the SDK's chain.
	Credentials aws.CredentialsProvider
	// Retrying is told of every retry that waits a second or more, so a
	// log is never silent while the SDK backs off. Default nil.
	Retrying func(Retry)
	// Getenv reads the environment keys the default chain tries first
	// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN).
	// Default os.Getenv.
	Getenv func(string) string
	// SkipKeyID is the access key id of credentials buildrole itself
	// exported to the job: environment keys with this id are never used,
	// and the chain goes on to the sources after them. Default "".
	SkipKeyID string
	// PropagationTimeout bounds the wait for new IAM resources to
	// propagate (a trust policy STS honours, a profile IAM shows).
	// Default 60s.
	PropagationTimeout time.Duration
	// Progress is called while that wait lasts: once STS or IAM first
	// refuses, then every ProgressEvery (default 5s). Default nil.
	Progress      func(Progress)
	ProgressEvery time.Duration
	// Adaptive uses the SDK's adaptive retry mode, which also slows the
	// client's own request rate when throttled; for sweep's many calls.
	// Default false: the standard mode.
	Adaptive bool
}

// TokenSource fetches a GitHub OIDC token for an audience.
type TokenSource func(ctx context.Context, audience string) (string, error)

// Session is the bootstrap session.
type Session struct {
	Config       aws.Config
	AccountID    string
	PrincipalARN string // the caller: the assumed-role session ARN or user ARN
	Claims       Claims // of the OIDC token; zero without OIDC
}

// Claims are the OIDC token claims buildrole uses.
type Claims struct {
	Issuer     string   `json:"iss"`
	Subject    string   `json:"sub"`
	Audience   audience `json:"aud"`
	Repository string   `json:"repository"`
	RunID      string   `json:"run_id"`
	Expiry     int64    `json:"exp"`
}

type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = []string{one}
		return nil
	}
	var many []string
	err := json.Unmarshal(b, &many)
	*a = many
	return err
}

// DecodeClaims reads a JWT's claims without verifying it: STS verifies;
// buildrole only needs `sub` for the build role's trust and for messages.
func DecodeClaims(token string) (Claims, error) {
	var c Claims
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return c, errors.New("OIDC token is not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return c, fmt.Errorf("OIDC token payload: %w", err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("OIDC token claims: %w", err)
	}
	return c, nil
}

// AWSConfig builds the SDK configuration every client shares: region,
// endpoint, retryer and credentials.
func AWSConfig(ctx context.Context, o Options, creds aws.CredentialsProvider) (aws.Config, error) {
	if creds == nil && o.Credentials != nil {
		creds = o.Credentials
	}
	// The SDK's own configuration (AWS_ENDPOINT_URL_IAM/_STS, FIPS and
	// dual-stack settings, shared config) applies in every mode.
	loaders := []func(*awsconfig.LoadOptions) error{awsconfig.WithRegion(o.Region)}
	if creds != nil {
		loaders = append(loaders, awsconfig.WithCredentialsProvider(creds))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, loaders...)
	switch {
	case err != nil && creds == nil:
		return cfg, fmt.Errorf("load AWS configuration: %w", err)
	case err != nil:
		// With credentials in hand, a broken shared config (a missing
		// AWS_PROFILE, say) need not stop the run.
		cfg = aws.Config{Region: o.Region, Credentials: creds}
	}
	cfg.Region = o.Region
	cfg.Retryer = func() aws.Retryer { return NewRetryer(o) }
	if o.EndpointURL != "" {
		cfg.BaseEndpoint = aws.String(o.EndpointURL)
	}
	if o.HTTPClient != nil {
		cfg.HTTPClient = o.HTTPClient
	}
	return cfg, nil
}

// NewRetryer is the SDK's standard retryer (throttling, 5xx, connection
// errors, with jittered exponential backoff) plus IAM's
// ConcurrentModification, bounded by RetryMaxAttempts, and throttling by
// ThrottleAttempts.
func NewRetryer(o Options, extraCodes ...string) aws.Retryer {
	attempts := o.RetryMaxAttempts
	if attempts <= 0 {
		attempts = 8
	}
	throttled := max(attempts, o.ThrottleAttempts)
	if o.ThrottleAttempts <= 0 {
		throttled = max(attempts, CreateThrottleAttempts)
	}
	standard := func(so *retry.StandardOptions) {
		so.MaxAttempts = throttled
		so.Backoff = backoff{base: o.RetryBaseDelay, max: o.RetryMaxDelay, notify: o.Retrying, attempts: attempts, throttled: throttled}
		// One run makes a few dozen calls; a client-side retry quota
		// would only turn injected throttling into spurious failures.
		so.RateLimiter = ratelimit.None
	}
	var r aws.RetryerV2 = retry.NewStandard(standard)
	if o.Adaptive {
		r = retry.NewAdaptiveMode(func(ao *retry.AdaptiveModeOptions) {
			ao.StandardOptions = append(ao.StandardOptions, standard)
		})
	}
	codes := append([]string{"ConcurrentModification"}, extraCodes...)
	return budget{RetryerV2: retry.AddWithErrorCodes(r, codes...).(aws.RetryerV2), attempts: attempts}
}

// Throttling budgets, in attempts: with the backoff doubling to 20 s with
// full jitter, about 2½ minutes for creation and 8 for teardown, which has
// minutes, and whose failure leaves a role for the sweep.
const (
	CreateThrottleAttempts   = 18
	TeardownThrottleAttempts = 50
)

// budget lets throttling use MaxAttempts and stops every other retried
// error after attempts.
type budget struct {
	aws.RetryerV2
	attempts int
}

func (b budget) RetryDelay(attempt int, err error) (time.Duration, error) {
	if !isThrottle(err) && attemptsMade(attempt) >= b.attempts {
		return 0, &retry.MaxAttemptsError{Attempt: attemptsMade(attempt), Err: err}
	}
	return b.RetryerV2.RetryDelay(attempt, err)
}

// attemptsMade is how many attempts the SDK's retry loop has made when it
// asks for the delay after attempt: the SDK numbers it one lower under
// AWS_NEW_RETRIES_2026.
func attemptsMade(attempt int) int {
	if os.Getenv("AWS_NEW_RETRIES_2026") == "true" {
		return attempt + 1
	}
	return attempt
}

type backoff struct {
	base, max time.Duration
	notify    func(Retry)
	attempts  int
	throttled int // attempts when throttled
}

// Retry is one AWS call about to be tried again.
type Retry struct {
	Attempt, Of int           // the attempt that failed, of how many
	Delay       time.Duration // until the next
	Err         error
}

// String says what failed and when the next try comes, with the network
// cause when there is one.
func (r Retry) String() string {
	cause := ""
	if c, ok := Unreachable(r.Err); ok {
		cause = c
	} else if r.Err != nil {
		cause = r.Err.Error()
		var ae smithy.APIError
		if errors.As(r.Err, &ae) {
			cause = ae.ErrorCode() + ": " + ae.ErrorMessage()
		}
	}
	return fmt.Sprintf("an AWS call failed (%s); trying again in %s (attempt %d of %d)", cause, r.Delay.Round(100*time.Millisecond), r.Attempt+1, r.Of)
}

func (b backoff) BackoffDelay(attempt int, err error) (time.Duration, error) {
	d := b.delay(attempt)
	if b.notify != nil && d >= time.Second {
		of := b.attempts
		if isThrottle(err) {
			of = max(of, b.throttled)
		}
		b.notify(Retry{Attempt: attempt, Of: of, Delay: d, Err: err})
	}
	return d, nil
}

func (b backoff) delay(attempt int) time.Duration {
	base, limit := b.base, b.max
	if base <= 0 {
		base = time.Second
	}
	if limit <= 0 {
		limit = 20 * time.Second
	}
	d := base << min(attempt, 20)
	if d > limit || d <= 0 {
		d = limit
	}
	return time.Duration(rand.Int64N(int64(d) + 1))
}

// Bootstrap opens the bootstrap session: with roleARN, through the job's
// OIDC token and AssumeRoleWithWebIdentity; without, from the default
// credential chain (GetCallerIdentity tells the account).
func Bootstrap(ctx context.Context, o Options, roleARN, sessionName, aud string, tokens TokenSource) (*Session, error) {
	if roleARN == "" {
		return bootstrapChain(ctx, o)
	}
	if tokens == nil {
		return nil, errors.New("role-to-assume needs the job's OIDC token, and none is available")
	}
	token, err := tokens(ctx, aud)
	if err != nil {
		return nil, err
	}
	claims, err := DecodeClaims(token)
	if err != nil {
		return nil, err
	}
	// Loaded once: loading parses the shared files and any CA bundle.
	cfg, err := AWSConfig(ctx, o, aws.AnonymousCredentials{})
	if err != nil {
		return nil, err
	}
	anon := cfg.Copy()
	anon.Retryer = func() aws.Retryer { return NewRetryer(o, "IDPCommunicationError", "InvalidIdentityToken") }
	out, err := sts.NewFromConfig(anon).AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
		RoleArn:          aws.String(roleARN),
		RoleSessionName:  aws.String(sessionName),
		WebIdentityToken: aws.String(token),
		DurationSeconds:  aws.Int32(900),
	})
	if cerr := withCause(err, "assume bootstrap role "+roleARN); cerr != nil {
		return nil, cerr
	}
	if err != nil {
		return nil, explainWebIdentity(err, roleARN, claims)
	}
	creds := out.Credentials
	cfg.Credentials = aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(
		aws.ToString(creds.AccessKeyId), aws.ToString(creds.SecretAccessKey), aws.ToString(creds.SessionToken)))
	return &Session{
		Config:       cfg,
		AccountID:    accountOf(roleARN),
		PrincipalARN: aws.ToString(out.AssumedRoleUser.Arn),
		Claims:       claims,
	}, nil
}

func bootstrapChain(ctx context.Context, o Options) (*Session, error) {
	creds, err := chainCredentials(ctx, o)
	if err != nil {
		return nil, err
	}
	cfg, err := AWSConfig(ctx, o, creds)
	if err != nil {
		return nil, err
	}
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if cerr := withCause(err, "sts:GetCallerIdentity with the default credential chain"); cerr != nil {
		return nil, cerr
	}
	if err != nil {
		return nil, fmt.Errorf("no role-to-assume, and the default credential chain gave no usable credentials (sts:GetCallerIdentity): %w; set role-to-assume to use the job's OIDC token", err)
	}
	return &Session{Config: cfg, AccountID: aws.ToString(id.Account), PrincipalARN: aws.ToString(id.Arn)}, nil
}

// EnvKeyID is the access key id the default chain would take from the
// environment, "" when there is none.
func EnvKeyID(getenv func(string) string) string {
	if getenv == nil {
		getenv = os.Getenv
	}
	key, _ := envKeys(getenv)
	return key
}

// envKeys reads the environment's static keys under the names the SDK
// reads, the older AWS_ACCESS_KEY and AWS_SECRET_KEY included.
func envKeys(getenv func(string) string) (key, secret string) {
	first := func(names ...string) string {
		for _, n := range names {
			if v := getenv(n); v != "" {
				return v
			}
		}
		return ""
	}
	key, secret = first("AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY"), first("AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY")
	if key == "" || secret == "" {
		return "", ""
	}
	return key, secret
}

// chainCredentials is the default credential chain, in the SDK's order,
// except that environment keys buildrole exported itself (SkipKeyID) are
// passed over: signing teardown with the build role would be refused, and
// the identity that created the run is further down the chain.
func chainCredentials(ctx context.Context, o Options) (aws.CredentialsProvider, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	key, secret := envKeys(getenv)
	switch {
	case key != "" && key != o.SkipKeyID:
		return credentials.StaticCredentialsProvider{Value: aws.Credentials{
			AccessKeyID: key, SecretAccessKey: secret, SessionToken: getenv("AWS_SESSION_TOKEN"),
			Source: "EnvConfigCredentials",
		}}, nil
	case o.Credentials != nil:
		return o.Credentials, nil
	case key == "":
		return nil, nil // the SDK's own chain
	}
	if file := getenv("AWS_WEB_IDENTITY_TOKEN_FILE"); file != "" && getenv("AWS_ROLE_ARN") != "" {
		// The web identity the environment names comes before profiles.
		stsCfg, err := AWSConfig(ctx, Options{Region: o.Region, EndpointURL: o.EndpointURL, HTTPClient: o.HTTPClient, RetryMaxAttempts: o.RetryMaxAttempts}, aws.AnonymousCredentials{})
		if err != nil {
			return nil, err
		}
		return aws.NewCredentialsCache(stscreds.NewWebIdentityRoleProvider(sts.NewFromConfig(stsCfg), getenv("AWS_ROLE_ARN"), stscreds.IdentityTokenFile(file),
			func(w *stscreds.WebIdentityRoleOptions) { w.RoleSessionName = getenv("AWS_ROLE_SESSION_NAME") })), nil
	}
	// Naming a profile makes the SDK skip environment keys and resolve the
	// profile, then container and instance credentials; but a named profile
	// that no file defines is an error, and a fresh EC2 runner has no
	// files: name one only when it exists.
	profile := getenv("AWS_PROFILE")
	if profile == "" {
		var missing awsconfig.SharedConfigProfileNotExistError
		_, err := awsconfig.LoadSharedConfigProfile(ctx, "default", func(lo *awsconfig.LoadSharedConfigOptions) {
			// The files the SDK will read: the environment names them.
			if f := getenv("AWS_CONFIG_FILE"); f != "" {
				lo.ConfigFiles = []string{f}
			}
			if f := getenv("AWS_SHARED_CREDENTIALS_FILE"); f != "" {
				lo.CredentialsFiles = []string{f}
			}
		})
		switch {
		case err == nil:
			profile = "default"
		case !errors.As(err, &missing):
			return nil, fmt.Errorf("read the default AWS profile: %w", err)
		}
	}
	if profile == "" {
		return runnerCredentials(ctx, o, getenv)
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(o.Region), awsconfig.WithSharedConfigProfile(profile))
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration without the exported build-role keys: %w", err)
	}
	return cfg.Credentials, nil
}

// runnerCredentials is the rest of the SDK's chain after the environment's
// keys and the shared files: container credentials, else the instance's
// role through IMDS (the SDK's own settings for it, such as
// AWS_EC2_METADATA_SERVICE_ENDPOINT, apply).
func runnerCredentials(ctx context.Context, o Options, getenv func(string) string) (aws.CredentialsProvider, error) {
	uri := getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI")
	if rel := getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"); rel != "" {
		uri = "http://169.254.170.2" + rel
	}
	if uri != "" {
		token := getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN")
		if file := getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"); file != "" {
			b, err := os.ReadFile(file)
			if err != nil {
				return nil, fmt.Errorf("read the container credentials token: %w", err)
			}
			token = strings.TrimSpace(string(b))
		}
		return aws.NewCredentialsCache(endpointcreds.New(uri, func(e *endpointcreds.Options) { e.AuthorizationToken = token })), nil
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(o.Region))
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration for the instance's role: %w", err)
	}
	return aws.NewCredentialsCache(ec2rolecreds.New(func(e *ec2rolecreds.Options) { e.Client = imds.NewFromConfig(cfg) })), nil
}

func accountOf(arn string) string {
	parts := strings.Split(arn, ":")
	if len(parts) > 4 {
		return parts[4]
	}
	return ""
}

func explainWebIdentity(err error, roleARN string, c Claims) error {
	// STS has no typed exception for AccessDenied: its code decides.
	var invalid *ststypes.InvalidIdentityTokenException
	switch {
	case isAccessDenied(err):
		return fmt.Errorf("assume bootstrap role %q with the job's OIDC token: %w\n"+
			"the role's trust policy does not admit this token, whose sub is %q and aud is %q: "+
			"its conditions on token.actions.githubusercontent.com:sub and :aud must match these (see `buildrole bootstrap`)",
			roleARN, err, c.Subject, strings.Join(c.Audience, ","))
	case errors.As(err, &invalid):
		return fmt.Errorf("assume bootstrap role %q with the job's OIDC token: %w\n"+
			"check that the account has the IAM OIDC provider for %s with client id %q (see `buildrole bootstrap`)",
			roleARN, err, c.Issuer, strings.Join(c.Audience, ","))
	}
	return fmt.Errorf("assume bootstrap role %q with the job's OIDC token: %w", roleARN, err)
}

// BuildRoleRequest says how to assume the build role.
type BuildRoleRequest struct {
	RoleARN         string
	SessionName     string
	DurationSeconds int32
	// Chain is true when the build role trusts the bootstrap session
	// (AssumeRole, capped at 1 h by role chaining); otherwise the job's
	// OIDC token is exchanged (AssumeRoleWithWebIdentity).
	Chain    bool
	Audience string
	// MaxWait bounds the wait for the new trust policy (and Also) to
	// propagate. Default Options.PropagationTimeout.
	MaxWait time.Duration
	// Since is when the role was created; the polls are timed from it.
	// Default: when the wait starts.
	Since time.Time
	// Also are other new resources to wait for in the same window, such as
	// the instance profile Packer will read.
	Also []Check
}

// MaxChainedSeconds is STS's cap for role chaining.
const MaxChainedSeconds = 3600

// AssumeBuildRole assumes the new build role. IAM is eventually
// consistent: a fresh trust policy may refuse for seconds, so AccessDenied
// (and only on this call) is polled again on Wait's schedule until MaxWait,
// while req.Also are polled alongside. The OIDC token is reused while it
// is valid. It returns how long STS refused.
func AssumeBuildRole(ctx context.Context, o Options, s *Session, req BuildRoleRequest, tokens TokenSource) (aws.Credentials, time.Duration, error) {
	cfg := s.Config.Copy()
	if !req.Chain {
		cfg.Credentials = aws.AnonymousCredentials{}
		tokens = ReuseTokens(tokens)
	}
	client := sts.NewFromConfig(cfg, func(so *sts.Options) { so.Retryer = throttlesNotRetried{NewRetryer(o)} })
	var creds aws.Credentials
	var refused time.Duration
	start := o.now()
	check := Check{
		What: fmt.Sprintf("the trust policy of %s", req.RoleARN),
		Poll: func(ctx context.Context) error {
			var err error
			creds, err = assumeOnce(ctx, client, req, tokens)
			switch {
			case err == nil:
				refused = o.now().Sub(start)
				return nil
			case isAccessDenied(err):
				return NotYet(fmt.Errorf("STS refuses it; it has not propagated or does not admit this session: %w", err))
			}
			return fmt.Errorf("assume build role %q: %w", req.RoleARN, err)
		},
	}
	_, err := Wait(ctx, o, req.Since, req.MaxWait, append([]Check{check}, req.Also...)...)
	if err != nil {
		return aws.Credentials{}, refused, err
	}
	return creds, refused, nil
}

func assumeOnce(ctx context.Context, c *sts.Client, req BuildRoleRequest, tokens TokenSource) (aws.Credentials, error) {
	if req.Chain {
		out, err := c.AssumeRole(ctx, &sts.AssumeRoleInput{
			RoleArn:         aws.String(req.RoleARN),
			RoleSessionName: aws.String(req.SessionName),
			DurationSeconds: aws.Int32(min(req.DurationSeconds, MaxChainedSeconds)),
		})
		if err != nil {
			return aws.Credentials{}, err
		}
		return toCreds(out.Credentials.AccessKeyId, out.Credentials.SecretAccessKey, out.Credentials.SessionToken, out.Credentials.Expiration), nil
	}
	token, err := tokens(ctx, req.Audience)
	if err != nil {
		return aws.Credentials{}, err
	}
	out, err := c.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
		RoleArn:          aws.String(req.RoleARN),
		RoleSessionName:  aws.String(req.SessionName),
		WebIdentityToken: aws.String(token),
		DurationSeconds:  aws.Int32(req.DurationSeconds),
	})
	if err != nil {
		return aws.Credentials{}, err
	}
	return toCreds(out.Credentials.AccessKeyId, out.Credentials.SecretAccessKey, out.Credentials.SessionToken, out.Credentials.Expiration), nil
}

func toCreds(id, secret, token *string, exp *time.Time) aws.Credentials {
	return aws.Credentials{
		AccessKeyID:     aws.ToString(id),
		SecretAccessKey: aws.ToString(secret),
		SessionToken:    aws.ToString(token),
		CanExpire:       exp != nil,
		Expires:         aws.ToTime(exp),
		Source:          "buildrole",
	}
}

func isAccessDenied(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && awsfacts.IsDenied(ae.ErrorCode())
}

func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}
