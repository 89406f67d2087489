package provision_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/buildrole/buildrole/internal/config"
	"github.com/buildrole/buildrole/internal/fakeaws"
	"github.com/buildrole/buildrole/internal/planner"
	"github.com/buildrole/buildrole/internal/provision"
	"github.com/buildrole/buildrole/internal/run"
)

const (
	provider = "arn:aws:iam::" + account + ":oidc-provider/token.actions.githubusercontent.com"
	// bootstrapTrust is the bootstrap role's, as `buildrole bootstrap`
	// writes it by default.
	bootstrapTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + provider + `"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com","token.actions.githubusercontent.com:sub":["repo:acme/images:pull_request","repo:acme/images:ref:refs/heads/main"]}}}]}`
	// ownTrust is a build role's trust as buildrole writes it.
	ownTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + provider + `"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com","token.actions.githubusercontent.com:sub":"repo:acme/images:pull_request"}}}]}`
)

// planted is a role or profile a job holding the bootstrap role could
// leave behind, and a word sweep's reason must contain.
type planted struct {
	name, trust string
	expires     string // buildrole:expires-at; "" = in an hour
	created     time.Time
	inline      string // an inline policy's name
	attach      string // a managed policy's ARN
	why         string
}

func plantedRoles(now time.Time) []planted {
	return []planted{
		{name: "buildrole-foreign-account", why: "999999999999",
			trust: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"sts:AssumeRole"}]}`},
		{name: "buildrole-any-repository", why: "StringLike",
			trust: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + provider + `"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"},"StringLike":{"token.actions.githubusercontent.com:sub":"repo:*"}}}]}`},
		{name: "buildrole-foreign-provider", why: "identity providers",
			trust: strings.ReplaceAll(ownTrust, account, "999999999999")},
		{name: "buildrole-no-sub", why: "subjects",
			trust: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + provider + `"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"}}}]}`},
		{name: "buildrole-whole-account", why: "not a role",
			trust: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + account + `:root"},"Action":"sts:AssumeRole"}]}`},
		{name: "buildrole-other-environment", why: "does not admit",
			trust: strings.Replace(ownTrust, "repo:acme/images:pull_request", "repo:acme/images:environment:prod", 1)},
		{name: "buildrole-sso-chain", why: "no session of the bootstrap role",
			trust: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + account + `:role/AWSReservedSSO_ReadOnly_x"},"Action":"sts:AssumeRole"}]}`},
		{name: "buildrole-user-chain", why: "no session of the bootstrap role",
			trust: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + account + `:user/bob"},"Action":"sts:AssumeRole"}]}`},
		{name: "buildrole-far-future", trust: ownTrust, expires: "9999-12-31T23:59:59Z", why: "max-ttl"},
		{name: "buildrole-never", trust: ownTrust, expires: "never", why: "not a time"},
		{name: "buildrole-old", trust: ownTrust, created: now.Add(-48 * time.Hour), why: "ago"},
		{name: "buildrole-backdoor-policy", trust: ownTrust, inline: "backdoor", why: "backdoor"},
		{name: "buildrole-attached", trust: ownTrust, attach: "arn:aws:iam::aws:policy/AdministratorAccess", why: "AdministratorAccess"},
	}
}

