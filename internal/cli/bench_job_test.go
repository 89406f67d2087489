package cli_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/buildrole/buildrole/internal/cli"
	"github.com/buildrole/buildrole/internal/stsauth"
)

// The job: up, other work (checkout, packer init, plugin downloads), then
// the build, whose first call is an EC2 call.
var jobPropagation = []time.Duration{2 * time.Second, 5 * time.Second, 10 * time.Second}

const (
	jobOtherWork = 3 * time.Second
	jobLatency   = 30 * time.Millisecond
	// jobRuns per iteration: run with -benchtime 1x, since go test runs a
	// benchmark once before any larger count, and the table is appended.
	jobRuns = 3
)

// ec2First is a build's start on the AWS SDK for Go v2: the default
// configuration, then ec2:DescribeRegions (Packer's region check).
func ec2First() int {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err == nil {
		_, err = ec2.NewFromConfig(cfg).DescribeRegions(ctx, &ec2.DescribeRegionsInput{})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ec2first:", err)
		return 1
	}
	return 0
}

type jobSample struct {
	newJob, newUp time.Duration // export-credentials false, then exec
	oldJob, oldUp time.Duration // up waits and exports keys
	rt5           time.Duration // five round trips, the floor's unit
}

// BenchmarkJobTime measures a job end to end: from up's start to the
// build's first successful EC2 call, with jobOtherWork between the steps,
// for each propagation P, side by side on servers of their own:
//
//   - new path: up with export-credentials false (no wait), the other
//     work, then exec serving a command (ec2First) whose credential
//     request waits for the trust and the profile to propagate;
//   - old path: up waits for propagation and exports keys, the other
//     work, then the same command with those keys;
//   - minimum: max(P, five round trips + the other work) + the call (one
//     round trip); and up's own time against five round trips + 0.5 s.
//
// jobRuns times each iteration. With -bench-table the table is appended
// to that file.
func BenchmarkJobTime(b *testing.B) {
	b.Setenv("AWS_CA_BUNDLE", "")
	ctx := context.Background()
	results := map[time.Duration][]jobSample{}
	for range b.N * jobRuns {
		for _, p := range jobPropagation {
			var s jobSample
			var errs [3]error
			fresh, old, floor := benchWorld(b, jobLatency, p), benchWorld(b, jobLatency, p), benchWorld(b, jobLatency, 0)
			fresh.set("INPUT_EXPORT-CREDENTIALS", "false")
			var wg sync.WaitGroup
			wg.Go(func() { s.newJob, s.newUp, errs[0] = jobNewPath(ctx, b, fresh) })
			time.Sleep(sideGap)
			wg.Go(func() { s.oldJob, s.oldUp, errs[1] = jobOldPath(ctx, b, old) })
			time.Sleep(sideGap)
			wg.Go(func() { s.rt5, errs[2] = fiveRoundTrips(ctx, floor) })
			wg.Wait()
			if err := errors.Join(errs[:]...); err != nil {
				b.Fatalf("P %s: %v", p, err)
			}
			results[p] = append(results[p], s)
		}
	}
	table := renderJobTable(results, b.N*jobRuns)
	if *benchTable != "" {
		f, err := os.OpenFile(*benchTable, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteString(table); err != nil {
			b.Fatal(err)
		}
		return
	}
	fmt.Print(table)
}

// jobNewPath: up returns at once, the other work, then exec serves
// ec2First the build role's credentials.
func jobNewPath(ctx context.Context, b *testing.B, w *world) (job, up time.Duration, err error) {
	start := time.Now()
	if up, err = timedUp(ctx, w); err != nil {
		return 0, 0, err
	}
	time.Sleep(jobOtherWork)
	for k, v := range w.file("GITHUB_ENV") {
		w.set(k, v)
	}
	environ := append(os.Environ(), helperVar+"=1", "AWS_ENDPOINT_URL="+w.srv.URL(), "HOME="+b.TempDir())
	for k, v := range w.vars {
		environ = append(environ, k+"="+v)
	}
	var out, errb bytes.Buffer
	code := cli.Main(ctx, []string{"buildrole", "exec", "--", testBinary(b), "ec2first"}, cli.Env{
		Getenv: w.getenv, Stdout: &out, Stderr: &errb, Stdin: strings.NewReader(""),
		Environ: func() []string { return environ },
		AWS: func(o *stsauth.Options) {
			o.EndpointURL = w.srv.URL()
			w.tune(o)
		},
	})
	if code != 0 {
		return 0, 0, fmt.Errorf("new path: exec exit %d: %s%s", code, out.String(), errb.String())
	}
	job, err = firstEC2(w, start)
	return job, up, err
}

// jobOldPath: up waits and exports keys, the other work, then ec2First
// with those keys.
func jobOldPath(ctx context.Context, b *testing.B, w *world) (job, up time.Duration, err error) {
	start := time.Now()
	if up, err = timedUp(ctx, w); err != nil {
		return 0, 0, err
	}
	time.Sleep(jobOtherWork)
	cmd := exec.Command(testBinary(b), "ec2first")
	cmd.Env = append(os.Environ(), helperVar+"=1", "AWS_ENDPOINT_URL="+w.srv.URL(), "HOME="+b.TempDir(), "AWS_PROFILE=",
		"AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent")
	for k, v := range w.file("GITHUB_ENV") {
		if strings.HasPrefix(k, "AWS_") {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, 0, fmt.Errorf("old path: %v: %s", err, out)
	}
	job, err = firstEC2(w, start)
	return job, up, err
}

func timedUp(ctx context.Context, w *world) (time.Duration, error) {
	start := time.Now()
	code, out, errs := w.run(ctx, "up")
	if code != cli.ExitOK {
		return 0, fmt.Errorf("up exit %d: %s%s", code, out, errs)
	}
	return time.Since(start), nil
}

// firstEC2 is the time from start to the end of the first EC2 call the
// server answered with success.
func firstEC2(w *world, start time.Time) (time.Duration, error) {
	var first time.Time
	for _, c := range w.srv.Requests() {
		if c.Service == "ec2" && c.Status == 200 && (first.IsZero() || c.End.Before(first)) {
			first = c.End
		}
	}
	if first.IsZero() {
		return 0, errors.New("no successful EC2 call")
	}
	return first.Sub(start), nil
}

func renderJobTable(results map[time.Duration][]jobSample, runs int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n| job: P | other work | round trip | new path (exec) | old path (up waits) | minimum | new ÷ minimum | old − new | up, new path | 5 round trips + 0.5 s |\n")
	fmt.Fprintf(&b, "|---|---|---|---|---|---|---|---|---|---|\n")
	for _, p := range jobPropagation {
		ss := results[p]
		// As samples, so the medians and spreads of bench_test.go apply.
		var v []sample
		for _, s := range ss {
			minimum := max(p, s.rt5+jobOtherWork) + s.rt5/5
			v = append(v, sample{got: s.newJob, min: minimum, base: s.oldJob})
		}
		ups := make([]sample, len(ss))
		for i, s := range ss {
			ups[i] = sample{got: s.newUp, min: s.rt5 + 500*time.Millisecond}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", p, jobOtherWork, jobLatency,
			seconds(v, func(s sample) float64 { return s.got.Seconds() }),
			seconds(v, func(s sample) float64 { return s.base.Seconds() }),
			seconds(v, func(s sample) float64 { return s.min.Seconds() }),
			spread(v, func(s sample) float64 { return float64(s.got) / float64(s.min) }),
			seconds(v, func(s sample) float64 { return (s.base - s.got).Seconds() }),
			seconds(ups, func(s sample) float64 { return s.got.Seconds() }),
			seconds(ups, func(s sample) float64 { return s.min.Seconds() }))
	}
	fmt.Fprintf(&b, "\nMedians of %d runs; the ratio as median (lowest–highest). Job: from up's start to the end of the\nfirst successful EC2 call. Minimum: max(P, 5 round trips + other work) + the call.\n", runs)
	return b.String()
}
