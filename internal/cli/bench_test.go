package cli_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/buildrole/buildrole/internal/cli"
	"github.com/buildrole/buildrole/internal/stsauth"
)

var benchTable = flag.String("bench-table", "", "write BenchmarkUsersWait's table to this file instead of stdout")

// The grid: propagation P (how long STS refuses a new role, and IAM hides a
// new profile) by round trip L. 1, 5 and 15 s span what IAM usually takes;
// 1.7 s falls between two polls where the budget of 2 STS calls per second
// spaces them most (1.59 s and 2 s after the change). The cells of a run
// wait side by side, so a run lasts about as long as the slowest baseline
// (32 s at 15 s).
var (
	benchPropagation = []time.Duration{time.Second, 1700 * time.Millisecond, 5 * time.Second, 15 * time.Second}
	benchLatency     = []time.Duration{5 * time.Millisecond, 30 * time.Millisecond, 100 * time.Millisecond}
)

const (
	cellGap      = 300 * time.Millisecond // between the starts of cells
	sideGap      = 100 * time.Millisecond // between buildrole's start and the others'
	sweepRuns    = 20
	sweepLatency = 30 * time.Millisecond
	providerARN  = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
)

// sample is one measurement, side by side in the same run: buildrole, the
// physical minimum and the baseline.
type sample struct {
	got, min, base time.Duration
	attempts       int     // STS calls on the build role
	perSecond      float64 // of them after the first, per second between the first and the last
}

type row struct {
	what string
	p, l time.Duration
}

// BenchmarkUsersWait measures what users wait for, end to end, each beside
// the physical minimum and a baseline in the same run, and prints one table
// of ratios (b.N repetitions; the table gives medians and the spread):
//
//   - `buildrole up` in-process against fakeaws with round trip L and
//     propagation P. Minimum: P plus the five round trips nothing can
//     overlap (OIDC token, bootstrap, create, attach, assume), timed on the
//     same kind of server. Baseline: the order of packer-plugin-amazon's
//     step_iam_instance_profile.go, one call at a time, with the SDK's
//     1-second waiters (create profile, wait, create role, wait, put
//     policy, add role; then the build role, and its assume retried every
//     second).
//   - `buildrole down`. Minimum: token, bootstrap, the build role for
//     EC2's teardown, EC2's listing, the reads that prove the resources
//     are the run's, detach, delete.
//     Baseline: the same calls one at a time, as Packer's cleanup makes them.
//   - `buildrole sweep` of 20 leaked runs. Minimum: six round trips (token,
//     bootstrap, list, tags, detach, delete), every run at once. Baseline:
//     the same calls one at a time.
func BenchmarkUsersWait(b *testing.B) {
	results := map[row][]sample{}
	var order []row
	add := func(r row, s sample) {
		if _, ok := results[r]; !ok {
			order = append(order, r)
		}
		results[r] = append(results[r], s)
	}
	ctx := context.Background()
	// The fake speaks plain HTTP, and GitHub's runners set no CA bundle:
	// parsing this machine's would cost buildrole, and not the others,
	// 10 ms of CPU a run.
	b.Setenv("AWS_CA_BUNDLE", "")
	type cell struct {
		r      row
		worlds [3]*world
		got    sample
		err    error
	}
	// Cells start apart, so that their CPU-bound starts (parsing, signing)
	// do not queue on this machine's two cores; then they wait side by side.
	run := func(cells []*cell, measure func(*cell)) {
		var wg sync.WaitGroup
		for i, c := range cells {
			if i > 0 {
				time.Sleep(cellGap)
			}
			wg.Go(func() { measure(c) })
		}
		wg.Wait()
		for _, c := range cells {
			if c.err != nil {
				b.Fatalf("%s, P %s, L %s: %v", c.r.what, c.r.p, c.r.l, c.err)
			}
			add(c.r, c.got)
		}
	}
	for range b.N {
		var ups, downs []*cell
		for _, p := range benchPropagation {
			for _, l := range benchLatency {
				ups = append(ups, &cell{r: row{"up", p, l}, worlds: [3]*world{benchWorld(b, l, p), benchWorld(b, l, 0), benchWorld(b, l, p)}})
			}
		}
		run(ups, func(c *cell) { c.got, c.err = benchUp(ctx, c.worlds, c.r.p) })
		for _, l := range benchLatency {
			c := &cell{r: row{"down", 0, l}, worlds: [3]*world{leakedWorld(b, l, 1), benchWorld(b, l, 0), leakedWorld(b, l, 1)}}
			c.worlds[0].postEnv()
			c.worlds[2].postEnv()
			downs = append(downs, c)
		}
		run(downs, func(c *cell) { c.got, c.err = benchDown(ctx, c.worlds) })
		sweep := &cell{r: row{"sweep", 0, sweepLatency}, worlds: [3]*world{leakedWorld(b, sweepLatency, sweepRuns), benchWorld(b, sweepLatency, 0), leakedWorld(b, sweepLatency, sweepRuns)}}
		run([]*cell{sweep}, func(c *cell) { c.got, c.err = benchSweep(ctx, c.worlds) })
	}
	table := renderTable(order, results, b.N)
	if *benchTable != "" {
		if err := os.WriteFile(*benchTable, []byte(table), 0o644); err != nil {
			b.Fatal(err)
		}
		return
	}
	fmt.Print(table)
}