// plant creates p under /buildrole/ with a run's tags, as a job could.
func plant(t *testing.T, s *fakeaws.Server, c *iam.Client, p planted, now time.Time) {
	t.Helper()
	ctx := context.Background()
	exp := p.expires
	if exp == "" {
		exp = now.Add(time.Hour).UTC().Format(time.RFC3339)
	}
	tags := []types.Tag{
		{Key: aws.String(run.TagManaged), Value: aws.String(run.TagManagedValue)},
		{Key: aws.String(run.TagRunID), Value: aws.String("0badc0de-0000-4000-8000-000000000000")},
		{Key: aws.String(run.TagExpiresAt), Value: aws.String(exp)},
	}
	if _, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(p.name), Path: aws.String("/buildrole/"), AssumeRolePolicyDocument: aws.String(p.trust), Tags: tags}); err != nil {
		t.Fatal(err)
	}
	if p.inline != "" {
		if _, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(p.name), PolicyName: aws.String(p.inline), PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:*","Resource":"*"}]}`)}); err != nil {
			t.Fatal(err)
		}
	}
	if p.attach != "" {
		if _, err := c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(p.name), PolicyArn: aws.String(p.attach)}); err != nil {
			t.Fatal(err)
		}
	}
	if !p.created.IsZero() && !s.SetRoleCreated(p.name, p.created) {
		t.Fatalf("no role %s to backdate", p.name)
	}
}

// live creates buildrole's own runs, as up does, in each profile mode with
// the job's token, and in two with a session of the bootstrap role (chain
// mode: a job that had assumed it, then ran up without role-to-assume);
// the names of their resources.
func live(t *testing.T, c *iam.Client) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	plans := []*run.Plan{plan(t, "separate"), plan(t, "shared"), plan(t, "none")}
	for i, mode := range []string{"separate", "shared"} {
		cfg, err := config.Parse(config.Source{
			Input: func(n string) string {
				return map[string]string{"aws-region": "us-east-1", "instance-profile": mode}[n]
			},
			GitHub: config.GitHub{Repository: "acme/images", RunID: "78", RunAttempt: "1", Ref: "refs/heads/main", EventName: "push"},
			RunID:  fmt.Sprintf("c4a1c4a%d-0000-4000-8000-000000000000", i), Now: time.Now(),
		})
		if err != nil {
			t.Fatal(err)
		}
		p, err := planner.New(cfg, account, run.Trust{PrincipalARN: "arn:aws:sts::" + account + ":assumed-role/buildrole-bootstrap/GitHubActions"})
		if err != nil {
			t.Fatal(err)
		}
		plans = append(plans, &p.Plan)
	}
	for _, p := range plans {
		if _, err := provision.Up(context.Background(), c, p, provision.Options{}); err != nil {
			t.Fatalf("up %s: %v", p.BuildRole.Name, err)
		}
		for _, r := range p.Resources() {
			names[r.Name] = true
		}
	}
	return names
}

