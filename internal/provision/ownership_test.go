package provision_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/buildrole/buildrole/internal/fakeaws"
	"github.com/buildrole/buildrole/internal/provision"
	"github.com/buildrole/buildrole/internal/run"
)

// everything lists every role (with its inline policies) and profile (with
// its roles) of the account, to prove what a teardown left untouched.
func everything(s *fakeaws.Server) []string {
	var out []string
	snap := s.Snapshot()
	for _, r := range snap.Roles {
		out = append(out, "role "+r.Path+r.Name+" policies="+strings.Join(slices.Sorted(maps.Keys(r.InlinePolicies)), ","))
	}
	for _, p := range snap.InstanceProfiles {
		out = append(out, "instance-profile "+p.Path+p.Name+" roles="+strings.Join(p.Roles, ","))
	}
	slices.Sort(out)
	return out
}

func tagList(kv ...string) []types.Tag {
	var out []types.Tag
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, types.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return out
}

// A state can name anything; down deletes only what carries the state's
// path, the managed tag and the state's run id, and says why it left the
// rest alone.
func TestDownDeletesOnlyItsOwnRun(t *testing.T) {
	t.Parallel()
	s := fakeaws.NewServer()
	defer s.Close()
	c := client(s, 3)
	ctx := context.Background()
	mine, other := plan(t, "separate"), plan(t, "separate")
	for _, p := range []*run.Plan{mine, other} {
		if _, err := provision.Up(ctx, c, p, provision.Options{}); err != nil {
			t.Fatal(err)
		}
	}
	trust := mine.BuildRole.Trust.JSON()
	mk := func(name, path string, tags []types.Tag) {
		t.Helper()
		if _, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), Path: aws.String(path), AssumeRolePolicyDocument: aws.String(trust), Tags: tags}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(run.BuildPolicyName), PolicyDocument: aws.String(mine.BuildRole.Policy.JSON())}); err != nil {
			t.Fatal(err)
		}
	}
	mk("Admin", "/", tagList("buildrole:managed", "true", "buildrole:run-id", mine.RunID))
	mk("untagged", "/buildrole/", nil)
	mk("unmanaged", "/buildrole/", tagList("buildrole:managed", "false", "buildrole:run-id", mine.RunID))
	before := everything(s)

	cases := []struct {
		name string
		st   run.State
		why  string
	}{
		{"foreign admin role at /", run.State{RunID: mine.RunID, Path: "/buildrole/", Role: "Admin", BuildPolicy: run.BuildPolicyName}, "path / is not under /buildrole/"},
		{"untagged role", run.State{RunID: mine.RunID, Path: "/buildrole/", Role: "untagged", BuildPolicy: run.BuildPolicyName}, "not tagged buildrole:managed=true"},
		{"managed=false", run.State{RunID: mine.RunID, Path: "/buildrole/", Role: "unmanaged", BuildPolicy: run.BuildPolicyName}, "not tagged buildrole:managed=true"},
		{"another live run", withRunID(other.State(), mine.RunID), "another run's"},
	}
	for _, tc := range cases {
		rep, err := provision.Down(ctx, c, tc.st, provision.Options{})
		if err == nil {
			t.Errorf("%s: down succeeded; it must fail when the state names what is not its own", tc.name)
		}
		if len(rep.Failed()) == 0 || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("%s: err = %v, outcomes %+v; want %q", tc.name, err, rep.Outcomes, tc.why)
		}
		for _, o := range rep.Outcomes {
			if o.Status == provision.StatusDeleted {
				t.Errorf("%s: deleted %s %s", tc.name, o.Kind, o.Name)
			}
		}
		if got := everything(s); !slices.Equal(got, before) {
			t.Fatalf("%s: the account changed:\nbefore %v\nafter  %v", tc.name, before, got)
		}
	}
	// Its own state removes exactly its own run.
	if _, err := provision.Down(ctx, c, mine.State(), provision.Options{}); err != nil {
		t.Fatal(err)
	}
	for _, r := range everything(s) {
		if strings.Contains(r, "-"+mine.RunID[:8]) {
			t.Errorf("own run left: %s", r)
		}
	}
	if n := len(everything(s)); n != len(before)-3 {
		t.Errorf("down removed %d resources, want the run's 3", len(before)-n)
	}
}

func withRunID(s run.State, id string) run.State {
	s.RunID = id
	return s
}

