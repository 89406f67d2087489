package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/buildrole/buildrole/internal/accountsetup"
	"github.com/buildrole/buildrole/internal/config"
	"github.com/buildrole/buildrole/internal/ghaction"
	"github.com/buildrole/buildrole/internal/leftovers"
	"github.com/buildrole/buildrole/internal/provision"
	"github.com/buildrole/buildrole/internal/run"
	"github.com/buildrole/buildrole/internal/stsauth"
)

// sweepFlags are sweep's own flags; in the action they are the sweep-*
// inputs.
type sweepFlags struct {
	expired                    bool
	olderThan, repo, pr, runID string
	concurrency                int
	// name says how the user spelled a filter: --older-than on the command
	// line, input "sweep-older-than" in the action.
	name func(flag string) string
}

var (
	repoRE = regexp.MustCompile(`^[\w.-]+/[\w.-]+$`)
	prRE   = regexp.MustCompile(`^[1-9]\d*$`)
)

func runSweep(ctx context.Context, env Env, args []string) int {
	sf := &sweepFlags{name: flagName}
	f := newFlags(env, "sweep", "buildrole sweep --aws-region REGION [--expired | --older-than AGE] [--repository O/R [--pr N]] [--run-id ID] [flags]",
		"Delete runs that killed runners left behind under --path: by default only runs past\n"+
			"their buildrole:expires-at. Whatever the filters, also delete every managed role and\n"+
			"profile there that buildrole did not write (another trust, policy or lifetime than\n"+
			"buildrole's, --max-ttl). Nothing without buildrole's managed tag is touched.").
		withInputs(authInputs...).withInputs("path", "max-ttl", "dry-run")
	f.fs.BoolVar(&sf.expired, "expired", false, "delete runs past their buildrole:expires-at (the default when no other filter is given)")
	f.fs.StringVar(&sf.olderThan, "older-than", "", "delete runs created longer ago than this, e.g. 24h or 2d")
	f.fs.StringVar(&sf.repo, "repository", "", "only runs of this repository (owner/name)")
	f.fs.StringVar(&sf.pr, "pr", "", "only runs of this pull request number (needs --repository)")
	f.fs.StringVar(&sf.runID, "run-id", "", "only the run with this buildrole:run-id")
	f.fs.IntVar(&sf.concurrency, "concurrency", 8, "runs deleted at once, 1 to 64")
	f.withJSON("print the report as JSON").withAWS()
	rio, code := newIO(env, f, args)
	if rio == nil {
		return code
	}
	if _, ok := rio.(actionIO); ok {
		*sf = actionSweepFlags(env, rio)
	}
	return finish(rio, sweep(ctx, env, rio, f, sf))
}