// A job holding the bootstrap role can create roles under the path with any
// trust and any tag values. The default sweep deletes each such role, and
// each profile holding one or too old, naming why; buildrole's own live
// runs and whatever lacks the managed tag stay.
func TestSweepDeletesPlantedRoles(t *testing.T) {
	t.Parallel()
	s := fakeaws.NewServer()
	defer s.Close()
	c := client(s, 3)
	now := time.Now()
	mine := live(t, c)
	roles := plantedRoles(now)
	s.AddRole("AWSReservedSSO_ReadOnly_x", "/", ownTrust) // a chain plant's principal
	for _, p := range roles {
		plant(t, s, c, p, now)
	}
	ctx := context.Background()
	// A profile holding a planted role, and an old one holding nothing.
	tags := []types.Tag{{Key: aws.String(run.TagManaged), Value: aws.String("true")}, {Key: aws.String(run.TagRunID), Value: aws.String("0badc0de-0000-4000-8000-000000000000")}, {Key: aws.String(run.TagExpiresAt), Value: aws.String(now.Add(time.Hour).UTC().Format(time.RFC3339))}}
	for _, name := range []string{"buildrole-holds-foreign", "buildrole-old-profile"} {
		if _, err := c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String(name), Path: aws.String("/buildrole/"), Tags: tags}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("buildrole-holds-foreign"), RoleName: aws.String("buildrole-foreign-account")}); err != nil {
		t.Fatal(err)
	}
	s.SetInstanceProfileCreated("buildrole-old-profile", now.Add(-30*time.Hour))
	// Not managed: never touched, whatever its trust.
	if _, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("buildrole-unmanaged"), Path: aws.String("/buildrole/"), AssumeRolePolicyDocument: aws.String(roles[0].trust)}); err != nil {
		t.Fatal(err)
	}

	// The bootstrap role admits this repository's pull requests and main.
	g := genuine
	g.BootstrapRole = s.AddRole("buildrole-bootstrap", "/", bootstrapTrust)
	filter := provision.Filter{Path: "/buildrole/", Genuine: g, Expired: true, Now: now}
	rep, err := provision.Sweep(ctx, c, filter, provision.SweepOptions{DryRun: true})
	if err != nil || len(rep.Impostors) != len(roles)+2 || rep.Impostors[0].Status != "would-delete" {
		t.Fatalf("dry run: %v, %+v", err, rep.Impostors)
	}
	before := len(s.Snapshot().Roles)
	rep, err = provision.Sweep(ctx, c, filter, provision.SweepOptions{})
	if err != nil {
		t.Fatal(err)
	}
	why := map[string]string{}
	for _, imp := range rep.Impostors {
		if imp.Status != provision.StatusDeleted {
			t.Errorf("%s %s: %s %s", imp.Kind, imp.Name, imp.Status, imp.Error)
		}
		why[imp.Name] = strings.Join(imp.Why, "; ")
	}
	for _, p := range roles {
		if !strings.Contains(why[p.name], p.why) {
			t.Errorf("%s: reason %q, want one naming %q", p.name, why[p.name], p.why)
		}
	}
	if !strings.Contains(why["buildrole-holds-foreign"], "buildrole-foreign-account") || !strings.Contains(why["buildrole-old-profile"], "ago") {
		t.Errorf("profiles: %q, %q", why["buildrole-holds-foreign"], why["buildrole-old-profile"])
	}
	left := map[string]bool{}
	snap := s.Snapshot()
	for _, r := range snap.Roles {
		left[r.Name] = true
	}
	for _, p := range snap.InstanceProfiles {
		left[p.Name] = true
	}
	for name := range mine {
		if !left[name] {
			t.Errorf("buildrole's own %s was deleted", name)
		}
	}
	if !left["buildrole-unmanaged"] || rep.Foreign != 1 {
		t.Errorf("unmanaged role: left %v, foreign %d", left["buildrole-unmanaged"], rep.Foreign)
	}
	if got, want := len(snap.Roles), before-len(roles); got != want || len(rep.Runs) != 0 {
		t.Errorf("%d roles left, want %d; runs deleted %+v", got, want, rep.Runs)
	}
}

// An impostor is deleted whatever the filter; an expired run still goes
// only when the filter takes it, and an impostor sharing a live run's id
// takes nothing of that run with it.
func TestSweepImpostorBesideALiveRun(t *testing.T) {
	t.Parallel()
	s := fakeaws.NewServer()
	defer s.Close()
	c := client(s, 3)
	ctx := context.Background()
	p := plan(t, "separate")
	if _, err := provision.Up(ctx, c, p, provision.Options{}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tags := []types.Tag{{Key: aws.String(run.TagManaged), Value: aws.String("true")}, {Key: aws.String(run.TagRunID), Value: aws.String(p.RunID)}, {Key: aws.String(run.TagExpiresAt), Value: aws.String("9999-12-31T23:59:59Z")}}
	if _, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(p.BuildRole.Name + "-x"), Path: aws.String("/buildrole/"), AssumeRolePolicyDocument: aws.String(ownTrust), Tags: tags}); err != nil {
		t.Fatal(err)
	}
	// A bootstrap role IAM does not list: sweep says what it cannot check,
	// and checks the rest.
	g := genuine
	g.BootstrapRole = "arn:aws:iam::" + account + ":role/missing"
	rep, err := provision.Sweep(ctx, c, provision.Filter{Path: "/buildrole/", Genuine: g, PR: "7", Repository: "acme/images", Now: now}, provision.SweepOptions{})
	if err != nil || len(rep.Impostors) != 1 || len(rep.Runs) != 0 || len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], "role/missing") {
		t.Fatalf("%v: %+v", err, rep)
	}
	if got := len(leftovers(s)); got != 3 {
		t.Errorf("%d of the live run's resources left, want 3: %v", got, leftovers(s))
	}
}