// benchWorld is a fake account with round trip l and propagation p whose
// issuer key is made before anything is timed.
func benchWorld(b *testing.B, l, p time.Duration) *world {
	w := newWorld(b)
	if _, err := w.srv.MintToken("sts.amazonaws.com"); err != nil {
		b.Fatal(err)
	}
	// The SDK's own back-off, as in a job; no test shortcuts.
	w.tune = func(o *stsauth.Options) { o.RetryBaseDelay, o.RetryMaxDelay = 0, 0 }
	w.srv.SetLatency(l)
	w.srv.SetPropagationDelay(p)
	return w
}

// leakedWorld holds n runs made by `up` without latency, then takes l.
func leakedWorld(b *testing.B, l time.Duration, n int) *world {
	w := benchWorld(b, 0, 0)
	for range n {
		if code, out, _ := w.run(context.Background(), "up"); code != cli.ExitOK {
			b.Fatalf("up: %s", out)
		}
	}
	w.srv.SetLatency(l)
	return w
}

// benchUp times up, the minimum and the Packer-order baseline at once.
func benchUp(ctx context.Context, w [3]*world, p time.Duration) (sample, error) {
	var s sample
	var errs [3]error
	var wg sync.WaitGroup
	wg.Go(func() {
		start := time.Now()
		code, out, _ := w[0].run(ctx, "up")
		s.got = time.Since(start)
		if code != cli.ExitOK {
			errs[0] = fmt.Errorf("exit %d: %s", code, out)
		}
	})
	time.Sleep(sideGap)
	wg.Go(func() {
		var rt time.Duration
		rt, errs[1] = fiveRoundTrips(ctx, w[1])
		s.min = p + rt
	})
	wg.Go(func() { s.base, errs[2] = packerOrderUp(ctx, w[2]) })
	wg.Wait()
	var starts []time.Time
	for _, c := range w[0].srv.Requests() {
		if c.Action == "AssumeRoleWithWebIdentity" && c.Params.Get("RoleArn") != w[0].bootstrapARN {
			starts = append(starts, c.Start)
		}
	}
	slices.SortFunc(starts, func(a, b time.Time) int { return a.Compare(b) })
	s.attempts = len(starts)
	if n := len(starts); n > 1 {
		s.perSecond = float64(n-1) / starts[n-1].Sub(starts[0]).Seconds()
	}
	return s, errors.Join(errs[:]...)
}

