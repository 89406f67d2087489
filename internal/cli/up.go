package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/google/uuid"

	"github.com/buildrole/buildrole/internal/accountsetup"
	"github.com/buildrole/buildrole/internal/config"
	"github.com/buildrole/buildrole/internal/ghaction"
	"github.com/buildrole/buildrole/internal/iampolicy"
	"github.com/buildrole/buildrole/internal/planner"
	"github.com/buildrole/buildrole/internal/provision"
	"github.com/buildrole/buildrole/internal/run"
	"github.com/buildrole/buildrole/internal/runcreds"
	"github.com/buildrole/buildrole/internal/stsauth"
)

// newIO picks the runner or the terminal, and parses flags for the latter.
// When rio is nil the caller stops with code (after -h, or bad flags).
func newIO(env Env, f *flags, args []string) (rio runIO, code int) {
	if done, code := f.parse(args); done {
		return nil, code
	}
	if ghaction.InActions(env.Getenv) && len(args) == 0 {
		return actionIO{ghaction.New(env.Getenv, env.Stdout, env.HTTPClient)}, ExitOK
	}
	// Stdout carries results; the runner's commands go with the log.
	runner := ghaction.New(env.Getenv, env.Stderr, env.HTTPClient)
	return &cliIO{inActions: ghaction.InActions(env.Getenv), f: f, stdout: env.Stdout, stderr: env.Stderr, runner: runner}, ExitOK
}

func upFlags(env Env) *flags {
	return newFlags(env, "up", "buildrole up --aws-region REGION [--role-to-assume ARN] [--template FILE] [flags]",
		"Create this run's build role, instance role and instance profile, save their names\n"+
			"to --state-file before the first create, and print the outputs. `buildrole down`\n"+
			"deletes them. Inside a job step without flags, up reads the action's inputs.").
		withInputs(authInputs...).withInputs(planInputs...).withInputs("export-credentials", "dry-run").
		withStateFile("where up saves the names of the run's resources (down reads it)").
		withEnvFile().withJSON("print the outputs (with --dry-run, the plan and every document) as JSON").withAWS()
}

func runUp(ctx context.Context, env Env, args []string) int {
	start := env.Now()
	f := upFlags(env)
	raw, code := newIO(env, f, args)
	if raw == nil {
		return code
	}
	_, inAction := raw.(actionIO)
	if inAction && !inputsKnown(raw, env) {
		return finish(raw, ExitUsage)
	}
	if inAction && raw.input("mode") == "sweep" {
		sf := actionSweepFlags(env, raw)
		return finish(raw, sweep(ctx, env, raw, f, &sf))
	}
	// What up reports as an error also goes to the step summary.
	errs := &errorLog{runIO: raw}
	code = up(ctx, env, errs, f, inAction, start)
	if code != ExitOK {
		_ = raw.summary(failureSummary(code, errs.lines, env.Now().Sub(start)))
	}
	return finish(raw, code)
}

// errorLog keeps the errors up reports.
type errorLog struct {
	runIO
	lines []string
}

func (e *errorLog) errorf(format string, args ...any) {
	e.lines = append(e.lines, fmt.Sprintf(format, args...))
	e.runIO.errorf(format, args...)
}

// failureSummary is the step summary of a failed up: what failed, what was
// cleaned up and what to run, as the log said it.
func failureSummary(code int, errs []string, took time.Duration) string {
	var b strings.Builder
	meaning := map[int]string{
		ExitFailed:    "failed; whatever was created has been removed",
		ExitUsage:     "bad input; no AWS call was made",
		ExitLeftovers: "failed, and something may remain: see the command below",
	}[code]
	fmt.Fprintf(&b, "### buildrole: up failed (exit %d: %s)\n\n", code, meaning)
	for _, e := range errs {
		// A fence longer than any run of backticks in the text.
		fence := "```"
		for strings.Contains(e, fence) {
			fence += "`"
		}
		fmt.Fprintf(&b, "%stext\n%s\n%s\n\n", fence, strings.TrimRight(e, "\n"), fence)
	}
	fmt.Fprintf(&b, "up took %s.\n", took.Round(time.Millisecond))
	return b.String()
}

