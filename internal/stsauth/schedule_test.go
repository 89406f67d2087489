package stsauth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// polls lists when poll makes its polls, from the wait's start, if the
// first is answered after first and every one is refused.
func polls(offset, first, until time.Duration) []time.Duration {
	var out []time.Duration
	var prev time.Duration
	for n := 0; prev < until; n++ {
		prev = due(n, prev, first, offset)
		out = append(out, prev)
	}
	return out
}

// After the first, at most 2 polls per second waited, counted from the
// first answer, wherever the change was made relative to the wait.
func TestScheduleBudget(t *testing.T) {
	t.Parallel()
	for _, offset := range []time.Duration{0, 10 * time.Millisecond, 300 * time.Millisecond, 2 * time.Second} {
		for _, first := range []time.Duration{0, 5 * time.Millisecond, 150 * time.Millisecond} {
			ps := polls(offset, first, 2*time.Minute)
			for n := 1; n < len(ps); n++ {
				if ps[n]-ps[0] < first+time.Duration(n)*minInterval {
					t.Fatalf("offset %s, first answer after %s: poll %d at %s", offset, first, n, ps[n])
				}
			}
		}
	}
}

// The overshoot: for a change that shows P after it was made, the first
// poll at or after P. Within 10 % from 5 s on; below, the budget of 2
// polls per second allows no better than about 26 %, a little worse when
// the wait starts well after the change (offset: up's two IAM round trips).
func TestScheduleOvershoot(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		offset time.Duration
		early  float64 // limit below 5 s
	}{{0, 1.27}, {10 * time.Millisecond, 1.27}, {100 * time.Millisecond, 1.32}, {200 * time.Millisecond, 1.38}} {
		ps := polls(tc.offset, 0, 2*time.Minute)
		i := 0
		for p := time.Second; p <= 60*time.Second; p += time.Millisecond {
			for ps[i]+tc.offset < p {
				i++
			}
			ratio := float64(ps[i]+tc.offset) / float64(p)
			limit := tc.early
			if p >= 5*time.Second {
				limit = 1.10
			}
			if p >= 22*time.Second {
				limit = 1 + float64(maxStep)/float64(p) // steps stop growing at 2 s
			}
			if ratio > limit {
				t.Fatalf("offset %s: propagation %s is seen at %s (%.3f×), over %.2f×", tc.offset, p, ps[i]+tc.offset, ratio, limit)
			}
		}
	}
	// A change already visible is seen at once; the second look is 1 s
	// after the change.
	if ps := polls(200*time.Millisecond, 0, time.Second); ps[0] != 0 || ps[1] != 800*time.Millisecond {
		t.Errorf("first polls %v, want 0 and 800ms", ps[:2])
	}
}

// A failure other than a refusal ends the wait at once, and only it is
// reported: not the cancellation of the other checks.
func TestWaitStopsOnFailure(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	never := Check{What: "never", Poll: func(context.Context) error { return NotYet(errors.New("not yet")) }}
	fails := Check{What: "fails", Poll: func(context.Context) error { return boom }}
	_, err := Wait(context.Background(), Options{}, time.Time{}, time.Hour, never, fails)
	if !errors.Is(err, boom) || strings.Contains(err.Error(), "cancel") {
		t.Errorf("err = %v, want only boom", err)
	}
}

// A cancelled wait says so once.
func TestWaitCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	polled := make(chan struct{}, 1)
	never := func(string) Check {
		return Check{What: "x", Poll: func(context.Context) error {
			select {
			case polled <- struct{}{}:
			default:
			}
			return NotYet(errors.New("not yet"))
		}}
	}
	go func() { <-polled; cancel() }()
	_, err := Wait(ctx, Options{}, time.Time{}, time.Hour, never("a"), never("b"))
	if !errors.Is(err, context.Canceled) || strings.Count(err.Error(), "canceled") != 1 {
		t.Errorf("err = %v", err)
	}
}

// When the next poll would come after MaxWait, the wait looks once more at
// the deadline before it gives up.
func TestWaitLooksAtTheDeadline(t *testing.T) {
	t.Parallel()
	start := time.Now()
	var at []time.Duration
	never := Check{What: "never", Poll: func(context.Context) error {
		at = append(at, time.Since(start))
		return NotYet(errors.New("not yet"))
	}}
	_, err := Wait(context.Background(), Options{}, time.Time{}, 700*time.Millisecond, never)
	if err == nil || !strings.Contains(err.Error(), "gave up waiting for never") {
		t.Fatalf("err = %v", err)
	}
	if len(at) != 2 || at[1] < 700*time.Millisecond {
		t.Errorf("polls at %v, want at once and at 700ms", at)
	}
}