// A role of the run that sits in someone else's instance profile is not
// taken out of it: that would change a resource that is not the run's.
func TestDownLeavesForeignProfilesAlone(t *testing.T) {
	t.Parallel()
	s := fakeaws.NewServer()
	defer s.Close()
	c := client(s, 3)
	ctx := context.Background()
	p := plan(t, "separate")
	if _, err := provision.Up(ctx, c, p, provision.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("prod"), Path: aws.String("/")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("prod"), RoleName: aws.String(p.BuildRole.Name)}); err != nil {
		t.Fatal(err)
	}
	rep, err := provision.Down(ctx, c, p.State(), provision.Options{})
	if err == nil || !strings.Contains(err.Error(), `instance profile "prod", which is not this run's`) {
		t.Fatalf("down = %v; want it to refuse to touch the foreign profile\n%+v\n%v", err, rep.Outcomes, everything(s))
	}
	for _, pr := range s.Snapshot().InstanceProfiles {
		if pr.Name == "prod" && !slices.Contains(pr.Roles, p.BuildRole.Name) {
			t.Errorf("the foreign profile was changed: %+v", pr)
		}
	}
	if got := rep.Resources(provision.StatusDeleted); got != 2 {
		t.Errorf("deleted %d resources, want the instance role and the profile: %+v", got, rep.Outcomes)
	}
}