func up(ctx context.Context, env Env, rio runIO, f *flags, inAction bool, start time.Time) int {
	newID := env.NewRunID
	if newID == nil {
		newID = uuid.NewString
	}
	cfg, err := config.Parse(config.Source{Input: rio.input, Flags: rio.flags(), GitHub: config.GitHubFromEnv(env.Getenv), RunID: newID(), Now: env.Now(), Getenv: env.Getenv})
	if err != nil {
		rio.errorf("buildrole up: invalid input; nothing was created:\n%s", err)
		return ExitUsage
	}
	if cfg.MaskAccountID && cfg.AccountID != "" {
		rio.mask(cfg.AccountID)
	}
	// The plan depends on the account and the trust only for ARNs and the
	// build role's trust: build it now, with what the job foresees, so that
	// what IAM would refuse (sizes, duplicate ids, lint errors) is refused
	// before any call. The run keeps it when the bootstrap confirms both.
	plan, err := planBeforeCalls(cfg)
	if err != nil {
		rio.errorf("buildrole up: invalid input; nothing was created:\n%s", err)
		return ExitUsage
	}
	if err := rio.precheck(); err != nil {
		rio.errorf("buildrole up: %s; nothing was created", err)
		return ExitUsage
	}
	if inAction && cfg.RoleToAssume == "" && cfg.ExportCredentials && stsauth.EnvKeyID(env.Getenv) != "" {
		// The exported build-role keys would replace these for every later
		// step, the post step included, which could then not tear down.
		rio.errorf("buildrole up: role-to-assume is empty, so up would act as the AWS keys in this job's environment (AWS_ACCESS_KEY_ID); exporting the build role's keys replaces them for every later step, the post step included, which could then not delete the run. Set role-to-assume to a bootstrap role (the job's OIDC token needs no keys), or set export-credentials: false and pass the build role to Packer yourself; nothing was created")
		return ExitUsage
	}
	if cfg.DryRun {
		return printDryRun(rio, env, f, cfg, plan)
	}
	opts := awsOptions(env, cfg.Auth, f.endpoint)
	opts.Retrying = func(r stsauth.Retry) { rio.printf("%s", r) }
	u := &upRun{env: env, rio: rio, cfg: cfg, opts: opts, start: start, f: f, preview: plan}
	return u.run(ctx)
}

// printWarnings logs the input's warnings and the template's notes (what
// `buildrole policy` lists), each an annotation in a job.
func printWarnings(rio runIO, plan *planner.Plan) {
	for _, w := range plan.Warnings {
		rio.warnf("%s", w)
	}
}

func finish(rio runIO, code int) int {
	if err := rio.finish(); err != nil && code == ExitOK {
		return ExitFailed
	}
	return code
}

// planBeforeCalls is the plan before any call: the account from
// role-to-assume (or a placeholder), and the trust GitHub's token for this
// event would carry.
func planBeforeCalls(cfg *config.Config) (*planner.Plan, error) {
	account := cfg.AccountID
	if account == "" {
		account = run.PlaceholderAccount
	}
	return planner.New(cfg, account, dryRunTrust(cfg, account))
}

// dryRunTrust has no token to read `sub` from, so it uses the subject
// GitHub would issue for this event.
func dryRunTrust(cfg *config.Config, account string) run.Trust {
	if cfg.RoleToAssume == "" {
		// A placeholder: the real run trusts the caller's own session.
		return run.Trust{PrincipalARN: fmt.Sprintf("arn:%s:sts::%s:assumed-role/CALLER-ROLE/CALLER-SESSION", cfg.Partition, account)}
	}
	name, err := iampolicy.OIDCProviderName(cfg.GitHub.Issuer())
	if err != nil {
		name = run.GitHubOIDCHost
	}
	return run.Trust{ProviderARN: providerARN(cfg.Partition, account, name), Issuer: name, Audience: cfg.Audience, Subject: cfg.GitHub.Subject()}
}

func providerARN(partition, account, name string) string {
	return fmt.Sprintf("arn:%s:iam::%s:oidc-provider/%s", partition, account, name)
}

type upRun struct {
	env     Env
	rio     runIO
	cfg     *config.Config
	opts    stsauth.Options
	state   run.State // as saved
	start   time.Time
	f       *flags
	preview *planner.Plan // built before any call
	tokens  stsauth.TokenSource
	made    time.Time   // when IAM made the run's resources
	patient *iam.Client // for deletes: teardown's throttling budget
}

