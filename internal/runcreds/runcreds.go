package runcreds

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go"

	"github.com/buildrole/buildrole/internal/awsfacts"
	"github.com/buildrole/buildrole/internal/credserve"
	"github.com/buildrole/buildrole/internal/ghaction"
	"github.com/buildrole/buildrole/internal/provision"
	"github.com/buildrole/buildrole/internal/run"
	"github.com/buildrole/buildrole/internal/stsauth"
)

// Where a command takes its AWS credentials from (exec's --credentials).
const (
	Auto        = "auto"        // the run's when up left one, else the environment's
	Run         = "run"         // the run's build role; no run is an error
	Environment = "environment" // the command's own environment, untouched
)

// Creds is what a command is given: the run's build role through a
// renewing endpoint, or nothing (the environment's own).
type Creds struct {
	srv   *credserve.Server
	empty string // the empty file the SDKs' shared files point at
	what  string // for the log and the report
}

// Environ is the command's environment.
func (c *Creds) Environ(parent []string) []string {
	if c.srv == nil {
		return parent
	}
	return c.srv.Environ(parent, c.empty)
}

// Note says, after the command, where its credentials came from and what
// went wrong renewing them.
func (c *Creds) Note() string {
	if c.srv == nil {
		return "credentials: the command's own environment"
	}
	sessions, served := c.srv.Stats()
	s := fmt.Sprintf("credentials: %s: %d session(s) obtained, %d request(s) answered", c.what, sessions, served)
	if err := c.srv.Err(); err != nil {
		s += "; renewal stopped: " + err.Error()
	}
	return s
}

// Err is the renewal failure that could not be mended, if any: the reason
// a command that made no call may have had no credentials.
func (c *Creds) Err() error {
	if c.srv == nil {
		return nil
	}
	return c.srv.Err()
}

// Close stops serving.
func (c *Creds) Close() {
	if c.srv != nil {
		c.srv.Close()
		os.Remove(c.empty)
	}
}

// Find finds the run to serve in the job's environment (what up exported)
// for a mode: found false means the command keeps the environment's own
// credentials. A malformed or missing run, or none and no credentials at
// all, is bad input. environ is the command's environment.
func Find(mode string, getenv func(string) string, environ []string) (run.Handover, bool, error) {
	switch mode {
	case Auto, Run, Environment:
	default:
		return run.Handover{}, false, fmt.Errorf("--credentials %q: use %s, %s or %s", mode, Auto, Run, Environment)
	}
	if mode == Environment {
		return run.Handover{}, false, nil
	}
	h, found, err := run.HandoverFromEnv(getenv)
	switch {
	case err != nil:
		return h, false, err
	case !found && mode == Run:
		return h, false, fmt.Errorf("--credentials run: no buildrole run in this job's environment (%s and the rest are set by the buildrole action's up step)", run.EnvRoleARN)
	case !found && !environmentHasCredentials(environ):
		return h, false, fmt.Errorf("no credentials for the command: no buildrole run in this job's environment (%s is unset: run the buildrole action first) and no AWS credentials of its own (AWS_ACCESS_KEY_ID, AWS_PROFILE, AWS_WEB_IDENTITY_TOKEN_FILE, a container endpoint); for a runner's instance role, pass --credentials %s", run.EnvRoleARN, Environment)
	}
	return h, found, nil
}

// environmentHasCredentials: a source the SDKs would find in the
// command's environment without a network call. An instance's role, which
// only IMDS knows of, needs --credentials environment.
func environmentHasCredentials(environ []string) bool {
	env := map[string]string{}
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"} {
		if env[k] != "" {
			return true
		}
	}
	for _, f := range []string{"credentials", "config"} {
		if _, err := os.Stat(filepath.Join(env["HOME"], ".aws", f)); env["HOME"] != "" && err == nil {
			return true
		}
	}
	return false
}

