package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/buildrole/buildrole/internal/accountsetup"
	"github.com/buildrole/buildrole/internal/config"
	"github.com/buildrole/buildrole/internal/leftovers"
	"github.com/buildrole/buildrole/internal/provision"
	"github.com/buildrole/buildrole/internal/run"
	"github.com/buildrole/buildrole/internal/stsauth"
)

// ec2Cleanup is what teardown did to the build's EC2 leftovers, and as
// whom.
type ec2Cleanup struct {
	*leftovers.Teardown
	as string
}

func ec2Client(cfg aws.Config) func(region string) leftovers.API {
	return func(region string) leftovers.API {
		return ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.Region = region })
	}
}

// cleanEC2 removes what the run's build left in EC2 in every build region,
// before the roles go: as the build role while it exists (its policy
// allows exactly its run's leftovers), else as the bootstrap session, which
// removes only what it can prove is the run's. What the build role is
// refused is reported, never tried again as the bootstrap session: the
// refusal says the resource is not the run's, whatever its tags say.
func cleanEC2(ctx context.Context, env Env, rio runIO, opts stsauth.Options, sess *stsauth.Session, state run.State, auth config.Auth, tokens stsauth.TokenSource) *ec2Cleanup {
	lo := leftovers.Options{RunID: state.RunID, Now: env.Now, Progress: rio.printf}
	if env.Leftovers != nil {
		env.Leftovers(&lo)
	}
	lo.Since, lo.Path, lo.Profile = state.PendingSince, orDefault(state.Path, "/"), state.InstanceProfile
	var c *ec2Cleanup
	if cfg, err := buildRoleConfig(ctx, opts, sess, state, auth, tokens, env.Now()); err != nil {
		rio.printf("EC2 leftovers: not as the build role (%s); as the bootstrap session", err)
		lo.Elevated = true
		c = &ec2Cleanup{leftovers.CleanRegions(ctx, state.BuildRegions(), ec2Client(sess.Config), lo), "the bootstrap session"}
	} else {
		c = &ec2Cleanup{leftovers.CleanRegions(ctx, state.BuildRegions(), ec2Client(cfg), lo), "build role " + state.Role}
	}
	if lo.Elevated {
		// A refusal is the bootstrap session's: name its statement.
		rc := accountsetup.RunContext{Partition: auth.Partition, AccountID: sess.AccountID, Path: state.Path}
		for r, err := range c.Unlisted {
			c.Unlisted[r] = withExplanation(err, rc)
		}
	}
	return c
}

// buildRoleConfig assumes the run's build role for teardown: with a fresh
// OIDC token as the job (web identity), or from the bootstrap session in
// chain mode. A role already gone is no reason to wait: one try when up
// saw the role assumable or its pending window has passed, else a short
// wait for a trust that may still propagate.
func buildRoleConfig(ctx context.Context, opts stsauth.Options, sess *stsauth.Session, state run.State, auth config.Auth, tokens stsauth.TokenSource, now time.Time) (aws.Config, error) {
	maxWait := 3 * time.Second
	if state.IsConfirmed(run.Resource{Kind: run.KindRole, Name: state.Role}) || now.Sub(state.PendingSince) > provision.PendingWindow {
		maxWait = time.Nanosecond
		opts.Progress = nil // one try is no wait to report
	}
	req := stsauth.BuildRoleRequest{
		RoleARN:         fmt.Sprintf("arn:%s:iam::%s:role%s%s", auth.Partition, sess.AccountID, orDefault(state.Path, "/"), state.Role),
		SessionName:     auth.RoleSessionName,
		DurationSeconds: 900,
		Chain:           auth.RoleToAssume == "",
		Audience:        auth.Audience,
		MaxWait:         maxWait,
	}
	creds, _, err := stsauth.AssumeBuildRole(ctx, opts, sess, req, tokens)
	if err != nil {
		return aws.Config{}, err
	}
	cfg := sess.Config.Copy()
	cfg.Credentials = aws.NewCredentialsCache(staticCreds{creds})
	return cfg, nil
}

type staticCreds struct{ c aws.Credentials }

func (s staticCreds) Retrieve(context.Context) (aws.Credentials, error) { return s.c, nil }

// sweeper is the sweep command that finishes the run's teardown in a
// region.
func sweeper(state run.State, roleToAssume string) func(region string) string {
	return func(region string) string {
		s := state
		s.Region = region
		return sweepCommand(s, roleToAssume)
	}
}