// teardownClient is the session's IAM client with teardown's patience
// when throttled, for the rollback and for deleting an unusable run.
func (u *upRun) teardownClient(sess *stsauth.Session) *iam.Client {
	o := u.opts
	o.ThrottleAttempts = stsauth.TeardownThrottleAttempts
	return iam.NewFromConfig(sess.Config, func(io *iam.Options) { io.Retryer = stsauth.NewRetryer(o) })
}

func (u *upRun) token(ctx context.Context, aud string) (string, error) { return u.rio.token(ctx, aud) }

// explain names, for each refused call, the bootstrap statement that
// grants it, in the run's account.
func (u *upRun) explain(err error, account string) error {
	return withExplanation(err, accountsetup.RunContext{Partition: u.cfg.Partition, AccountID: account, Path: u.cfg.Path, NamePrefix: u.cfg.NamePrefix})
}

// run is up after the input: bootstrap, plan, save the state, create,
// hand the build role over, publish.
func (u *upRun) run(ctx context.Context) int {
	sess, trust, code := u.bootstrap(ctx)
	if sess == nil {
		return code
	}
	plan, err := u.plan(sess.AccountID, trust)
	if err != nil {
		u.rio.errorf("buildrole up: %s\nnothing was created", err)
		return ExitFailed
	}
	client := iam.NewFromConfig(sess.Config)
	u.patient = u.teardownClient(sess)
	g, ok := u.accountMaxTTL(ctx, client, plan)
	if !ok {
		return ExitFailed
	}
	u.state = plan.SavedState(u.env.Now())
	u.state.RoleToAssume, u.state.Audience = u.cfg.RoleToAssume, u.cfg.Audience
	if err := u.rio.saveState(u.state.Map()); err != nil {
		u.rio.errorf("buildrole up: %s\nnothing was created", err)
		return ExitFailed
	}
	// Off the critical path: one listing of the path, beside the creates.
	look := startLook(ctx, client, plan.Path, u.cfg.NamePrefix, g)
	defer look.cancel()
	made, code := u.create(ctx, client, plan)
	if code != ExitOK {
		return code
	}
	u.made = made
	if err := u.handOver(ctx, client, sess, plan, made); err != nil {
		return u.teardownAfter(ctx, plan, err)
	}
	if err := u.publish(plan, look.report(u.rio, plan.Path)); err != nil {
		return u.teardownAfter(ctx, plan, err)
	}
	return ExitOK
}

// accountMaxTTL reads the account's max-ttl from the bootstrap role's
// Description before anything is created, and refuses a ttl above it. The
// listing also gives the look the bootstrap role's trust.
func (u *upRun) accountMaxTTL(ctx context.Context, client *iam.Client, plan *planner.Plan) (provision.Genuine, bool) {
	g := provision.Genuine{Partition: plan.Partition, AccountID: plan.AccountID, MaxTTL: u.cfg.MaxTTL, MaxTTLGiven: u.cfg.MaxTTLGiven, BootstrapRole: u.cfg.RoleToAssume}
	g, readErr := g.ReadBootstrap(ctx, client)
	g, warning, note := g.SettleMaxTTL(readErr)
	if warning != "" {
		u.rio.warnf("%s", warning)
	}
	if note != "" {
		u.rio.printf("%s", note)
	}
	if u.cfg.TTL > g.MaxTTL {
		u.rio.errorf("buildrole up: ttl %s is more than max-ttl %s, the longest the account allows: shorten ttl, or raise the account's max-ttl (docs/ADMIN.md, section 1)\nnothing was created", run.FormatTTL(u.cfg.TTL), run.FormatTTL(g.MaxTTL))
		return g, false
	}
	return g, true
}