// benchDown times down, the same calls one at a time, and the round trips
// of the minimum.
func benchDown(ctx context.Context, w [3]*world) (sample, error) {
	var s sample
	var errs [3]error
	var wg sync.WaitGroup
	timeDown := func(w *world, d *time.Duration, err *error) {
		start := time.Now()
		code, out, _ := w.run(ctx, "down")
		*d = time.Since(start)
		if left := w.leftovers(); code != cli.ExitOK || len(left) > 0 {
			*err = fmt.Errorf("exit %d, left %v: %s", code, left, out)
		}
	}
	w[2].tune = serially(w[2].tune)
	wg.Go(func() { timeDown(w[0], &s.got, &errs[0]) })
	time.Sleep(sideGap)
	wg.Go(func() { timeDown(w[2], &s.base, &errs[2]) })
	wg.Go(func() {
		var rt time.Duration
		rt, errs[1] = fiveRoundTrips(ctx, w[1])
		// token, bootstrap, the build role for EC2, EC2's listing (its
		// four lists at once), ownership reads, detach, delete
		s.min = rt * 7 / 5
	})
	wg.Wait()
	return s, errors.Join(errs[:]...)
}

// benchSweep times sweep, the same calls one at a time, and the minimum.
func benchSweep(ctx context.Context, w [3]*world) (sample, error) {
	var s sample
	var errs [3]error
	var rt time.Duration
	var wg sync.WaitGroup
	w[2].tune = serially(w[2].tune)
	wg.Go(func() { s.got, errs[0] = timeSweep(ctx, w[0]) })
	time.Sleep(sideGap)
	wg.Go(func() { s.base, errs[2] = timeSweep(ctx, w[2]) })
	wg.Go(func() { rt, errs[1] = fiveRoundTrips(ctx, w[1]) })
	wg.Wait()
	// Token, bootstrap, list, tags, detach, delete: with every run's calls
	// at once (sweep keeps 8 runs in flight, for IAM's rate limits).
	s.min = 6 * rt / 5
	return s, errors.Join(errs[:]...)
}

func timeSweep(ctx context.Context, w *world) (time.Duration, error) {
	w.srv.ResetRequests()
	var out, errb bytes.Buffer
	start := time.Now()
	code := cli.Main(ctx, []string{"buildrole", "sweep", "--aws-region", "us-east-1", "--role-to-assume", w.bootstrapARN}, cli.Env{
		Getenv: w.getenv, Stdout: &out, Stderr: &errb,
		// Past the runs' 6 h TTL, so the default filter (expired) takes them all.
		Now: func() time.Time { return time.Now().Add(7 * time.Hour) },
		AWS: func(o *stsauth.Options) {
			o.EndpointURL = w.srv.URL()
			w.tune(o)
		},
	})
	d := time.Since(start)
	if left := w.leftovers(); code != cli.ExitOK || len(left) > 0 {
		return d, fmt.Errorf("exit %d, left %d: %s%s", code, len(left), out.String(), errb.String())
	}
	return d, nil
}

// serially makes every AWS call of a run wait for the one before it.
func serially(tune func(*stsauth.Options)) func(*stsauth.Options) {
	client := &http.Client{Transport: &serialTransport{rt: http.DefaultTransport}}
	return func(o *stsauth.Options) {
		tune(o)
		o.HTTPClient = client
	}
}

type serialTransport struct {
	mu sync.Mutex
	rt http.RoundTripper
}

func (t *serialTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	resp, err := t.rt.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	// The call ends when its response has been read.
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, err
}

// fetchToken asks the runner's token service, one round trip.
func fetchToken(ctx context.Context, w *world) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.srv.TokenRequestURL()+"&audience=sts.amazonaws.com", nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+w.srv.TokenRequestToken())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var v struct{ Value string }
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return "", err
	}
	return v.Value, nil
}

func awsConfig(w *world, creds aws.CredentialsProvider) aws.Config {
	return aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(w.srv.URL()), Credentials: creds}
}

