package stsauth

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
)

// What is known of IAM's eventual consistency shapes the polls: a new
// role's trust policy is seldom honoured within a second, usually within
// several seconds, now and then only after a minute. So the first poll
// goes out at once (the change may be visible already), the second 1 s
// after the change, and each later one a step after the previous that
// keeps the overshoot small relative to the time waited: 26 % of it up to
// 0.5 s, then 9 % (up to 2 s) once that is affordable. Whatever the steps
// say, poll n never goes out before n × 0.5 s after the first answer: at
// most 2 calls per second waited, after the first, however long that first
// call took to arrive.
const (
	secondPoll  = time.Second
	minInterval = 500 * time.Millisecond
	maxStep     = 2 * time.Second
)

// step is the gap after a poll made t after the change.
func step(t time.Duration) time.Duration {
	return min(max(t*9/100, min(t*26/100, minInterval)), maxStep)
}

// due is when poll n (from 0) goes out, measured from the wait's start;
// prev is when poll n-1 was due, first when poll 0 was answered, and
// offset how long before the wait the change was made.
func due(n int, prev, first, offset time.Duration) time.Duration {
	if n == 0 {
		return 0
	}
	next := secondPoll - offset
	if n > 1 {
		next = prev + step(prev+offset)
	}
	return max(next, first+time.Duration(n)*minInterval)
}

// Check is a change IAM propagates: a poll tells whether it shows yet.
type Check struct {
	// What names it in progress reports and errors, e.g. `instance
	// profile "x"`.
	What string
	// Poll returns nil once the change shows, an error made by NotYet while
	// it does not, and any other error to end the wait.
	Poll func(ctx context.Context) error
}

type notYet struct{ err error }

func (e notYet) Error() string { return e.err.Error() }
func (e notYet) Unwrap() error { return e.err }

// NotYet marks err, a refusal IAM's propagation will end, as worth
// polling again.
func NotYet(err error) error { return notYet{err} }

// Progress reports a wait that has not ended.
type Progress struct {
	Waiting []string // the Check.What of each change not showing yet
	Elapsed time.Duration
}

// String is a log line: what is awaited, and for how long.
func (p Progress) String() string {
	what := strings.Join(p.Waiting, ", ")
	if n := len(p.Waiting); n > 1 {
		what = strings.Join(p.Waiting[:n-1], ", ") + " and " + p.Waiting[n-1]
	}
	if p.Elapsed < time.Second {
		return "waiting for IAM to propagate " + what
	}
	return fmt.Sprintf("waiting for IAM to propagate %s (%s so far)", what, p.Elapsed.Round(time.Second))
}

// Wait polls each check on the schedule above, concurrently, until all
// show, one fails, ctx ends or maxWait (default Options.PropagationTimeout)
// passes. since is when the changes were made (zero: now). It reports
// progress through Options.Progress, and returns how long it waited.
func Wait(ctx context.Context, o Options, since time.Time, maxWait time.Duration, checks ...Check) (time.Duration, error) {
	maxWait = orDefault(orDefault(maxWait, o.PropagationTimeout), 60*time.Second)
	every := orDefault(o.ProgressEvery, 5*time.Second)
	start := o.now()
	offset := max(start.Sub(since), 0)
	if since.IsZero() {
		offset = 0
	}
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		i   int
		err error
	}
	results := make(chan result, len(checks))
	refused := make(chan struct{}, len(checks))
	for i, c := range checks {
		go func() {
			results <- result{i, poll(ctx, o, c, start, offset, maxWait, refused)}
		}()
	}
	pending := make([]bool, len(checks))
	for i := range pending {
		pending[i] = true
	}
	report := func() {
		if o.Progress == nil {
			return
		}
		p := Progress{Elapsed: o.now().Sub(start)}
		for i, c := range checks {
			if pending[i] {
				p.Waiting = append(p.Waiting, c.What)
			}
		}
		o.Progress(p)
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	errs := make([]error, len(checks))
	failed, stopped := false, false
	for left, announced := len(checks), false; left > 0; {
		select {
		case r := <-results:
			left--
			pending[r.i] = false
			if stopped {
				break // stopped by the failure below, not failed itself
			}
			errs[r.i] = r.err
			var te timeoutError
			if r.err != nil {
				failed = true
				// A check that timed out leaves the others their last look
				// at the same deadline; any other failure ends the wait.
				if !errors.As(r.err, &te) {
					stopped = true
					cancel()
				}
			}
		case <-refused:
			// The first refusal opens the wait in the log.
			if !announced && !failed {
				announced = true
				report()
			}
		case <-tick.C:
			if !failed {
				report()
			}
		}
	}
	if parent.Err() != nil {
		return o.now().Sub(start), fmt.Errorf("wait for IAM to propagate: %w", context.Cause(parent))
	}
	return o.now().Sub(start), errors.Join(errs...)
}

// timeoutError is a check still refused when the wait ran out.
type timeoutError struct {
	what   string
	waited time.Duration
	last   error
}

func (e timeoutError) Error() string {
	return fmt.Sprintf("gave up waiting for %s after %s: %v", e.what, e.waited.Round(time.Millisecond), e.last)
}
func (e timeoutError) Unwrap() error { return e.last }

// poll runs one check's schedule.
func poll(ctx context.Context, o Options, c Check, start time.Time, offset, maxWait time.Duration, refused chan<- struct{}) error {
	var prev, first, notBefore time.Duration
	var last error
	throttled := 0
	for n := 0; ; n++ {
		at := max(due(n, prev, first, offset), notBefore)
		if n > 0 && at > maxWait {
			// One last look at the deadline, if the budget allows it.
			if prev >= maxWait || first+time.Duration(n)*minInterval > maxWait || notBefore > maxWait {
				return timeoutError{c.What, o.now().Sub(start), last}
			}
			at = maxWait
		}
		if err := sleepUntil(ctx, o, start.Add(at)); err != nil {
			return fmt.Errorf("%s: %w", c.What, err)
		}
		// The next step counts from when this poll was due, not from when
		// a busy machine woke it: late wake-ups must not add up.
		prev = at
		err := c.Poll(ctx)
		if n == 0 {
			first = o.now().Sub(start)
		}
		var ny notYet
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return fmt.Errorf("%s: %w", c.What, context.Cause(ctx))
		case errors.As(err, &ny):
			last = ny.err
			throttled = 0
			select {
			case refused <- struct{}{}:
			default:
			}
		case isThrottle(err):
			// Honour it: back off, doubling, on top of the schedule.
			last = err
			throttled++
			notBefore = o.now().Sub(start) + throttleDelay(o, throttled)
		default:
			return err
		}
	}
}

// throttleDelay is the pause after the n-th throttled poll in a row:
// RetryBaseDelay doubling up to RetryMaxDelay, at least half of it.
func throttleDelay(o Options, n int) time.Duration {
	base := orDefault(o.RetryBaseDelay, time.Second)
	limit := orDefault(o.RetryMaxDelay, 20*time.Second)
	d := base << min(n-1, 20)
	if d > limit || d <= 0 {
		d = limit
	}
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

func sleepUntil(ctx context.Context, o Options, t time.Time) error {
	d := t.Sub(o.now())
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-timer.C:
		return nil
	}
}

func isThrottle(err error) bool {
	return retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) == aws.TrueTernary
}

// throttlesNotRetried leaves throttling to the wait's own back-off, so
// that every STS call of the wait follows its budget.
type throttlesNotRetried struct{ aws.Retryer }

func (r throttlesNotRetried) IsErrorRetryable(err error) bool {
	return !isThrottle(err) && r.Retryer.IsErrorRetryable(err)
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