// bootstrap opens the bootstrap session and says whom the build role
// trusts; a nil session means stop with code.
func (u *upRun) bootstrap(ctx context.Context) (*stsauth.Session, run.Trust, int) {
	rio, cfg := u.rio, u.cfg
	if cfg.RoleToAssume != "" {
		// One token serves the bootstrap and every attempt on the build
		// role: fetched (and masked) before anything else is printed.
		u.tokens = stsauth.ReuseTokens(u.token)
		if _, err := u.tokens(ctx, cfg.Audience); err != nil {
			rio.errorf("buildrole up: %s\nnothing was created", err)
			return nil, run.Trust{}, ExitFailed
		}
	}
	// Warnings after the token's mask: masks come before anything else.
	printWarnings(rio, u.preview)
	rio.group("Bootstrap session")
	defer rio.endGroup()
	sess, err := stsauth.Bootstrap(ctx, u.opts, cfg.RoleToAssume, cfg.RoleSessionName, cfg.Audience, u.tokens)
	if err != nil {
		rio.errorf("buildrole up: %s\nnothing was created", u.explain(err, cfg.AccountID))
		return nil, run.Trust{}, ExitFailed
	}
	if c, err := sess.Config.Credentials.Retrieve(ctx); err == nil {
		rio.mask(c.SecretAccessKey)
		rio.mask(c.SessionToken)
	}
	if cfg.MaskAccountID {
		rio.mask(sess.AccountID)
	}
	rio.printf("bootstrap session: %s", sess.PrincipalARN)
	if cfg.RoleToAssume == "" {
		rio.printf("build role trusts the bootstrap session (role chaining; build credentials last at most 1 h)")
		return sess, run.Trust{PrincipalARN: sess.PrincipalARN}, ExitOK
	}
	// The token names its issuer (github.com's, GitHub Enterprise
	// Server's, an enterprise's own): the build role trusts the same.
	name, err := iampolicy.OIDCProviderName(orDefault(sess.Claims.Issuer, iampolicy.GitHubIssuer))
	if err != nil {
		rio.errorf("buildrole up: the job's OIDC token: %s\nnothing was created", err)
		return nil, run.Trust{}, ExitFailed
	}
	trust := run.Trust{ProviderARN: providerARN(cfg.Partition, sess.AccountID, name), Issuer: name, Audience: cfg.Audience, Subject: sess.Claims.Subject}
	rio.printf("build role trusts this job's token: sub %q, aud %q", trust.Subject, trust.Audience)
	return sess, trust, ExitOK
}

// plan is the preview when the session confirmed its account and trust,
// and otherwise the plan for what the session found.
func (u *upRun) plan(account string, trust run.Trust) (*planner.Plan, error) {
	if p := u.preview; p != nil && p.AccountID == account && p.Trust == trust {
		return p, nil
	}
	return planner.New(u.cfg, account, trust)
}

// create makes the run's resources and returns when IAM made them.
func (u *upRun) create(ctx context.Context, client *iam.Client, plan *planner.Plan) (time.Time, int) {
	rio := u.rio
	rio.debugf("build role trust policy: %s", plan.BuildRole.Trust.JSON())
	rio.debugf("build role policy: %s", plan.BuildRole.Policy.JSON())
	rio.debugf("tags: %s", hclMap(plan.Tags))
	rio.group("Create " + plan.BuildRole.Name)
	start := u.env.Now()
	_, err := provision.Up(ctx, client, &plan.Plan, provision.Options{Now: u.env.Now, Undo: u.patient})
	rio.endGroup()
	if err != nil {
		return time.Time{}, u.failed(u.withQuota(ctx, err, plan), plan)
	}
	took := u.env.Now().Sub(start)
	rio.printf("created %s in %s", strings.Join(plan.ARNs(), ", "), took.Round(time.Millisecond))
	// IAM made the roles and the profile when the first of Up's two levels
	// of calls answered: about halfway. The polls are timed from then.
	return start.Add(took / 2), ExitOK
}

// handOver waits until the run can be used: the build role assumed and
// its credentials exported, or, without export, the instance profile
// visible to Packer. It then saves what up saw exist (state key
// confirmed), so that teardown waits only for what it did not.
func (u *upRun) handOver(ctx context.Context, client *iam.Client, sess *stsauth.Session, plan *planner.Plan, made time.Time) error {
	if !u.cfg.ExportCredentials {
		// Nobody waits here: `buildrole exec` waits for the trust and the
		// profile at its command's first credential request, while the
		// job does whatever comes between the two steps. up saw nothing
		// exist, so teardown waits (within the pending window) for what
		// IAM does not show yet.
		return nil
	}
	// Packer reads the profile before launching: wait until IAM shows it,
	// in the same window as the trust policy's propagation.
	var also []stsauth.Check
	var held []string // the roles in the profile, once IAM shows it
	profileSeen := false
	if plan.InstanceProfile != nil {
		also = append(also, runcreds.ProfileCheck(client, plan.InstanceProfile.Name, func(roles []string) { held, profileSeen = roles, true }))
	}
	opts := u.opts
	opts.Progress = func(p stsauth.Progress) { u.rio.printf("%s", p) }
	if err := u.export(ctx, opts, sess, plan, made, also); err != nil {
		return err
	}
	var seen []run.Resource
	if profileSeen {
		seen = append(seen, run.Resource{Kind: run.KindInstanceProfile, Name: plan.InstanceProfile.Name})
	}
	for _, r := range plan.Resources() {
		if r.Kind != run.KindInstanceProfile && slices.Contains(held, r.Name) {
			seen = append(seen, r)
		}
	}
	if build := (run.Resource{Kind: run.KindRole, Name: plan.BuildRole.Name}); !slices.Contains(seen, build) {
		seen = append(seen, build) // STS assumed it
	}
	u.state.Confirmed = seen
	return u.rio.saveState(u.state.Map())
}

