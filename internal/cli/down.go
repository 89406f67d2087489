package cli

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/buildrole/buildrole/internal/awsfacts"
	"github.com/buildrole/buildrole/internal/config"
	"github.com/buildrole/buildrole/internal/provision"
	"github.com/buildrole/buildrole/internal/stsauth"
)

var accessKeyRE = regexp.MustCompile(`^[A-Z0-9]{16,128}$`)

func validRegion(r string) bool {
	_, ok := awsfacts.PartitionForRegion(r)
	return ok
}

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
	m, ok, err := rio.loadState()
	if err != nil {
		rio.errorf("buildrole down: %s; nothing was deleted", err)
		return finish(rio, ExitUsage)
	}
	if !ok {
		if rio.flags() {
			// On the command line a missing state is a typo until proved
			// otherwise: saying "nothing to do" would hide a leak.
			rio.errorf("buildrole down: no state in %s: give the --state-file that `buildrole up` wrote; nothing was deleted", shellQuote(f.stateFile))
			return finish(rio, ExitUsage)
		}
		rio.printf("buildrole down: no saved state, so up created nothing: nothing to do")
		return finish(rio, ExitOK)
	}
	state, err := provision.StateFromMap(m, authStateKeys...)
	if err != nil {
		hint := ""
		if id, region := m["run-id"], m["region"]; provision.IsRunID(id) && validRegion(region) {
			// What the run created may still exist: say how to find it by
			// its tags instead.
			hint = "\nif run " + id + " left resources, remove them by their tags: " + sweepCommand(provision.State{RunID: id, Region: region, Path: m["path"]}, m[stateRoleToAssume])
		}
		rio.errorf("buildrole down: %s: %s; nothing was deleted%s", stateSource(rio, f), err, hint)
		return finish(rio, ExitUsage)
	}
	// The saved values fill what the inputs leave empty: a CLI user needs
	// only --state-file.
	input := func(name string) string {
		if v := rio.input(name); v != "" {
			return v
		}
		switch name {
		case "aws-region":
			return state.Region
		case "role-to-assume":
			return m[stateRoleToAssume]
		case "audience":
			return m[stateAudience]
		}
		return ""
	}
	auth, err := config.ParseAuth(config.Source{Input: input, Flags: rio.flags(), GitHub: config.GitHubFromEnv(env.Getenv)})
	if err != nil {
		rio.errorf("buildrole down: invalid input; nothing was deleted:\n%s", err)
		return finish(rio, ExitUsage)
	}
	if auth.MaskAccountID && auth.AccountID != "" {
		rio.mask(auth.AccountID)
	}
	if state.Empty() {
		rio.printf("buildrole down: the saved state names no resources: nothing to do")
		return finish(rio, ExitOK)
	}
	opts := awsOptions(env, auth, f.endpoint)
	opts.Retrying = func(r stsauth.Retry) { rio.printf("%s", r) }
	if k := m[stateExportedKey]; k != "" && !accessKeyRE.MatchString(k) {
		rio.errorf("buildrole down: %s: %s: %q is not an AWS access key id; nothing was deleted", stateSource(rio, f), stateExportedKey, k)
		return finish(rio, ExitUsage)
	}
	if k := m[stateExportedKey]; k != "" {
		// Not a secret, but it names the build role's session.
		rio.mask(k)
		opts.SkipKeyID = k
	}
	rio.group("Bootstrap session")
	var tokens stsauth.TokenSource
	if auth.RoleToAssume != "" {
		tokens = rio.token
	}
	sess, err := stsauth.Bootstrap(ctx, opts, auth.RoleToAssume, auth.RoleSessionName, auth.Audience, tokens)
	rio.endGroup()
	if err != nil {
		rio.errorf("buildrole down: %s\nnothing was deleted; %s", err, sweepCommand(state, auth.RoleToAssume))
		return finish(rio, ExitLeftovers)
	}
	if c, err := sess.Config.Credentials.Retrieve(ctx); err == nil {
		rio.mask(c.SecretAccessKey)
		rio.mask(c.SessionToken)
	}
	// Every wait inside is bounded; this bounds their sum, so a post step
	// never runs into the job's timeout.
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	rio.group("Delete run " + state.RunID)
	rep, err := provision.Down(ctx, iam.NewFromConfig(sess.Config), state, provision.Options{Progress: rio.printf})
	err = withExplanation(err)
	for _, o := range rep.Outcomes {
		rio.printf("%-18s %-60s %s", o.Kind, o.Name, o.Status)
	}
	rio.endGroup()
	_ = rio.summary(downSummary(state, rep, auth.RoleToAssume))
	if err != nil {
		rio.errorf("buildrole down: %s\nstill present: %s\nto retry: %s", err, failedARNs(rep, auth.Partition, sess.AccountID, orDefault(state.Path, "/")), sweepCommand(state, auth.RoleToAssume))
		return finish(rio, ExitLeftovers)
	}
	rio.printf("buildrole down: run %s removed (%s)", state.RunID, resourceCount(rep))
	if err := rio.clearState(); err != nil {
		rio.warnf("%s", err)
	}
	return finish(rio, ExitOK)
}

// failedARNs names what could not be deleted, by ARN where it has one.
func failedARNs(rep *provision.Report, partition, account, path string) string {
	var out []string
	for _, o := range rep.Failed() {
		switch o.Kind {
		case "role", "instance-profile":
			out = append(out, fmt.Sprintf("arn:%s:iam::%s:%s%s%s", partition, account, o.Kind, path, o.Name))
		default:
			out = append(out, o.Kind+" "+o.Name)
		}
	}
	return strings.Join(out, ", ")
}

func downSummary(s provision.State, rep *provision.Report, roleToAssume string) string {
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
