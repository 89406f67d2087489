package provision_test

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/buildrole/buildrole/internal/fakeaws"
	"github.com/buildrole/buildrole/internal/provision"
)

// benchLatency is a plausible IAM round trip from a runner.
const benchLatency = 25 * time.Millisecond

// depth is the number of sequential round trips in a call log: the longest
// chain of calls each starting after the previous one ended.
func depth(calls []fakeaws.Call) int {
	sort.Slice(calls, func(i, j int) bool { return calls[i].Start.Before(calls[j].Start) })
	d := make([]int, len(calls))
	best := 0
	for i, c := range calls {
		d[i] = 1
		for j := 0; j < i; j++ {
			if !calls[j].End.After(c.Start) && d[j]+1 > d[i] {
				d[i] = d[j] + 1
			}
		}
		best = max(best, d[i])
	}
	return best
}

type measured struct {
	wall         time.Duration
	calls, depth int
}

func measure(b *testing.B, s *fakeaws.Server, fn func() error) measured {
	b.Helper()
	s.ResetRequests()
	start := time.Now()
	if err := fn(); err != nil {
		b.Fatal(err)
	}
	wall := time.Since(start)
	calls := s.Requests()
	return measured{wall, len(calls), depth(calls)}
}

// BenchmarkUpDown runs up and down concurrently and strictly sequentially,
// side by side in the same iterations, against fakeaws with benchLatency
// per call, and reports calls, critical-path depth and the wall-time ratio.
func BenchmarkUpDown(b *testing.B) {
	s := fakeaws.NewServer()
	defer s.Close()
	s.SetLatency(benchLatency)
	c := client(s, 3)
	ctx := context.Background()
	var up, upSeq, down, downSeq measured
	for i := 0; i < b.N; i++ {
		for _, seq := range []bool{false, true} {
			p := plan(b, "separate", "instance-policy", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/*"}]}`)
			opt := provision.Options{Sequential: seq}
			u := measure(b, s, func() error { _, err := provision.Up(ctx, c, p, opt); return err })
			d := measure(b, s, func() error { _, err := provision.Down(ctx, c, p.State(), opt); return err })
			if seq {
				upSeq, downSeq = add(upSeq, u), add(downSeq, d)
			} else {
				up, down = add(up, u), add(down, d)
			}
		}
	}
	n := float64(b.N)
	b.ReportMetric(float64(up.calls)/n, "up-calls/op")
	b.ReportMetric(float64(up.depth)/n, "up-depth/op")
	b.ReportMetric(float64(upSeq.depth)/n, "up-seq-depth/op")
	b.ReportMetric(float64(up.wall.Milliseconds())/n, "up-ms/op")
	b.ReportMetric(float64(upSeq.wall.Milliseconds())/n, "up-seq-ms/op")
	b.ReportMetric(float64(upSeq.wall)/float64(up.wall), "up-speedup")
	b.ReportMetric(float64(down.calls)/n, "down-calls/op")
	b.ReportMetric(float64(down.depth)/n, "down-depth/op")
	b.ReportMetric(float64(downSeq.depth)/n, "down-seq-depth/op")
	b.ReportMetric(float64(down.wall.Milliseconds())/n, "down-ms/op")
	b.ReportMetric(float64(downSeq.wall.Milliseconds())/n, "down-seq-ms/op")
	b.ReportMetric(float64(downSeq.wall)/float64(down.wall), "down-speedup")
}

func add(a, b measured) measured {
	return measured{a.wall + b.wall, a.calls + b.calls, a.depth + b.depth}
}