// up's look: one listing of the path names the roles whose trust
// buildrole never writes, within the bootstrap's reach.
func TestSuspects(t *testing.T) {
	t.Parallel()
	s := fakeaws.NewServer()
	defer s.Close()
	c := client(s, 3)
	now := time.Now()
	live(t, c)
	for _, p := range plantedRoles(now)[:2] {
		plant(t, s, c, p, now)
	}
	// Under the path, outside the prefix: not the bootstrap's to create.
	s.AddRole("other-role", "/buildrole/", plantedRoles(now)[0].trust)
	got, err := provision.Suspects(context.Background(), c, "/buildrole/", "buildrole", genuine)
	if err != nil || len(got) != 2 || got[0].Name != "/buildrole/buildrole-any-repository" || !strings.Contains(got[1].Why, "999999999999") {
		t.Fatalf("%v: %+v", err, got)
	}
	// With the bootstrap role's trust, another repository's exact subject
	// too; without it (not found), what the form shows, and why not more.
	plant(t, s, c, plantedRoles(now)[5], now) // another environment
	g := genuine
	g.BootstrapRole = s.AddRole("buildrole-bootstrap", "/", bootstrapTrust)
	if got, err = provision.Suspects(context.Background(), c, "/buildrole/", "buildrole", g); err != nil || len(got) != 3 || !strings.Contains(got[2].Why, "does not admit") {
		t.Fatalf("%v: %+v", err, got)
	}
	g.BootstrapRole += "-gone"
	if got, err = provision.Suspects(context.Background(), c, "/buildrole/", "buildrole", g); err == nil || !strings.Contains(err.Error(), "bootstrap role") || len(got) != 2 {
		t.Fatalf("%v: %+v", err, got)
	}
}

// A managed role whose policies the bootstrap role may not list cannot be
// vouched for: it is left alone and reported, not taken for a run.
func TestSweepLeavesRolesWithUnreadablePolicies(t *testing.T) {
	t.Parallel()
	s := fakeaws.NewServer()
	defer s.Close()
	c := client(s, 3)
	expired, _ := leak(t, s, c, 2)
	s.InjectFault(fakeaws.Fault{Action: "ListRolePolicies", Code: "AccessDenied", Status: 403})
	rep, err := provision.Sweep(context.Background(), c, provision.Filter{Path: "/buildrole/", Genuine: genuine, Expired: true, Now: time.Now()}, provision.SweepOptions{})
	if err != nil || len(expired) != 1 {
		t.Fatalf("%v, %d expired", err, len(expired))
	}
	if len(rep.Unreadable) != 4 || rep.UnreadableErr == nil || len(rep.Impostors) != 0 {
		t.Errorf("unreadable %v (%v), impostors %+v", rep.Unreadable, rep.UnreadableErr, rep.Impostors)
	}
	if n := len(s.Snapshot().Roles); n != 4 {
		t.Errorf("%d roles left, want all 4", n)
	}
}

