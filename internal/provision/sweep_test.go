package provision_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"golang.org/x/sync/errgroup"

	"github.com/buildrole/buildrole/internal/fakeaws"
	"github.com/buildrole/buildrole/internal/provision"
	"github.com/buildrole/buildrole/internal/run"
)

// genuine is what buildrole writes in the fake account.
var genuine = provision.Genuine{Partition: "aws", AccountID: account, MaxTTL: run.DefaultMaxTTL}

// leak creates n runs as a killed runner would leave them; every other one
// has expired.
func leak(t testing.TB, s *fakeaws.Server, c *iam.Client, n int) (expired, live map[string]bool) {
	t.Helper()
	expired, live = map[string]bool{}, map[string]bool{}
	var mu sync.Mutex
	var g errgroup.Group
	g.SetLimit(16)
	for i := 0; i < n; i++ {
		g.Go(func() error {
			p := plan(t, "separate")
			p.RunID = fmt.Sprintf("%08d-0000-4000-8000-%012d", i, i)
			for j := range p.Tags {
				switch p.Tags[j].Key {
				case run.TagRunID:
					p.Tags[j].Value = p.RunID
				case run.TagExpiresAt:
					if i%2 == 0 {
						p.Tags[j].Value = time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
					}
				}
			}
			suffix := fmt.Sprintf("-%08d", i)
			p.BuildRole.Name += suffix
			p.InstanceRole.Name += suffix
			p.InstanceProfile.Name = p.InstanceRole.Name
			p.InstanceProfile.Role = p.InstanceRole.Name
			if _, err := provision.Up(context.Background(), c, p, provision.Options{}); err != nil {
				return err
			}
			mu.Lock()
			if i%2 == 0 {
				expired[p.RunID] = true
			} else {
				live[p.RunID] = true
			}
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	return expired, live
}

// foreign creates what sweep must never touch.
func foreign(t testing.TB, c *iam.Client) []string {
	t.Helper()
	ctx := context.Background()
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	past := time.Now().Add(-48 * time.Hour).UTC().Format(time.RFC3339)
	managed := []types.Tag{{Key: aws.String(run.TagManaged), Value: aws.String("true")}, {Key: aws.String(run.TagRunID), Value: aws.String("foreign")}, {Key: aws.String(run.TagExpiresAt), Value: aws.String(past)}}
	roles := []struct {
		name, path string
		tags       []types.Tag
	}{
		{"buildrole-untagged-same-path", "/buildrole/", nil},
		{"buildrole-managed-elsewhere", "/other/", managed},
		{"buildrole-managed-false", "/buildrole/", []types.Tag{{Key: aws.String(run.TagManaged), Value: aws.String("false")}, {Key: aws.String(run.TagExpiresAt), Value: aws.String(past)}}},
		{"buildrole-images-pr42-deadbeef", "/", managed},
		{"buildrole-sub-path", "/buildrolex/", managed},
	}
	var names []string
	for _, r := range roles {
		if _, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(r.name), Path: aws.String(r.path), AssumeRolePolicyDocument: aws.String(trust), Tags: r.tags}); err != nil {
			t.Fatal(err)
		}
		names = append(names, r.name)
	}
	if _, err := c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("buildrole-untagged-profile"), Path: aws.String("/buildrole/")}); err != nil {
		t.Fatal(err)
	}
	return append(names, "buildrole-untagged-profile")
}

func TestSweepDeletesExactlyTheExpiredRuns(t *testing.T) {
	t.Parallel()
	s := fakeaws.NewServer()
	defer s.Close()
	c := client(s, 8)
	expired, live := leak(t, s, c, 500)
	keep := foreign(t, c)
	// An orphaned instance profile of an expired run whose roles are gone.
	for _, p := range s.Snapshot().InstanceProfiles {
		if strings.HasSuffix(p.Name, "-00000000") {
			_, _ = c.RemoveRoleFromInstanceProfile(context.Background(), &iam.RemoveRoleFromInstanceProfileInput{InstanceProfileName: aws.String(p.Name), RoleName: aws.String(p.Roles[0])})
		}
	}
	s.InjectFault(fakeaws.Fault{Action: "ListRoleTags", Nth: 3, Times: 2, Code: "Throttling", Status: 400})
	s.InjectFault(fakeaws.Fault{Action: "DeleteRole", Nth: 10, Times: 3, Code: "Throttling", Status: 400})
	s.InjectFault(fakeaws.Fault{Action: "DeleteInstanceProfile", Nth: 5, Times: 2, Code: "Throttling", Status: 400})

	rep, err := provision.Sweep(context.Background(), c, provision.Filter{Path: "/buildrole/", Genuine: genuine, Expired: true, Now: time.Now()}, provision.SweepOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Runs) != len(expired) {
		t.Fatalf("swept %d runs, want %d", len(rep.Runs), len(expired))
	}
	snap := s.Snapshot()
	left := map[string]bool{}
	for _, r := range snap.Roles {
		left[r.Name] = true
		if id := r.Tags[run.TagRunID]; expired[id] {
			t.Errorf("expired role %s survived", r.Name)
		}
	}
	for _, p := range snap.InstanceProfiles {
		left[p.Name] = true
		if id := p.Tags[run.TagRunID]; expired[id] {
			t.Errorf("expired profile %s survived", p.Name)
		}
	}
	for _, name := range keep {
		if !left[name] {
			t.Errorf("foreign %s was deleted", name)
		}
	}
	liveRoles := 0
	for _, r := range snap.Roles {
		if live[r.Tags[run.TagRunID]] {
			liveRoles++
		}
	}
	if liveRoles != 2*len(live) {
		t.Errorf("live roles = %d, want %d", liveRoles, 2*len(live))
	}
	if rep.Foreign < 2 {
		t.Errorf("foreign count = %d", rep.Foreign)
	}
}