// bootstrapSession is the token and the bootstrap session: two round
// trips. The IAM calls after it go as the account's administrator: what is
// timed is round trips, and the bootstrap policy wants buildrole's tags and
// boundary on everything it creates.
func bootstrapSession(ctx context.Context, w *world) (string, *iam.Client, error) {
	tok, err := fetchToken(ctx, w)
	if err != nil {
		return "", nil, err
	}
	_, err = sts.NewFromConfig(awsConfig(w, aws.AnonymousCredentials{})).AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(w.bootstrapARN), RoleSessionName: aws.String("bench"), WebIdentityToken: aws.String(tok),
	})
	if err != nil {
		return "", nil, err
	}
	return tok, iamClient(w), nil
}

const (
	webTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + providerARN + `"},` +
		`"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com","token.actions.githubusercontent.com:sub":"repo:acme/images:pull_request"}}}]}`
	ec2Trust    = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	benchPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:DescribeImages","Resource":"*"}]}`
)

// fiveRoundTrips makes the calls of up's critical path one after another,
// against a server without propagation: token, bootstrap, create, attach,
// assume. The best of three, so that a stall on this shared machine does
// not lower the ratios.
func fiveRoundTrips(ctx context.Context, w *world) (time.Duration, error) {
	best := time.Duration(0)
	for i := range 3 {
		d, err := fiveRoundTripsOnce(ctx, w, fmt.Sprintf("floor-%d", i))
		if err != nil {
			return 0, err
		}
		if best == 0 || d < best {
			best = d
		}
	}
	return best, nil
}

func fiveRoundTripsOnce(ctx context.Context, w *world, role string) (time.Duration, error) {
	start := time.Now()
	tok, c, err := bootstrapSession(ctx, w)
	if err != nil {
		return 0, err
	}
	name := aws.String(role)
	out, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: name, AssumeRolePolicyDocument: aws.String(webTrust)})
	if err != nil {
		return 0, err
	}
	if _, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: name, PolicyName: name, PolicyDocument: aws.String(benchPolicy)}); err != nil {
		return 0, err
	}
	if err := assumeWeb(ctx, w, out.Role.Arn, tok); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

func assumeWeb(ctx context.Context, w *world, arn *string, tok string) error {
	_, err := sts.NewFromConfig(awsConfig(w, aws.AnonymousCredentials{})).AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: arn, RoleSessionName: aws.String("bench"), WebIdentityToken: aws.String(tok),
	})
	return err
}

// packerOrderUp makes up's resources in the order of packer-plugin-amazon's
// step_iam_instance_profile.go, one call at a time, waiting as the SDK's
// InstanceProfileExists and RoleExists waiters do (at once, then every
// second), then the build role, whose assume is retried every second.
func packerOrderUp(ctx context.Context, w *world) (time.Duration, error) {
	start := time.Now()
	tok, c, err := bootstrapSession(ctx, w)
	if err != nil {
		return 0, err
	}
	vm, build := aws.String("baseline-vm"), aws.String("baseline")
	path := aws.String("/buildrole/")
	// A role as the step makes it: create, wait until IAM shows it, policy.
	role := func(name *string, trust string) []func() error {
		return []func() error{
			func() error {
				_, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: name, Path: path, AssumeRolePolicyDocument: aws.String(trust)})
				return err
			},
			everySecond(ctx, "NoSuchEntity", func() error { _, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: name}); return err }),
			func() error {
				_, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: name, PolicyName: name, PolicyDocument: aws.String(benchPolicy)})
				return err
			},
		}
	}
	steps := slices.Concat([]func() error{
		func() error {
			_, err := c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: vm, Path: path})
			return err
		},
		everySecond(ctx, "NoSuchEntity", func() error {
			_, err := c.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: vm})
			return err
		}),
	}, role(vm, ec2Trust), []func() error{
		func() error {
			_, err := c.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: vm, RoleName: vm})
			return err
		},
	}, role(build, webTrust), []func() error{
		everySecond(ctx, "AccessDenied", func() error {
			return assumeWeb(ctx, w, aws.String("arn:aws:iam::123456789012:role/buildrole/baseline"), tok)
		}),
	})
	for _, step := range steps {
		if err := step(); err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}