func sweep(ctx context.Context, env Env, rio runIO, f *flags, sf *sweepFlags) int {
	input := func(name string) string { return rio.input(name) }
	auth, filter, bad := sweepInputs(env, rio, sf)
	if len(bad) > 0 {
		rio.errorf("buildrole sweep: invalid input; nothing was deleted:\n%s", strings.Join(bad, "\n"))
		return ExitUsage
	}
	if auth.MaskAccountID && auth.AccountID != "" {
		rio.mask(auth.AccountID)
	}
	dryRun := strings.EqualFold(input("dry-run"), "true")
	opts := awsOptions(env, auth, f.endpoint)
	opts.Retrying = func(r stsauth.Retry) { rio.printf("%s", r) }
	opts.Adaptive = true
	opts.ThrottleAttempts = stsauth.TeardownThrottleAttempts
	var tokens stsauth.TokenSource
	if auth.RoleToAssume != "" {
		tokens = rio.token
	}
	sess, err := stsauth.Bootstrap(ctx, opts, auth.RoleToAssume, auth.RoleSessionName, auth.Audience, tokens)
	if err != nil {
		rio.errorf("buildrole sweep: %s\nnothing was deleted", err)
		return ExitFailed
	}
	if c, err := sess.Config.Credentials.Retrieve(ctx); err == nil {
		rio.mask(c.SecretAccessKey)
		rio.mask(c.SessionToken)
	}
	if auth.MaskAccountID {
		rio.mask(sess.AccountID)
	}
	// EC2 first: what killed builds left there bills until removed.
	rio.group("Sweep EC2 leftovers in " + auth.Region)
	lo := sweepCleanup(env, rio, dryRun, filter.Path)
	match := func(r leftovers.Run) bool { return filter.Matches(r.Tags, r.Created) }
	swept := leftovers.SweepRegion(ctx, ec2Client(sess.Config)(auth.Region), auth.Region, match, lo, sf.concurrency)
	for _, l := range swept.Report.Lines() {
		rio.printf("%s", l)
	}
	rio.printf("%s", swept.Summary())
	rio.endGroup()
	rio.group("Sweep " + filter.Path)
	filter.Genuine.Partition, filter.Genuine.AccountID, filter.Genuine.BootstrapRole = auth.Partition, sess.AccountID, auth.RoleToAssume
	if auth.RoleToAssume == "" {
		rio.printf("without role-to-assume, sweep cannot read which jobs the bootstrap role admits: a build role's GitHub subject is checked for its form only")
	}
	rep, err := provision.Sweep(ctx, iam.NewFromConfig(sess.Config), filter, provision.SweepOptions{DryRun: dryRun, Concurrency: sf.concurrency})
	rc := accountsetup.RunContext{Partition: auth.Partition, AccountID: sess.AccountID, Path: filter.Path}
	err = withExplanation(err, rc)
	for _, n := range rep.Notes {
		rio.printf("%s", n)
	}
	for _, r := range rep.Runs {
		rio.printf("%-12s %s %s", r.Status, r.RunID, strings.Join(r.Names, " "))
	}
	for _, imp := range rep.Impostors {
		rio.warnf("%s %s under %s was not written by buildrole, though tagged as if: %s. A job holding the bootstrap role can plant one (docs/ADMIN.md, section 4); %s",
			imp.Kind, imp.Name, filter.Path, strings.Join(imp.Why, "; "), impostorFate(imp))
	}
	for _, w := range rep.Warnings {
		rio.warnf("%s", w)
	}
	if len(rep.Unreadable) > 0 {
		rio.warnf("%d resources under %s could not be read and were left alone: %s\n%s", len(rep.Unreadable), filter.Path,
			strings.Join(rep.Unreadable, ", "), explain(fmt.Errorf("read %s: %w", rep.Unreadable[0], rep.UnreadableErr), rc))
	}
	rio.endGroup()
	if f.json {
		b, _ := json.MarshalIndent(struct {
			*provision.SweepReport
			EC2 *leftovers.Swept `json:"ec2"`
		}{rep, swept}, "", "  ")
		_ = writeData(env.Stdout, ghaction.InActions(env.Getenv), string(b))
	}
	deleted, failed := 0, 0
	for _, r := range rep.Runs {
		switch r.Status {
		case "deleted":
			deleted++
		case "failed":
			failed++
		}
	}
	_ = rio.summary(fmt.Sprintf("### buildrole sweep of `%s`\n\n%d runs deleted, %d failed, %d would be deleted (dry run), %d managed resources skipped, %d unmanaged resources left alone.\n",
		filter.Path, deleted, failed, len(rep.Runs)-deleted-failed, rep.Skipped, rep.Foreign) + "\n" + swept.Summary() + ".\n" + impostorSummary(rep.Impostors))
	if err != nil {
		rio.errorf("buildrole sweep: %s\n%d runs and %d resources buildrole did not write could not be deleted; run the same sweep again\n%s", err, failed, countStatus(rep.Impostors, provision.StatusFailed), swept.Finish())
		return ExitLeftovers
	}
	if swept.Remaining() > 0 {
		rio.errorf("buildrole sweep: %d runs deleted; %s\n%s", deleted, swept.Summary(), swept.Finish())
		return ExitLeftovers
	}
	rio.printf("buildrole sweep: %d runs deleted, %d skipped, %d unmanaged left alone, %d not written by buildrole deleted; %s", deleted, rep.Skipped, rep.Foreign, countStatus(rep.Impostors, provision.StatusDeleted), swept.Summary())
	return ExitOK
}

// sweepCleanup is how sweep cleans EC2: as the bootstrap session, to
// which the run's tags alone prove nothing.
func sweepCleanup(env Env, rio runIO, dryRun bool, path string) leftovers.Options {
	lo := leftovers.Options{Now: env.Now, Progress: rio.printf}
	if env.Leftovers != nil {
		env.Leftovers(&lo)
	}
	lo.DryRun, lo.Elevated, lo.Path = dryRun, true, path
	return lo
}

