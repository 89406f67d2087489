package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/buildrole/buildrole/internal/accountsetup"
	"github.com/buildrole/buildrole/internal/awsfacts"
	"github.com/buildrole/buildrole/internal/config"
	"github.com/buildrole/buildrole/internal/provision"
	"github.com/buildrole/buildrole/internal/run"
	"github.com/buildrole/buildrole/internal/stsauth"
)

func runDown(ctx context.Context, env Env, args []string) int {
	f := newFlags(env, "down", "buildrole down [--state-file FILE] [flags]",
		"Delete what `buildrole up` created, as named in the state file. Deleting what is\n"+
			"already gone counts as done, so down can run again. The region, the bootstrap\n"+
			"role and the audience come from the state file unless given here.").
		withStateFile("the state file up wrote").
		withInputs(authInputs...).withAWS()
	rio, code := newIO(env, f, args)
	if rio == nil {
		return code
	}
	state, auth, code := loadDown(env, rio, f)
	if code != ExitOK || state.Empty() {
		return finish(rio, code)
	}
	return finish(rio, down(ctx, env, rio, f, state, auth))
}

// loadDown reads and validates the state and the inputs it completes,
// before any call. ExitOK with an empty state: nothing to do.
func loadDown(env Env, rio runIO, f *flags) (run.State, config.Auth, int) {
	m, ok, err := rio.loadState()
	if err != nil {
		rio.errorf("buildrole down: %s; nothing was deleted", err)
		return run.State{}, config.Auth{}, ExitUsage
	}
	if !ok {
		if rio.flags() {
			// On the command line a missing state is a typo until proved
			// otherwise: saying "nothing to do" would hide a leak.
			rio.errorf("buildrole down: no state in %s: give the --state-file that `buildrole up` wrote; nothing was deleted", shellQuote(f.stateFile))
			return run.State{}, config.Auth{}, ExitUsage
		}
		rio.printf("buildrole down: no saved state, so up created nothing: nothing to do")
		return run.State{}, config.Auth{}, ExitOK
	}
	state, err := run.StateFromMap(m)
	if err != nil {
		hint := ""
		if id, region := m[run.KeyRunID], m[run.KeyRegion]; run.IsRunID(id) && awsfacts.IsRegion(region) {
			// What the run created may still exist: say how to find it by
			// its tags instead.
			hint = "\nif run " + id + " left resources, remove them by their tags: " + sweepCommand(run.State{RunID: id, Region: region, Path: m[run.KeyPath]}, m[run.KeyRoleToAssume])
		}
		rio.errorf("buildrole down: %s: %s; nothing was deleted%s", stateSource(rio, f), err, hint)
		return run.State{}, config.Auth{}, ExitUsage
	}
	// The saved values fill what the inputs leave empty: a CLI user needs
	// only --state-file.
	saved := map[string]string{"aws-region": state.Region, "role-to-assume": state.RoleToAssume, "audience": state.Audience}
	input := func(name string) string { return orDefault(rio.input(name), saved[name]) }
	auth, err := config.ParseAuth(config.Source{Input: input, Flags: rio.flags(), GitHub: config.GitHubFromEnv(env.Getenv), Getenv: env.Getenv})
	if err != nil {
		rio.errorf("buildrole down: invalid input; nothing was deleted:\n%s", err)
		return run.State{}, config.Auth{}, ExitUsage
	}
	if auth.MaskAccountID && auth.AccountID != "" {
		rio.mask(auth.AccountID)
	}
	if state.Empty() {
		rio.printf("buildrole down: the saved state names no resources: nothing to do")
	}
	return state, auth, ExitOK
}