// export assumes the build role once its trust has propagated and puts its
// credentials, masked, in the job's environment.
func (u *upRun) export(ctx context.Context, opts stsauth.Options, sess *stsauth.Session, plan *planner.Plan, made time.Time, also []stsauth.Check) error {
	rio := u.rio
	rio.group("Assume " + plan.BuildRole.Name)
	creds, waited, err := stsauth.AssumeBuildRole(ctx, opts, sess, stsauth.BuildRoleRequest{
		RoleARN:         plan.BuildRole.ARN,
		SessionName:     u.cfg.RoleSessionName,
		DurationSeconds: u.cfg.DurationSeconds,
		Chain:           plan.TrustMode == run.TrustChain,
		Audience:        u.cfg.Audience,
		Since:           made,
		Also:            also,
	}, u.tokens)
	if err == nil {
		// Masks before anything else can print them.
		rio.mask(creds.AccessKeyID)
		rio.mask(creds.SecretAccessKey)
		rio.mask(creds.SessionToken)
	}
	rio.endGroup()
	if err != nil {
		return err
	}
	rio.printf("build role assumed after %s of propagation; credentials expire %s", waited.Round(time.Millisecond), creds.Expires.UTC().Format(time.RFC3339))
	// Before the keys reach the environment: the post step must know them
	// as buildrole's own, so as never to tear down with them.
	u.state.ExportedKeyID = creds.AccessKeyID
	if err := rio.saveState(u.state.Map()); err != nil {
		return err
	}
	for _, kv := range [][2]string{{"AWS_ACCESS_KEY_ID", creds.AccessKeyID}, {"AWS_SECRET_ACCESS_KEY", creds.SecretAccessKey}, {"AWS_SESSION_TOKEN", creds.SessionToken}} {
		if err := rio.setEnv(kv[0], kv[1]); err != nil {
			return err
		}
	}
	return nil
}

// Outputs returns the step outputs of a plan.
func Outputs(p *run.Plan) map[string]string {
	o := map[string]string{
		"role-name":      p.BuildRole.Name,
		"role-arn":       p.BuildRole.ARN,
		"aws-account-id": p.AccountID,
		"run-id":         p.RunID,
		"expires-at":     p.ExpiresAt.Format(time.RFC3339),
		"policy":         p.BuildRole.Policy.JSON(),
	}
	if p.InstanceRole != nil {
		o["instance-role-name"] = p.InstanceRole.Name
		o["instance-role-arn"] = p.InstanceRole.ARN
	}
	if p.InstanceProfile != nil {
		o["instance-profile-name"] = p.InstanceProfile.Name
		o["instance-profile-arn"] = p.InstanceProfile.ARN
	}
	return o
}

// publish sets the outputs, the environment and the step summary, with
// extra (the look's findings) at its end.
func (u *upRun) publish(p *planner.Plan, extra string) error {
	outs := Outputs(&p.Plan)
	var errs []error
	for _, k := range ghaction.SortedKeys(outs) {
		errs = append(errs, u.rio.setOutput(k, outs[k]))
	}
	env := map[string]string{
		"AWS_REGION":                p.Region,
		"AWS_DEFAULT_REGION":        p.Region,
		"PKR_VAR_" + run.VarRunTags: hclMap(p.Tags),
	}
	if p.InstanceProfile != nil {
		env["PKR_VAR_"+run.VarInstanceProfile] = p.InstanceProfile.Name
	}
	maps.Copy(env, u.handover(p).Env())
	for _, k := range ghaction.SortedKeys(env) {
		errs = append(errs, u.rio.setEnv(k, env[k]))
	}
	errs = append(errs, u.rio.summary(upSummary(p)+extra+fmt.Sprintf("\nup took %s.\n", u.env.Now().Sub(u.start).Round(time.Millisecond))))
	savePolicy(u.rio, u.env.Getenv, u.f.stateFile, p)
	return errors.Join(errs...)
}

