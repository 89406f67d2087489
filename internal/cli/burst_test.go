package cli_test

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/buildrole/buildrole/internal/cli"
	"github.com/buildrole/buildrole/internal/stsauth"
)

// job is another job of the same account: its own runner files, the same
// fake AWS.
func (w *world) job(i int) *world {
	w.t.Helper()
	j := &world{t: w.t, srv: w.srv, bootstrapARN: w.bootstrapARN, dir: filepath.Join(w.dir, fmt.Sprintf("job%d", i)), tune: w.tune}
	if err := os.Mkdir(j.dir, 0o755); err != nil {
		w.t.Fatal(err)
	}
	w.mu.Lock()
	j.vars = maps.Clone(w.vars)
	w.mu.Unlock()
	for _, f := range []string{"GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_STATE", "GITHUB_STEP_SUMMARY"} {
		path := filepath.Join(j.dir, strings.ToLower(f))
		if err := os.WriteFile(path, nil, 0o644); err != nil {
			w.t.Fatal(err)
		}
		j.vars[f] = path
	}
	return j
}

// burstResult is what a burst of runs measured.
type burstResult struct {
	runs, ups, downs int           // started, and succeeded
	wall             time.Duration // from the first up's start to the last down's end
	calls            int           // IAM calls IAM admitted
	throttled        int           // IAM calls answered Throttling
	failures         []string      // what a failed run said
	left             []string      // what the burst left in IAM
}

// ideal is the least wall time the admitted calls need at rate r a second.
func (b burstResult) ideal(r float64) time.Duration {
	return time.Duration(float64(b.calls) / r * float64(time.Second))
}

func (b burstResult) retriesPerCall() float64 {
	if b.calls == 0 {
		return 0
	}
	return float64(b.throttled) / float64(b.calls)
}

// burst runs n jobs at once against one account whose IAM admits r calls a
// second: each job's up, then its post step, as the runner runs them, with
// the SDK's own backoff.
func burst(ctx context.Context, t testing.TB, n int, r float64) burstResult {
	w := newWorld(t)
	w.tune = func(o *stsauth.Options) { o.RetryBaseDelay, o.RetryMaxDelay = 0, 0 }
	jobs := make([]*world, n)
	for i := range jobs {
		jobs[i] = w.job(i)
	}
	w.srv.SetThrottle("iam", r, 0)
	res := burstResult{runs: n}
	var mu sync.Mutex
	fail := func(i int, step string, code int, out string) {
		mu.Lock()
		defer mu.Unlock()
		res.failures = append(res.failures, fmt.Sprintf("job %d %s: exit %d: %s", i, step, code, lastLines(out, 6)))
	}
	start := time.Now()
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Go(func() {
			code, out, _ := j.run(ctx, "up")
			if code != cli.ExitOK {
				fail(i, "up", code, out)
				return
			}
			mu.Lock()
			res.ups++
			mu.Unlock()
			j.postEnv()
			code, out, _ = j.run(ctx, "down")
			if code != cli.ExitOK {
				fail(i, "down", code, out)
				return
			}
			mu.Lock()
			res.downs++
			mu.Unlock()
		})
	}
	wg.Wait()
	res.wall = time.Since(start)
	for _, c := range w.srv.Requests() {
		switch {
		case c.Service != "iam":
		case c.ErrorCode == "Throttling":
			res.throttled++
		default:
			res.calls++
		}
	}
	res.left = w.leftovers()
	return res
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// TestBurst: twenty jobs at once against an IAM that admits 10 calls a
// second; none fails for it, and nothing is left. (make bench measures 60.)
func TestBurst(t *testing.T) {
	if testing.Short() {
		t.Skip("a burst takes about 40 s of throttled IAM")
	}
	t.Parallel() // IAM's rate, not this machine, sets its pace
	res := burst(context.Background(), t, 20, 10)
	t.Logf("%d runs: %d ups, %d downs in %s (admitted calls ÷ rate: %s), %.2f retries per call", res.runs, res.ups, res.downs, res.wall.Round(time.Millisecond), res.ideal(10), res.retriesPerCall())
	for _, f := range res.failures {
		t.Error(f)
	}
	if len(res.left) > 0 {
		t.Errorf("left behind: %v", res.left)
	}
}