// down tears the run down as the runner's own identity or the bootstrap
// role, never with the keys up exported.
func down(ctx context.Context, env Env, rio runIO, f *flags, state run.State, auth config.Auth) int {
	opts := awsOptions(env, auth, f.endpoint)
	opts.Retrying = func(r stsauth.Retry) { rio.printf("%s", r) }
	// Teardown has minutes; a role it leaves costs a sweep.
	opts.ThrottleAttempts = stsauth.TeardownThrottleAttempts
	if k := state.ExportedKeyID; k != "" {
		// Not a secret, but it names the build role's session.
		rio.mask(k)
		opts.SkipKeyID = k
	}
	rio.group("Bootstrap session")
	var tokens stsauth.TokenSource
	if auth.RoleToAssume != "" {
		// One token while it is valid: the bootstrap and the build role
		// (EC2's teardown) take the same audience.
		tokens = stsauth.ReuseTokens(rio.token)
	}
	sess, err := stsauth.Bootstrap(ctx, opts, auth.RoleToAssume, auth.RoleSessionName, auth.Audience, tokens)
	rio.endGroup()
	if err != nil {
		rio.errorf("buildrole down: %s\nnothing was deleted; %s", err, sweepCommand(state, auth.RoleToAssume))
		return ExitLeftovers
	}
	if c, err := sess.Config.Credentials.Retrieve(ctx); err == nil {
		rio.mask(c.SecretAccessKey)
		rio.mask(c.SessionToken)
	}
	// Every wait inside is bounded; this bounds their sum, so a post step
	// never runs into the job's timeout.
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	// EC2 first: the build role may remove its own leftovers only while
	// it exists.
	rio.group("EC2 leftovers of run " + state.RunID + " in " + strings.Join(state.BuildRegions(), ", "))
	ec2c := cleanEC2(ctx, env, rio, opts, sess, state, auth, tokens)
	for _, l := range ec2c.Lines() {
		rio.printf("%s", l)
	}
	rio.printf("%s, as %s", ec2c.Report.Summary(), ec2c.as)
	rio.endGroup()
	rio.group("Delete run " + state.RunID)
	rep, err := provision.Down(ctx, iam.NewFromConfig(sess.Config), state, provision.Options{Progress: rio.printf, Now: env.Now})
	err = withExplanation(err, accountsetup.RunContext{Partition: auth.Partition, AccountID: sess.AccountID, Path: state.Path})
	for _, o := range rep.Outcomes {
		rio.printf("%-18s %-60s %s", o.Kind, o.Name, o.Status)
	}
	rio.endGroup()
	_ = rio.summary(downSummary(state, rep, auth.RoleToAssume) + ec2c.Summary(state.BuildRegions(), ec2c.as, sweeper(state, auth.RoleToAssume)))
	if err != nil {
		rio.errorf("buildrole down: %s\nstill present: %s\nto retry: %s%s", err, failedARNs(rep, auth.Partition, sess.AccountID, orDefault(state.Path, "/")), sweepCommand(state, auth.RoleToAssume), ec2c.RemainingText(sweeper(state, auth.RoleToAssume)))
		return ExitLeftovers
	}
	if ec2c.Remaining() > 0 {
		// The state stays: down again retries what EC2 still holds.
		rio.errorf("buildrole down: run %s's roles removed (%s), but its build left EC2 resources that remain or may%s", state.RunID, resourceCount(rep), ec2c.RemainingText(sweeper(state, auth.RoleToAssume)))
		return ExitLeftovers
	}
	rio.printf("buildrole down: run %s removed (%s; %d EC2 leftovers of the build removed)", state.RunID, resourceCount(rep), ec2c.Report.Removed())
	if err := rio.clearState(); err != nil {
		rio.warnf("%s", err)
	}
	return ExitOK
}

// failedARNs names what could not be deleted, by ARN where it has one.
func failedARNs(rep *provision.Report, partition, account, path string) string {
	var out []string
	for _, o := range rep.Failed() {
		switch o.Kind {
		case run.IAMTypeRole, run.IAMTypeInstanceProfile:
			out = append(out, fmt.Sprintf("arn:%s:iam::%s:%s%s%s", partition, account, o.Kind, path, o.Name))
		default:
			out = append(out, o.Kind+" "+o.Name)
		}
	}
	return strings.Join(out, ", ")
}

func downSummary(s run.State, rep *provision.Report, roleToAssume string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### buildrole: teardown of run `%s`\n\n| kind | name | result |\n|---|---|---|\n", s.RunID)
	for _, o := range rep.Outcomes {
		fmt.Fprintf(&b, "| %s | `%s` | %s |\n", o.Kind, o.Name, o.Status)
	}
	if f := rep.Failed(); len(f) > 0 {
		fmt.Fprintf(&b, "\n**%d left behind.** Run: `%s`\n", len(f), sweepCommand(s, roleToAssume))
	}
	return b.String()
}