// Serve starts the endpoint that gives a command the build role's
// credentials: a first session once the trust (and the instance profile)
// has propagated, then renewals. In Actions each session comes from a
// fresh OIDC token (tokens); in chain mode from the runner's own identity.
// logf reports the waits and the renewals.
func Serve(o stsauth.Options, h run.Handover, tokens stsauth.TokenSource, logf func(string, ...any)) (*Creds, error) {
	empty, err := os.CreateTemp("", "buildrole-empty-aws-config-*")
	if err != nil {
		return nil, err
	}
	empty.Close()
	o.Progress = func(p stsauth.Progress) { logf("%s", p) }
	first := true
	fetch := func(ctx context.Context) (aws.Credentials, error) {
		c, err := assumeForCommand(ctx, o, h, tokens, first)
		if err == nil && first && h.InstanceProfile != "" {
			err = waitProfile(ctx, o, h, c)
		}
		if err == nil {
			first = false
			logf("the command's credentials: a session of %s until %s", h.RoleARN, c.Expires.UTC().Format(time.RFC3339))
		}
		return c, err
	}
	srv, err := credserve.Start(fetch, credserve.Options{Permanent: renewalPermanent, Logf: logf, Now: o.Now})
	if err != nil {
		os.Remove(empty.Name())
		return nil, err
	}
	return &Creds{srv: srv, empty: empty.Name(), what: "the build role " + h.RoleARN + ", served and renewed by exec"}, nil
}

// assumeForCommand opens one session of the build role. The first is
// polled until STS honours the trust (up may not have waited); later ones
// are renewals of a role that worked, so a refusal ends them.
func assumeForCommand(ctx context.Context, o stsauth.Options, h run.Handover, tokens stsauth.TokenSource, first bool) (aws.Credentials, error) {
	sess := &stsauth.Session{}
	if h.Trust == run.TrustChain {
		// Not the build-role keys up exported, which the environment
		// still holds: the build role does not trust itself.
		o.SkipKeyID = h.ExportedKeyID
		// The runner's own identity, as up had it: the build role trusts
		// that session.
		s, err := stsauth.Bootstrap(ctx, o, "", h.SessionName, "", nil)
		if err != nil {
			return aws.Credentials{}, err
		}
		sess = s
	} else {
		cfg, err := stsauth.AWSConfig(ctx, o, aws.AnonymousCredentials{})
		if err != nil {
			return aws.Credentials{}, err
		}
		sess.Config = cfg
	}
	since := time.Time{}
	if first {
		since = h.CreatedAt
	} else {
		o.PropagationTimeout = time.Nanosecond
	}
	c, _, err := stsauth.AssumeBuildRole(ctx, o, sess, stsauth.BuildRoleRequest{
		RoleARN: h.RoleARN, SessionName: h.SessionName, DurationSeconds: int32(h.DurationSeconds),
		Chain: h.Trust == run.TrustChain, Audience: h.Audience, Since: since,
	}, tokens)
	return c, err
}

// waitProfile polls, as the build role, until IAM shows the instance
// profile: Packer reads it before launching and stops if it is missing.
func waitProfile(ctx context.Context, o stsauth.Options, h run.Handover, c aws.Credentials) error {
	profile := h.InstanceProfile
	cfg, err := stsauth.AWSConfig(ctx, o, credentials.StaticCredentialsProvider{Value: c})
	if err != nil {
		return err
	}
	_, err = stsauth.Wait(ctx, o, h.CreatedAt, 0, ProfileCheck(iam.NewFromConfig(cfg), profile, nil))
	return err
}

// ProfileCheck polls until IAM shows instance profile name, and tells
// seen (if given) the roles it holds once it does: Packer reads the
// profile before launching and stops if it is missing.
func ProfileCheck(api provision.ProfileAPI, name string, seen func(roles []string)) stsauth.Check {
	return stsauth.Check{What: "instance profile " + name, Poll: func(ctx context.Context) error {
		roles, ok, err := provision.ProfileVisible(ctx, api, name)
		if err == nil && !ok {
			return stsauth.NotYet(fmt.Errorf("IAM does not show instance profile %q yet", name))
		}
		if err == nil && seen != nil {
			seen(roles)
		}
		return err
	}}
}

// renewalPermanent: failures no retry mends. The role or its trust is
// gone (the run was torn down), or the job cannot get OIDC tokens.
func renewalPermanent(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code := ae.ErrorCode()
		return awsfacts.IsDenied(code) || code == "InvalidIdentityToken" || code == "NoSuchEntity"
	}
	return errors.Is(err, ghaction.ErrNoIDToken)
}