func TestSweepFiltersAndDryRun(t *testing.T) {
	t.Parallel()
	s := fakeaws.NewServer()
	defer s.Close()
	c := client(s, 3)
	expired, _ := leak(t, s, c, 6)
	var one string
	for id := range expired {
		one = id
		break
	}
	before := len(s.Snapshot().Roles)
	rep, err := provision.Sweep(context.Background(), c, provision.Filter{Path: "/buildrole/", Genuine: genuine, RunID: one, Now: time.Now()}, provision.SweepOptions{DryRun: true})
	if err != nil || len(rep.Runs) != 1 || rep.Runs[0].Status != "would-delete" || len(s.Snapshot().Roles) != before {
		t.Fatalf("dry run: %+v %v", rep, err)
	}
	rep, err = provision.Sweep(context.Background(), c, provision.Filter{Path: "/buildrole/", Genuine: genuine, RunID: one, Now: time.Now()}, provision.SweepOptions{})
	if err != nil || len(rep.Runs) != 1 || len(s.Snapshot().Roles) != before-2 {
		t.Fatalf("run-id sweep: %+v %v", rep, err)
	}
	rep, err = provision.Sweep(context.Background(), c, provision.Filter{Path: "/buildrole/", Genuine: genuine, PR: "41", Now: time.Now()}, provision.SweepOptions{})
	if err != nil || len(rep.Runs) != 0 {
		t.Fatalf("pr 41 matched: %+v %v", rep, err)
	}
	rep, err = provision.Sweep(context.Background(), c, provision.Filter{Path: "/buildrole/", Genuine: genuine, PR: "42", Repository: "ACME/images", Now: time.Now()}, provision.SweepOptions{})
	if err != nil || len(rep.Runs) != 5 || len(s.Snapshot().Roles) != 0 {
		t.Fatalf("pr 42 sweep: %d runs, %d roles left, %v", len(rep.Runs), len(s.Snapshot().Roles), err)
	}
}

// BenchmarkSweep reports deletions per second against a throttled,
// latency-injected fakeaws and the AWS calls per deleted run, with bounded
// concurrency (8) side by side with one run at a time.
func BenchmarkSweep(b *testing.B) {
	const runs = 50
	var conc, seq time.Duration
	calls := 0
	for i := 0; i < b.N; i++ {
		for _, limit := range []int{8, 1} {
			b.StopTimer()
			s := fakeaws.NewServer()
			c := client(s, 8)
			leak(b, s, c, runs)
			s.SetLatency(5 * time.Millisecond)
			s.InjectFault(fakeaws.Fault{Action: "DeleteRole", Nth: 7, Times: 3, Code: "Throttling", Status: 400})
			s.ResetRequests()
			b.StartTimer()
			start := time.Now()
			rep, err := provision.Sweep(context.Background(), c, provision.Filter{Path: "/buildrole/", Genuine: genuine, Repository: "acme/images", Now: time.Now()}, provision.SweepOptions{Concurrency: limit})
			elapsed := time.Since(start)
			b.StopTimer()
			if err != nil || len(rep.Runs) != runs {
				b.Fatalf("%d runs, %v", len(rep.Runs), err)
			}
			if limit == 1 {
				seq += elapsed
			} else {
				conc += elapsed
				calls += len(s.Requests())
			}
			s.Close()
		}
	}
	n := float64(b.N)
	b.ReportMetric(runs*n/conc.Seconds(), "runs-deleted/s")
	b.ReportMetric(runs*n/seq.Seconds(), "seq-runs-deleted/s")
	b.ReportMetric(seq.Seconds()/conc.Seconds(), "speedup")
	b.ReportMetric(float64(calls)/(runs*n), "calls/run")
}

// A resource under the path whose tags the bootstrap role may not read is
// left alone, and the sweep goes on.
func TestSweepSkipsUnreadableResources(t *testing.T) {
	t.Parallel()
	s := fakeaws.NewServer()
	defer s.Close()
	c := client(s, 3)
	leak(t, s, c, 2)
	s.InjectFault(fakeaws.Fault{Action: "ListRoleTags", Code: "AccessDenied", Status: 403})
	rep, err := provision.Sweep(context.Background(), c, provision.Filter{Path: "/buildrole/", Genuine: genuine, Expired: true, Now: time.Now()}, provision.SweepOptions{})
	if err != nil {
		t.Fatalf("sweep stopped: %v", err)
	}
	if rep.Foreign != 4 {
		t.Errorf("foreign = %d, want the 4 unreadable roles", rep.Foreign)
	}
	if n := len(s.Snapshot().Roles); n != 4 {
		t.Errorf("%d roles left, want all 4 (unreadable, so untouched)", n)
	}
}