// everySecond retries call while it fails with code, a second apart.
func everySecond(ctx context.Context, code string, call func() error) func() error {
	return func() error {
		for {
			err := call()
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != code {
				return err
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Second):
			}
		}
	}
}

// renderTable prints medians, and each ratio's spread over the runs.
func renderTable(order []row, results map[row][]sample, runs int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| end to end | P | round trip | buildrole | minimum | buildrole ÷ minimum | baseline | baseline ÷ buildrole | STS calls on the build role |\n")
	fmt.Fprintf(&b, "|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range order {
		ss := results[r]
		what, p, sts := "up", fmt.Sprint(r.p), ""
		switch r.what {
		case "down":
			what, p = "down", "—"
		case "sweep":
			what, p = fmt.Sprintf("sweep, %d runs", sweepRuns), "—"
		}
		if r.what == "up" {
			most := slices.MaxFunc(ss, func(a, b sample) int { return cmp.Compare(a.perSecond, b.perSecond) })
			sts = fmt.Sprintf("%.0f (%.1f/s)", median(ss, func(s sample) float64 { return float64(s.attempts) }), most.perSecond)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", what, p, r.l,
			seconds(ss, func(s sample) float64 { return s.got.Seconds() }),
			seconds(ss, func(s sample) float64 { return s.min.Seconds() }),
			spread(ss, func(s sample) float64 { return float64(s.got) / float64(s.min) }),
			seconds(ss, func(s sample) float64 { return s.base.Seconds() }),
			spread(ss, func(s sample) float64 { return float64(s.base) / float64(s.got) }),
			sts)
	}
	fmt.Fprintf(&b, "\nMedians of %d runs; ratios as median (lowest–highest). STS calls: median count, and the most\nafter the first per second between the first and the last.\n", runs)
	return b.String()
}

func median(ss []sample, f func(sample) float64) float64 {
	v := make([]float64, len(ss))
	for i, s := range ss {
		v[i] = f(s)
	}
	slices.Sort(v)
	if n := len(v); n%2 == 0 {
		return (v[n/2-1] + v[n/2]) / 2
	}
	return v[len(v)/2]
}

func seconds(ss []sample, f func(sample) float64) string {
	return fmt.Sprintf("%.3f s", median(ss, f))
}

func spread(ss []sample, f func(sample) float64) string {
	lo := slices.MinFunc(ss, func(a, b sample) int { return cmp.Compare(f(a), f(b)) })
	hi := slices.MaxFunc(ss, func(a, b sample) int { return cmp.Compare(f(a), f(b)) })
	if len(ss) == 1 {
		return fmt.Sprintf("%.2f×", f(lo))
	}
	return fmt.Sprintf("%.2f× (%.2f–%.2f)", median(ss, f), f(lo), f(hi))
}

// BenchmarkBurst: burstRuns jobs open at once in one account whose IAM
// admits burstRate calls a second (each job's up, then its post step):
// how many succeed, the wall time against the admitted calls ÷ the rate,
// and the throttled answers per admitted call. With -bench-table the table
// is appended to that file.
func BenchmarkBurst(b *testing.B) {
	const burstRuns, burstRate = 60, 10.0
	b.Setenv("AWS_CA_BUNDLE", "")
	var rows []string
	for range b.N {
		res := burst(context.Background(), b, burstRuns, burstRate)
		rows = append(rows, fmt.Sprintf("| %d | %.0f/s | %d | %d | %d | %.1f s | %.1f s | %.2f× | %.2f |", res.runs, burstRate, res.ups, res.downs, len(res.left),
			res.wall.Seconds(), res.ideal(burstRate).Seconds(), float64(res.wall)/float64(res.ideal(burstRate)), res.retriesPerCall()))
		for _, f := range res.failures {
			b.Log(f)
		}
	}
	table := "\n| burst: runs | IAM rate | ups done | downs done | left in IAM | wall time | admitted IAM calls ÷ rate | ratio | throttled per admitted call |\n|---|---|---|---|---|---|---|---|---|\n" + strings.Join(rows, "\n") + "\n"
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