// Up told to stop while creates are still held up on the network cannot
// know whether they will land: it says so, naming them, and down waits for
// them before it deletes and before the state is forgotten.
func TestUnknownOutcomeIsReportedAndWaitedFor(t *testing.T) {
	t.Parallel()
	s := fakeaws.NewServer()
	defer s.Close()
	c := client(s, 1)
	p := plan(t, "separate")
	s.SetActionDelivery("CreateRole", 500*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for s.Started("CreateRole") < 2 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	_, err := provision.Up(ctx, c, p, provision.Options{InFlightTimeout: 20 * time.Millisecond})
	var unknown *provision.UnknownOutcomeError
	if !errors.As(err, &unknown) {
		t.Fatalf("up = %v; want an unknown outcome", err)
	}
	var pend []string
	for _, r := range unknown.Pending {
		pend = append(pend, r.Kind.IAMType()+"/"+r.Name)
	}
	slices.Sort(pend)
	if want := []string{"role/" + p.BuildRole.Name, "role/" + p.InstanceRole.Name}; !slices.Equal(pend, want) {
		t.Fatalf("pending = %v, want %v", pend, want)
	}
	if !strings.Contains(err.Error(), "may still appear") {
		t.Errorf("message %q does not say the roles may still appear", err)
	}
	st := p.State()
	st.Pending, st.PendingSince = unknown.Pending, unknown.Since
	if _, err := run.StateFromMap(st.Map()); err != nil {
		t.Fatalf("the pending state does not read back: %v", err)
	}
	var lines []string
	rep, err := provision.Down(context.Background(), c, st, provision.Options{PendingWindow: 10 * time.Second, Progress: func(f string, a ...any) { lines = append(lines, f) }})
	if err != nil {
		t.Fatalf("down: %v %+v", err, rep.Outcomes)
	}
	if got := leftovers(s); len(got) != 0 {
		t.Fatalf("the late creates were left behind: %v", got)
	}
	if rep.Resources(provision.StatusDeleted) != 2 || len(lines) == 0 {
		t.Errorf("outcomes %+v, progress %v", rep.Outcomes, lines)
	}
}

// A delete whose answer is lost is retried by the SDK; the retry's
// NoSuchEntity means the first attempt deleted it. That is success at once,
// not "not visible yet" to be waited out.
func TestLostDeleteAnswerIsSuccessAtOnce(t *testing.T) {
	t.Parallel()
	for _, action := range []string{"DeleteRole", "DeleteInstanceProfile"} {
		t.Run(action, func(t *testing.T) {
			t.Parallel()
			s := fakeaws.NewServer()
			defer s.Close()
			c := client(s, 3)
			p := plan(t, "separate")
			if _, err := provision.Up(context.Background(), c, p, provision.Options{}); err != nil {
				t.Fatal(err)
			}
			s.InjectFault(fakeaws.Fault{Action: action, Nth: 1, Drop: true, AfterApply: true})
			rep, err := provision.Down(context.Background(), c, p.State(), provision.Options{Fresh: true})
			if err != nil {
				t.Fatalf("down: %v", err)
			}
			want := 2 // the dropped attempt and its retry
			if action == "DeleteRole" {
				want = 3 // and the other role
			}
			if n := s.CountCalls(action); n != want {
				t.Errorf("%s calls = %d, want %d: NoSuchEntity after the lost answer was waited out", action, n, want)
			}
			if rep.Resources(provision.StatusDeleted) != 3 {
				t.Errorf("outcomes: %+v", rep.Outcomes)
			}
		})
	}
}

// A read that lags behind the create (IAM is eventually consistent) is not
// "already gone" while the resource may still appear: down waits for it, as
// up saved it pending, and deletes it.
func TestDownRightAfterUpWaitsOutALaggingRead(t *testing.T) {
	t.Parallel()
	s := fakeaws.NewServer()
	defer s.Close()
	c := client(s, 1)
	p := plan(t, "none")
	st := p.SavedState(time.Now())
	if _, err := provision.Up(context.Background(), c, p, provision.Options{}); err != nil {
		t.Fatal(err)
	}
	s.InjectFault(fakeaws.Fault{Action: "GetRole", Nth: 1, Times: 2, Code: "NoSuchEntity", Status: 404, Message: "The role with name x cannot be found."})
	rep, err := provision.Down(context.Background(), c, st, provision.Options{PendingWindow: 10 * time.Second})
	if err != nil || len(leftovers(s)) != 0 || rep.Resources(provision.StatusDeleted) != 1 {
		t.Fatalf("down = %v, outcomes %+v, left %v", err, rep.Outcomes, leftovers(s))
	}
}

// The wait for what may still appear is bounded from now, whatever the
// state's clock said.
func TestPendingWaitIsBoundedFromNow(t *testing.T) {
	t.Parallel()
	s := fakeaws.NewServer()
	defer s.Close()
	c := client(s, 1)
	p := plan(t, "none")
	st := p.SavedState(time.Now().Add(time.Hour))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rep, err := provision.Down(ctx, c, st, provision.Options{PendingWindow: 1500 * time.Millisecond})
	if err != nil || rep.Resources(provision.StatusAbsent) != 1 {
		t.Fatalf("down = %v, outcomes %+v", err, rep.Outcomes)
	}
}

// A read refused while IAM's authorization still lags behind the create,
// followed by a listing that already shows the role: the lag has caught
// up, so down reads once more and deletes, instead of leaving the role
// unconfirmed.
func TestDownRereadsWhatTheListingShows(t *testing.T) {
	t.Parallel()
	s := fakeaws.NewServer()
	defer s.Close()
	c := client(s, 1)
	p := plan(t, "none")
	if _, err := provision.Up(context.Background(), c, p, provision.Options{}); err != nil {
		t.Fatal(err)
	}
	s.InjectFault(fakeaws.Fault{Action: "GetRole", Nth: 1, Code: "AccessDenied", Status: 403})
	rep, err := provision.Down(context.Background(), c, p.State(), provision.Options{})
	if err != nil || len(leftovers(s)) != 0 || rep.Resources(provision.StatusDeleted) != 1 {
		t.Fatalf("down = %v, outcomes %+v, left %v", err, rep.Outcomes, leftovers(s))
	}
	if n := s.CountCalls("GetRole"); n != 2 {
		t.Errorf("GetRole called %d times, want the refused read and one more", n)
	}
}

// A pending resource that up saw exist (confirmed) is gone when IAM says
// NoSuchEntity: no wait. One up never saw is waited for as before, a state
// without the confirmed key included, with reads that back off: about ten
// over the default 60 s window, not one a second.
func TestDownWaitsOnlyForWhatUpNeverSaw(t *testing.T) {
	t.Parallel()
	s := fakeaws.NewServer()
	defer s.Close()
	c := client(s, 1)
	p := plan(t, "none") // the build role alone, gone already
	st := p.SavedState(time.Now())
	confirmed := st
	confirmed.Confirmed = confirmed.Resources()
	start := time.Now()
	rep, err := provision.Down(context.Background(), c, confirmed, provision.Options{})
	if err != nil || rep.Resources(provision.StatusAbsent) != 1 {
		t.Fatalf("down = %v, outcomes %+v", err, rep.Outcomes)
	}
	if took, n := time.Since(start), s.CountCalls("GetRole"); n != 1 || took > 2*time.Second {
		t.Errorf("confirmed and gone: %d reads in %s, want 1 and no wait", n, took)
	}

	s.ResetRequests()
	rep, err = provision.Down(context.Background(), c, st, provision.Options{PendingWindow: 4 * time.Second})
	if err != nil || rep.Resources(provision.StatusAbsent) != 1 {
		t.Fatalf("down = %v, outcomes %+v", err, rep.Outcomes)
	}
	// The window (from the saved second) waited out with reads 0.5, 1, 2 s
	// apart, then one at its end: five at most.
	end := st.PendingSince.Add(4 * time.Second)
	if early, n := time.Until(end), s.CountCalls("GetRole"); early > 100*time.Millisecond || n > 5 {
		t.Errorf("never seen: %d reads, done %s before the window's end; want it waited out with at most 5", n, early)
	}
}