// Two bootstrap roles on one path (one per repository): each sweep keeps
// the other's live runs, which trust a repository its own bootstrap role
// does not name, and warns of them by name, as of a plant trusting a fork,
// which this trust cannot tell from them.
func TestSweepTwoBootstrapsOnOnePath(t *testing.T) {
	t.Parallel()
	s := fakeaws.NewServer()
	defer s.Close()
	c := client(s, 3)
	ctx := context.Background()
	now := time.Now()
	mine := live(t, c)
	other := planted{name: "buildrole-other-live", trust: strings.Replace(ownTrust, "repo:acme/images:pull_request", "repo:acme/other:ref:refs/heads/main", 1)}
	fork := planted{name: "buildrole-fork", trust: strings.Replace(ownTrust, "repo:acme/images:pull_request", "repo:evil/fork:ref:refs/heads/main", 1)}
	for _, p := range []planted{other, fork} {
		plant(t, s, c, p, now)
	}
	g := genuine
	g.BootstrapRole = s.AddRole("buildrole-bootstrap", "/", bootstrapTrust)
	s.AddRole("buildrole-bootstrap-other", "/", strings.Replace(bootstrapTrust, "acme/images", "acme/other", -1))
	before := len(s.Snapshot().Roles)
	rep, err := provision.Sweep(ctx, c, provision.Filter{Path: "/buildrole/", Genuine: g, Expired: true, Now: now}, provision.SweepOptions{})
	if err != nil || len(rep.Impostors) != 0 || len(rep.Runs) != 0 || len(s.Snapshot().Roles) != before {
		t.Fatalf("%v: %+v", err, rep)
	}
	warned := strings.Join(rep.Warnings, "\n")
	for _, want := range []string{"role buildrole-fork ", "repo:evil/fork", "role buildrole-other-live ", "repo:acme/other", "shares path /buildrole/", "sweep --run-id 0badc0de-0000-4000-8000-000000000000"} {
		if !strings.Contains(warned, want) {
			t.Errorf("warnings do not name %q: %s", want, warned)
		}
	}
	for name := range mine {
		if strings.Contains(warned, "role "+name+" ") {
			t.Errorf("own run %s warned about: %s", name, warned)
		}
	}
	// The other repository's sweep warns of this one's job-token runs, and
	// keeps them (its chain-mode runs, trusting a session of this
	// bootstrap role, it takes for planted: docs/ADMIN.md, section 4).
	g.BootstrapRole = strings.Replace(g.BootstrapRole, "buildrole-bootstrap", "buildrole-bootstrap-other", 1)
	rep, err = provision.Sweep(ctx, c, provision.Filter{Path: "/buildrole/", Genuine: g, Expired: true, Now: now}, provision.SweepOptions{DryRun: true})
	if err != nil || len(rep.Runs) != 0 || !strings.Contains(strings.Join(rep.Warnings, "\n"), "repo:acme/images:pull_request") {
		t.Fatalf("%v: %+v", err, rep)
	}
	for _, imp := range rep.Impostors {
		if why := strings.Join(imp.Why, "; "); !strings.Contains(why, "no session of the bootstrap role") && !strings.Contains(why, "which buildrole did not write") {
			t.Errorf("%s %s: %s", imp.Kind, imp.Name, why)
		}
	}
}

// The runner's clock writes expires-at and IAM's sets CreateDate: a run
// with ttl = max-ttl made on a runner up to an hour ahead is buildrole's.
func TestSweepKeepsARunAheadOfIAMsClock(t *testing.T) {
	t.Parallel()
	s := fakeaws.NewServer()
	defer s.Close()
	c := client(s, 3)
	now := time.Now()
	ahead := 30 * time.Minute
	fresh := planted{name: "buildrole-ahead", trust: ownTrust, created: now, expires: now.Add(run.DefaultMaxTTL + ahead).UTC().Format(time.RFC3339)}
	created := now.Add(-run.DefaultMaxTTL - 20*time.Minute)
	old := planted{name: "buildrole-ahead-old", trust: ownTrust, created: created, expires: created.Add(run.DefaultMaxTTL + ahead).UTC().Format(time.RFC3339)}
	for _, p := range []planted{fresh, old} {
		plant(t, s, c, p, now)
	}
	rep, err := provision.Sweep(context.Background(), c, provision.Filter{Path: "/buildrole/", Genuine: genuine, Expired: true, Now: now}, provision.SweepOptions{})
	if err != nil || len(rep.Impostors) != 0 || len(s.Snapshot().Roles) != 2 {
		t.Fatalf("%v: impostors %+v", err, rep.Impostors)
	}
}