// handover is how `buildrole exec` in a later step assumes the build role
// itself.
func (u *upRun) handover(p *planner.Plan) run.Handover {
	h := run.Handover{RoleARN: p.BuildRole.ARN, Trust: p.TrustMode, Audience: u.cfg.Audience,
		SessionName: u.cfg.RoleSessionName, DurationSeconds: int(u.cfg.DurationSeconds), CreatedAt: u.made, ExportedKeyID: u.state.ExportedKeyID}
	if p.InstanceProfile != nil {
		h.InstanceProfile = p.InstanceProfile.Name
	}
	return h
}

// hclMap renders tags as an HCL map literal for a Packer variable.
func hclMap(tags []run.Tag) string {
	sorted := append([]run.Tag(nil), tags...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Key < sorted[j].Key })
	var b strings.Builder
	b.WriteString("{")
	for i, t := range sorted {
		if i > 0 {
			b.WriteString(", ")
		}
		k, _ := json.Marshal(t.Key)
		v, _ := json.Marshal(t.Value)
		fmt.Fprintf(&b, "%s = %s", k, v)
	}
	b.WriteString("}")
	return b.String()
}

func upSummary(p *planner.Plan) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### buildrole: run `%s`\n\n| resource | name | ARN |\n|---|---|---|\n", p.RunID)
	fmt.Fprintf(&b, "| build role | `%s` | `%s` |\n", p.BuildRole.Name, p.BuildRole.ARN)
	if p.InstanceRole != nil {
		fmt.Fprintf(&b, "| instance role | `%s` | `%s` |\n", p.InstanceRole.Name, p.InstanceRole.ARN)
	}
	if p.InstanceProfile != nil {
		fmt.Fprintf(&b, "| instance profile | `%s` | `%s` |\n", p.InstanceProfile.Name, p.InstanceProfile.ARN)
	}
	fmt.Fprintf(&b, "\nExpires %s (the post step deletes them earlier). Trust: %s.\n\n", p.ExpiresAt.Format(time.RFC3339), p.TrustMode)
	groups := map[string][]string{}
	for _, a := range p.Actions() {
		svc, name, _ := strings.Cut(a, ":")
		groups[svc] = append(groups[svc], name)
	}
	b.WriteString("<details><summary>What the build role may do</summary>\n\n")
	svcs := make([]string, 0, len(groups))
	for s := range groups {
		svcs = append(svcs, s)
	}
	sort.Strings(svcs)
	for _, s := range svcs {
		fmt.Fprintf(&b, "- **%s**: %s\n", s, strings.Join(groups[s], ", "))
	}
	fmt.Fprintf(&b, "\nRegions: %s.\n</details>\n", strings.Join(p.Regions, ", "))
	return b.String()
}

// failed reports a failed Up. Up has already rolled back what it could.
func (u *upRun) failed(err error, p *planner.Plan) int {
	missingBoundary := u.cfg.Boundary == "" && deniedAction(err, "iam:CreateRole")
	err = u.explain(err, p.AccountID)
	if missingBoundary {
		err = fmt.Errorf("%w\npermissions-boundary is not set: a bootstrap role made by `buildrole bootstrap` creates roles only with its boundary; set permissions-boundary to arn:%s:iam::%s:policy%sbuildrole-boundary", err, p.Partition, p.AccountID, p.Path)
	}
	var unknown *provision.UnknownOutcomeError
	if errors.As(err, &unknown) {
		// Keep the state, with what may still appear: the post step (or
		// down) waits for it before deleting and before forgetting.
		st := u.state
		st.Pending, st.PendingSince = unknown.Pending, unknown.Since
		if serr := u.rio.saveState(st.Map()); serr != nil {
			err = errors.Join(err, serr)
		}
		u.rio.errorf("buildrole up: %s\nthe state keeps them: %s waits for them and deletes them; if it cannot run, later: %s", err, u.downHint(), sweepCommand(st, u.cfg.RoleToAssume))
		return ExitLeftovers
	}
	var rb *provision.RollbackError
	if errors.As(err, &rb) {
		u.rio.errorf("buildrole up: %s\nrollback could not delete everything; %s will try again, or run: %s", err, u.downHint(), sweepCommand(p.State(), u.cfg.RoleToAssume))
		return ExitLeftovers
	}
	u.rio.errorf("buildrole up: %s\neverything created was rolled back", err)
	u.forget()
	return ExitFailed
}