// sweepInputs validates sweep's inputs into the filter; bad lists every
// bad one.
func sweepInputs(env Env, rio runIO, sf *sweepFlags) (auth config.Auth, filter provision.Filter, bad []string) {
	input := func(name string) string { return rio.input(name) }
	auth, err := config.ParseAuth(config.Source{Input: input, Flags: rio.flags(), GitHub: config.GitHubFromEnv(env.Getenv), Getenv: env.Getenv})
	if err != nil {
		bad = append(bad, err.Error())
	}
	filter = provision.Filter{Path: orDefault(input("path"), "/buildrole/"), Repository: sf.repo, PR: sf.pr, RunID: sf.runID, Expired: sf.expired, Now: env.Now()}
	if err := run.ValidatePath(filter.Path); err != nil {
		bad = append(bad, fmt.Sprintf("%s: %v", inputName(rio, "path"), err))
	}
	filter.Genuine.MaxTTL, filter.Genuine.MaxTTLGiven, err = config.ParseMaxTTL(config.Source{Input: input, Flags: rio.flags()})
	if err != nil {
		bad = append(bad, err.Error())
	}
	if sf.olderThan != "" {
		d, err := config.ParseDuration(sf.olderThan)
		if err != nil || d <= 0 {
			bad = append(bad, fmt.Sprintf("%s: %q must be a duration such as 24h or 2d", sf.name("older-than"), sf.olderThan))
		}
		filter.OlderThan = d
	}
	if sf.repo != "" && !repoRE.MatchString(sf.repo) {
		bad = append(bad, fmt.Sprintf("%s: %q must be owner/name", sf.name("repository"), sf.repo))
	}
	if sf.pr != "" && !prRE.MatchString(sf.pr) {
		bad = append(bad, fmt.Sprintf("%s: %q must be a pull request number", sf.name("pr"), sf.pr))
	}
	if sf.pr != "" && sf.repo == "" {
		// Pull request numbers repeat across repositories sharing the path.
		bad = append(bad, fmt.Sprintf("%s needs %s: another repository's pull request may have the same number", sf.name("pr"), sf.name("repository")))
	}
	if sf.runID != "" && !run.IsRunID(sf.runID) {
		bad = append(bad, fmt.Sprintf("%s: %q must be a buildrole run id (a UUID)", sf.name("run-id"), sf.runID))
	}
	if sf.concurrency < 1 || sf.concurrency > 64 {
		bad = append(bad, fmt.Sprintf("%s: %d must be from 1 to 64", sf.name("concurrency"), sf.concurrency))
	}
	if filter.OlderThan == 0 && filter.PR == "" && filter.RunID == "" {
		// Never delete live runs by accident: with no narrower filter,
		// only what has expired.
		filter.Expired = true
	}
	return auth, filter, bad
}

// actionSweepFlags reads the sweep-* inputs; a pull request filter without a
// repository means this workflow's repository.
func actionSweepFlags(env Env, rio runIO) sweepFlags {
	sf := sweepFlags{
		olderThan: rio.input("sweep-older-than"), repo: rio.input("sweep-repository"),
		pr: rio.input("sweep-pr"), runID: rio.input("sweep-run-id"), concurrency: 8,
		name: func(flag string) string { return fmt.Sprintf("input %q", "sweep-"+flag) },
	}
	if sf.pr != "" && sf.repo == "" {
		sf.repo = env.Getenv("GITHUB_REPOSITORY")
	}
	return sf
}

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}

// impostorSummary lists, for the step summary, what sweep found that
// buildrole did not write, and why.
func impostorSummary(imps []provision.Impostor) string {
	if len(imps) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("\n**Not written by buildrole** (a job holding the bootstrap role can plant these; see docs/ADMIN.md):\n\n| status | resource | why |\n|---|---|---|\n")
	for _, imp := range imps {
		fmt.Fprintf(&b, "| %s | %s `%s` | %s |\n", imp.Status, imp.Kind, imp.Name, strings.ReplaceAll(strings.Join(imp.Why, "; "), "|", "\\|"))
	}
	return b.String()
}

func countStatus(imps []provision.Impostor, status string) int {
	n := 0
	for _, imp := range imps {
		if imp.Status == status {
			n++
		}
	}
	return n
}

// impostorFate says what sweep did with one.
func impostorFate(imp provision.Impostor) string {
	switch imp.Status {
	case provision.StatusDeleted:
		return "deleted"
	case provision.StatusFailed:
		return "deleting it failed: " + imp.Error
	}
	return "it would be deleted (dry run)"
}