// withQuota adds to a create refused by the account's quota the quota's
// name, how many of that kind the run's path holds, and the sweep that
// removes the expired ones.
func (u *upRun) withQuota(ctx context.Context, err error, p *planner.Plan) error {
	var qe *provision.QuotaError
	if !errors.As(err, &qe) {
		return err
	}
	kind := map[run.Kind]string{run.KindInstanceProfile: "instance profiles"}[qe.Kind]
	if kind == "" {
		kind = "roles"
	}
	held := "the count could not be read"
	if n, cerr := provision.CountUnderPath(ctx, u.patient, qe.Kind, p.Path); cerr == nil {
		held = fmt.Sprintf("%d of them are under %s", n, p.Path)
	}
	sweep := "buildrole sweep --path " + shellQuote(p.Path) + " --aws-region " + shellQuote(p.Region)
	if u.cfg.RoleToAssume != "" {
		sweep += " --role-to-assume " + shellQuote(u.cfg.RoleToAssume)
	}
	return fmt.Errorf("%w\nthe account holds as many %s as IAM's quota %q allows (%s): remove expired runs with `%s`, or ask for a higher quota in Service Quotas", err, kind, qe.Quota(), held, sweep)
}

// forget clears the saved state once nothing of the run remains, so the
// post step has nothing to wait for.
func (u *upRun) forget() {
	if err := u.rio.clearState(); err != nil {
		u.rio.warnf("%s", err)
	}
}

// downHint names what tears this run down: the post step, or the command.
func (u *upRun) downHint() string {
	if u.rio.flags() {
		return "`buildrole down --state-file " + shellQuote(u.f.stateFile) + "`"
	}
	return "the post step"
}

// teardownAfter removes a run whose resources exist but cannot be used.
func (u *upRun) teardownAfter(ctx context.Context, p *planner.Plan, cause error) int {
	cause = u.explain(cause, p.AccountID)
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	// Created moments ago: IAM may not show them yet.
	rep, err := provision.Down(dctx, u.patient, p.State(), provision.Options{Fresh: true, Progress: u.rio.printf, Now: u.env.Now})
	if err != nil {
		u.rio.errorf("buildrole up: %s\nand deleting the run failed: %s\n%s will try again, or run: %s", cause, err, u.downHint(), sweepCommand(p.State(), u.cfg.RoleToAssume))
		return ExitLeftovers
	}
	u.rio.errorf("buildrole up: %s\nthe run was deleted: %s", cause, resourceCount(rep))
	u.forget()
	return ExitFailed
}

// sweepCommand is the exact command that removes a run's leftovers; every
// value is shell-quoted, whatever the state held.
func sweepCommand(s run.State, roleToAssume string) string {
	cmd := "buildrole sweep --run-id " + shellQuote(s.RunID) + " --path " + shellQuote(orDefault(s.Path, "/buildrole/")) + " --aws-region " + shellQuote(s.Region)
	if roleToAssume != "" {
		cmd += " --role-to-assume " + shellQuote(roleToAssume)
	}
	return cmd
}

// resourceCount says what a teardown deleted, counting roles and instance
// profiles (not policies and memberships).
func resourceCount(rep *provision.Report) string {
	var parts []string
	for _, k := range []struct{ kind, one, many string }{{run.IAMTypeRole, "role", "roles"}, {run.IAMTypeInstanceProfile, "instance profile", "instance profiles"}} {
		n := 0
		for _, o := range rep.Outcomes {
			if o.Kind == k.kind && o.Status == provision.StatusDeleted {
				n++
			}
		}
		if n == 1 {
			parts = append(parts, "1 "+k.one)
		} else if n > 1 {
			parts = append(parts, fmt.Sprintf("%d %s", n, k.many))
		}
	}
	gone := rep.Resources(provision.StatusAbsent)
	out := "nothing deleted"
	if len(parts) > 0 {
		out = strings.Join(parts, " and ") + " deleted"
	}
	if gone > 0 {
		out += fmt.Sprintf(", %d already gone", gone)
	}
	return out
}
