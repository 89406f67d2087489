package provision

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go"
	"github.com/buildrole/buildrole/internal/awsfacts"
	"github.com/buildrole/buildrole/internal/run"
	"golang.org/x/sync/errgroup"
)

// DownAPI is the IAM calls teardown makes.
type DownAPI interface {
	DeleteRole(context.Context, *iam.DeleteRoleInput, ...func(*iam.Options)) (*iam.DeleteRoleOutput, error)
	DeleteRolePolicy(context.Context, *iam.DeleteRolePolicyInput, ...func(*iam.Options)) (*iam.DeleteRolePolicyOutput, error)
	DeleteInstanceProfile(context.Context, *iam.DeleteInstanceProfileInput, ...func(*iam.Options)) (*iam.DeleteInstanceProfileOutput, error)
	RemoveRoleFromInstanceProfile(context.Context, *iam.RemoveRoleFromInstanceProfileInput, ...func(*iam.Options)) (*iam.RemoveRoleFromInstanceProfileOutput, error)
	ListRolePolicies(context.Context, *iam.ListRolePoliciesInput, ...func(*iam.Options)) (*iam.ListRolePoliciesOutput, error)
	ListAttachedRolePolicies(context.Context, *iam.ListAttachedRolePoliciesInput, ...func(*iam.Options)) (*iam.ListAttachedRolePoliciesOutput, error)
	DetachRolePolicy(context.Context, *iam.DetachRolePolicyInput, ...func(*iam.Options)) (*iam.DetachRolePolicyOutput, error)
	ListInstanceProfilesForRole(context.Context, *iam.ListInstanceProfilesForRoleInput, ...func(*iam.Options)) (*iam.ListInstanceProfilesForRoleOutput, error)
	GetInstanceProfile(context.Context, *iam.GetInstanceProfileInput, ...func(*iam.Options)) (*iam.GetInstanceProfileOutput, error)
	GetRole(context.Context, *iam.GetRoleInput, ...func(*iam.Options)) (*iam.GetRoleOutput, error)
	ListRoles(context.Context, *iam.ListRolesInput, ...func(*iam.Options)) (*iam.ListRolesOutput, error)
	ListInstanceProfiles(context.Context, *iam.ListInstanceProfilesInput, ...func(*iam.Options)) (*iam.ListInstanceProfilesOutput, error)
}

// UpAPI is the IAM calls Up makes, teardown included for rollback.
type UpAPI interface {
	DownAPI
	CreateRole(context.Context, *iam.CreateRoleInput, ...func(*iam.Options)) (*iam.CreateRoleOutput, error)
	PutRolePolicy(context.Context, *iam.PutRolePolicyInput, ...func(*iam.Options)) (*iam.PutRolePolicyOutput, error)
	CreateInstanceProfile(context.Context, *iam.CreateInstanceProfileInput, ...func(*iam.Options)) (*iam.CreateInstanceProfileOutput, error)
	AddRoleToInstanceProfile(context.Context, *iam.AddRoleToInstanceProfileInput, ...func(*iam.Options)) (*iam.AddRoleToInstanceProfileOutput, error)
}

// Options tune Up and Down.
type Options struct {
	// RollbackTimeout bounds the rollback, which runs even when the
	// caller's context is cancelled. Default 2m.
	RollbackTimeout time.Duration
	// Sequential issues every call one after another; benchmarks use it
	// as the baseline. Default false.
	Sequential bool
	// Fresh says Down deletes what this process created moments ago: that
	// proves ownership, and IAM may not show it yet, so NoSuchEntity is
	// waited out (visibilityTimeout).
	Fresh bool
	// Progress receives a line while Down waits for something. Default
	// none.
	Progress func(format string, args ...any)
	// InFlightTimeout is how long a call already sent may still finish
	// once Up is told to stop. Default 5s.
	InFlightTimeout time.Duration
	// PendingWindow is how long after up started on a pending resource Down
	// waits for it to appear. Default PendingWindow.
	PendingWindow time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Undo makes Up's rollback calls, which may be more patient with
	// throttling than the creates. Default: Up's own client.
	Undo DownAPI
}

func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o Options) rollbackTimeout() time.Duration {
	if o.RollbackTimeout > 0 {
		return o.RollbackTimeout
	}
	return 2 * time.Minute
}

// Result is what Up created.
type Result struct {
	RoleARN            string
	InstanceRoleARN    string
	InstanceProfileARN string
}

// RollbackError says a failed Up could not remove everything it created.
type RollbackError struct {
	State run.State
	Err   error
}

func (e *RollbackError) Error() string { return "rollback incomplete: " + e.Err.Error() }
func (e *RollbackError) Unwrap() error { return e.Err }

// UnknownOutcomeError says Up had to stop while creates were in flight and
// could not tell whether they took effect: Pending may still appear.
type UnknownOutcomeError struct {
	Pending []run.Resource
	Since   time.Time
}

func (e *UnknownOutcomeError) Error() string {
	return "outcome unknown: " + names(e.Pending) + " may still appear (" + plural(len(e.Pending), "its create was", "their creates were") + " in flight when up stopped)"
}

// pendingError marks an undo that could not find what a create with an
// unknown outcome may still make.
type pendingError struct{ r run.Resource }

func (e *pendingError) Error() string { return e.r.String() + " not found yet" }

// Up creates the plan's resources. Independent calls run concurrently; the
// critical path is {CreateRole ×2, CreateInstanceProfile} → {PutRolePolicy,
// AddRoleToInstanceProfile}. On any failure or cancellation every recorded
// mutation is undone under a fresh bounded context and the errors joined.
func Up(ctx context.Context, api UpAPI, p *run.Plan, opt Options) (res *Result, err error) {
	u := &upper{api: api, plan: p, journal: &journal{}, opt: opt}
	undoAPI := DownAPI(api)
	if opt.Undo != nil {
		undoAPI = opt.Undo
	}
	u.undo = &teardown{api: undoAPI, s: p.State(), rep: &Report{}, opt: Options{Fresh: true, Now: opt.Now}, owner: map[run.Resource]ownership{}}
	defer func() {
		if err == nil {
			return
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opt.rollbackTimeout())
		defer cancel()
		rerr := u.journal.rollback(rctx)
		var pending []run.Resource
		var rest []error
		for _, e := range unjoin(rerr) {
			var pe *pendingError
			if errors.As(e, &pe) {
				pending = append(pending, pe.r)
			} else {
				rest = append(rest, e)
			}
		}
		if len(rest) > 0 {
			err = errors.Join(err, &RollbackError{State: p.State(), Err: errors.Join(rest...)})
		}
		if len(pending) > 0 {
			err = errors.Join(err, &UnknownOutcomeError{Pending: pending, Since: opt.now().UTC()})
		}
	}()
	res = &Result{RoleARN: p.BuildRole.ARN}
	if p.InstanceRole != nil {
		res.InstanceRoleARN = p.InstanceRole.ARN
	}
	if p.InstanceProfile != nil {
		res.InstanceProfileARN = p.InstanceProfile.ARN
	}
	if opt.Sequential {
		return res, u.sequential(ctx)
	}
	g, gctx := errgroup.WithContext(ctx)
	buildReady, instanceReady := make(chan struct{}), make(chan struct{})
	g.Go(func() error {
		if err := u.createRole(gctx, run.KindRole, p.BuildRole); err != nil {
			return err
		}
		close(buildReady)
		return u.putPolicy(gctx, p.BuildRole)
	})
	if p.InstanceRole != nil {
		g.Go(func() error {
			if err := u.createRole(gctx, run.KindInstanceRole, *p.InstanceRole); err != nil {
				return err
			}
			close(instanceReady)
			return u.putPolicy(gctx, *p.InstanceRole)
		})
	}
	if p.InstanceProfile != nil {
		roleReady := instanceReady
		if p.InstanceRole == nil {
			roleReady = buildReady
		}
		g.Go(func() error {
			if err := u.createProfile(gctx, *p.InstanceProfile); err != nil {
				return err
			}
			select {
			case <-roleReady:
			case <-gctx.Done():
				return context.Cause(gctx)
			}
			return u.addRole(gctx, *p.InstanceProfile)
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	// A cancellation that lands after the last call still rolls back: the
	// caller asked to stop.
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("up cancelled: %w", err)
	}
	return res, nil
}

func (u *upper) sequential(ctx context.Context) error {
	p := u.plan
	steps := []func() error{func() error { return u.createRole(ctx, run.KindRole, p.BuildRole) }}
	if p.InstanceRole != nil {
		steps = append(steps, func() error { return u.createRole(ctx, run.KindInstanceRole, *p.InstanceRole) })
	}
	if p.InstanceProfile != nil {
		steps = append(steps, func() error { return u.createProfile(ctx, *p.InstanceProfile) })
	}
	steps = append(steps, func() error { return u.putPolicy(ctx, p.BuildRole) })
	if p.InstanceRole != nil {
		steps = append(steps, func() error { return u.putPolicy(ctx, *p.InstanceRole) })
	}
	if p.InstanceProfile != nil {
		steps = append(steps, func() error { return u.addRole(ctx, *p.InstanceProfile) })
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return ctx.Err()
}

type upper struct {
	api     UpAPI
	plan    *run.Plan
	journal *journal
	undo    *teardown // rollback: deletes what this Up created
	opt     Options
}

// undoCreate removes a resource this Up created, or, when the create's
// outcome is unknown, whatever of this run's stands under the name; if
// nothing does yet, the create may still land: pending.
func (u *upper) undoCreate(ctx context.Context, r run.Resource, created bool) error {
	if !created {
		c, err := readOwnership(ctx, u.undo.api, r, u.plan.Path, u.plan.RunID)
		switch {
		case absent(err):
			return &pendingError{r}
		case err != nil:
			return errors.Join(&pendingError{r}, err)
		case c.state == ownForeign:
			u.undo.rep.put(Outcome{Kind: r.Kind.IAMType(), Name: r.Name, Status: StatusNotOurs, Error: c.why})
			return nil
		}
		if r.Kind == run.KindInstanceProfile {
			var errs []error
			for _, held := range c.held {
				errs = append(errs, u.undo.removeRole(ctx, r.Name, held))
			}
			if err := errors.Join(errs...); err != nil {
				return err
			}
		}
	}
	if r.Kind == run.KindInstanceProfile {
		return u.undo.deleteProfile(ctx, r.Name)
	}
	return u.undo.deleteRole(ctx, r.Name)
}

// inFlightTimeout bounds a call that was already sent when Up is told to
// stop. Such a call is allowed to finish, because a call abandoned
// mid-flight may still be applied after the rollback has looked for it; the
// runner's SIGINT-to-SIGTERM window is 7.5 s. A call abandoned all the same
// has an unknown outcome.
const inFlightTimeout = 5 * time.Second

func (o Options) inFlight() time.Duration {
	if o.InFlightTimeout > 0 {
		return o.InFlightTimeout
	}
	return inFlightTimeout
}

func (o Options) pendingWindow() time.Duration {
	if o.PendingWindow > 0 {
		return o.PendingWindow
	}
	return PendingWindow
}

// begin returns the context for one call: none once Up has been told to
// stop (cancellation or a sibling's failure), and otherwise one that the
// stop does not cut short.
func begin(stop context.Context, limit time.Duration) (context.Context, context.CancelFunc, error) {
	if err := stop.Err(); err != nil {
		return nil, nil, context.Cause(stop)
	}
	// Until told to stop, a call gets the SDK's whole retry budget; from
	// then on it has inFlightTimeout to finish.
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(stop))
	unwatch := context.AfterFunc(stop, func() {
		t := time.NewTimer(limit)
		defer t.Stop()
		select {
		case <-t.C:
			cancel(fmt.Errorf("call still running %s after up was told to stop: %w", limit, context.DeadlineExceeded))
		case <-ctx.Done():
		}
	})
	return ctx, func() { unwatch(); cancel(nil) }, nil
}

func (u *upper) iamTags() []types.Tag {
	out := make([]types.Tag, len(u.plan.Tags))
	for i, t := range u.plan.Tags {
		out[i] = types.Tag{Key: aws.String(t.Key), Value: aws.String(t.Value)}
	}
	return out
}

func (u *upper) createRole(stop context.Context, kind run.Kind, r run.RolePlan) error {
	ctx, cancel, err := begin(stop, u.opt.inFlight())
	if err != nil {
		return err
	}
	defer cancel()
	in := &iam.CreateRoleInput{
		RoleName:                 aws.String(r.Name),
		Path:                     aws.String(u.plan.Path),
		AssumeRolePolicyDocument: aws.String(r.Trust.JSON()),
		Description:              aws.String(fmt.Sprintf("buildrole run %s; expires %s", u.plan.RunID, u.plan.ExpiresAt.Format(time.RFC3339))),
		MaxSessionDuration:       aws.Int32(u.plan.MaxSessionDuration),
		Tags:                     u.iamTags(),
	}
	if u.plan.Boundary != "" {
		in.PermissionsBoundary = aws.String(u.plan.Boundary)
	}
	var applied int32
	_, err = u.api.CreateRole(ctx, in, countApplied(&applied))
	if as[*types.EntityAlreadyExistsException](err) {
		// An earlier attempt of this very call may have succeeded with its
		// response lost; the run-id tag proves the role is ours.
		ours, cerr := u.ownsRole(ctx, r.Name)
		err = adopt(err, ours, cerr)
	}
	created := err == nil
	u.journal.record(err, applied, 1, func(ctx context.Context) error {
		return u.undoCreate(ctx, run.Resource{Kind: kind, Name: r.Name}, created)
	})
	if err != nil {
		return fmt.Errorf("create role %q: %w", r.Name, quota(run.KindRole, notMade(err, applied)))
	}
	return nil
}

func (u *upper) ownsRole(ctx context.Context, name string) (bool, error) {
	out, err := u.api.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	if err != nil {
		return false, fmt.Errorf("get role %q: %w", name, err)
	}
	return out.Role != nil && tagValue(out.Role.Tags, run.TagRunID) == u.plan.RunID, nil
}

// adopt clears a create's EntityAlreadyExists when the resource is this
// run's own, and otherwise keeps it, with why ownership was not proved.
func adopt(err error, ours bool, checkErr error) error {
	switch {
	case checkErr != nil:
		return &unsureError{errors.Join(err, checkErr)}
	case ours:
		return nil
	}
	return err
}

func (u *upper) putPolicy(stop context.Context, r run.RolePlan) error {
	ctx, cancel, err := begin(stop, u.opt.inFlight())
	if err != nil {
		return err
	}
	defer cancel()
	if r.Policy == nil {
		return nil
	}
	var applied int32
	err = u.opt.untilVisible(ctx, stop, func() error {
		_, err := u.api.PutRolePolicy(ctx, &iam.PutRolePolicyInput{
			RoleName:       aws.String(r.Name),
			PolicyName:     aws.String(r.PolicyName),
			PolicyDocument: aws.String(r.Policy.JSON()),
		}, countApplied(&applied))
		return err
	}, denied) // IAM authorizes by the new role's path and tags, which its reads may not show yet
	u.journal.record(err, applied, 2, func(ctx context.Context) error { return u.undo.deleteRolePolicy(ctx, r.Name, r.PolicyName) })
	if err != nil {
		return fmt.Errorf("put policy %q on role %q: %w", r.PolicyName, r.Name, notMade(err, applied))
	}
	return nil
}

func (u *upper) createProfile(stop context.Context, ip run.ProfilePlan) error {
	ctx, cancel, err := begin(stop, u.opt.inFlight())
	if err != nil {
		return err
	}
	defer cancel()
	var applied int32
	_, err = u.api.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{
		InstanceProfileName: aws.String(ip.Name),
		Path:                aws.String(u.plan.Path),
		Tags:                u.iamTags(),
	}, countApplied(&applied))
	if as[*types.EntityAlreadyExistsException](err) {
		ours, cerr := u.ownsProfile(ctx, ip.Name)
		err = adopt(err, ours, cerr)
	}
	created := err == nil
	u.journal.record(err, applied, 1, func(ctx context.Context) error {
		return u.undoCreate(ctx, run.Resource{Kind: run.KindInstanceProfile, Name: ip.Name}, created)
	})
	if err != nil {
		return fmt.Errorf("create instance profile %q: %w", ip.Name, quota(run.KindInstanceProfile, notMade(err, applied)))
	}
	return nil
}

func (u *upper) ownsProfile(ctx context.Context, name string) (bool, error) {
	out, err := u.api.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(name)})
	if err != nil {
		return false, fmt.Errorf("get instance profile %q: %w", name, err)
	}
	return out.InstanceProfile != nil && tagValue(out.InstanceProfile.Tags, run.TagRunID) == u.plan.RunID, nil
}

func (u *upper) addRole(stop context.Context, ip run.ProfilePlan) error {
	ctx, cancel, err := begin(stop, u.opt.inFlight())
	if err != nil {
		return err
	}
	defer cancel()
	var applied int32
	err = u.opt.untilVisible(ctx, stop, func() error {
		_, err := u.api.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{
			InstanceProfileName: aws.String(ip.Name),
			RoleName:            aws.String(ip.Role),
		}, countApplied(&applied))
		return err
	}, denied)
	if as[*types.LimitExceededException](err) {
		// A retried add after a lost response: the role is already in.
		ours, cerr := u.profileHolds(ctx, ip)
		err = adopt(err, ours, cerr)
	}
	u.journal.record(err, applied, 2, func(ctx context.Context) error { return u.undo.removeRole(ctx, ip.Name, ip.Role) })
	if err != nil {
		return fmt.Errorf("add role %q to instance profile %q: %w", ip.Role, ip.Name, notMade(err, applied))
	}
	return nil
}

func (u *upper) profileHolds(ctx context.Context, ip run.ProfilePlan) (bool, error) {
	out, err := u.api.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(ip.Name)})
	if err != nil {
		return false, fmt.Errorf("get instance profile %q: %w", ip.Name, err)
	}
	for _, r := range out.InstanceProfile.Roles {
		if aws.ToString(r.RoleName) == ip.Role {
			return true, nil
		}
	}
	return false, nil
}

// visibilityTimeout bounds waiting for a resource this run just created to
// become visible to the next call: IAM is eventually consistent, and a
// fresh role or profile can briefly answer NoSuchEntity.
const visibilityTimeout = 15 * time.Second

// maxVisibilityAttempts bounds the same wait by calls: the backoff below
// makes about 11 in visibilityTimeout.
const maxVisibilityAttempts = 20

// deniedLagTimeout bounds waiting out AccessDenied on a resource created a
// moment ago: IAM authorizes by its path and tags, which its reads may not
// show for a few seconds.
const deniedLagTimeout = 5 * time.Second

// untilVisible retries call while it fails with NoSuchEntity (or, when
// also is set, an error also accepts), for at most visibilityTimeout, and
// not once stop is done. Only calls on resources created a moment ago use
// it.
func (o Options) untilVisible(ctx, stop context.Context, call func() error, also func(error) bool) error {
	start := o.now()
	deadline := start.Add(visibilityTimeout)
	delay := 200 * time.Millisecond
	// Bounded by attempts too, whatever the clock does.
	for attempt := 1; ; attempt++ {
		err := call()
		// A refusal is waited out only briefly: it may be the lag, but a
		// missing permission should be reported without a long delay.
		retry := as[*types.NoSuchEntityException](err) || also != nil && also(err) && o.now().Sub(start) < deniedLagTimeout
		if !retry || o.now().Add(delay).After(deadline) || attempt >= maxVisibilityAttempts {
			return err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-stop.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		delay = min(2*delay, 2*time.Second)
	}
}

func tagValue(tags []types.Tag, key string) string {
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value)
		}
	}
	return ""
}

// journal holds the undo of every mutation that may have taken effect.
type journal struct {
	mu    sync.Mutex
	undos []undo
}

type undo struct {
	level int // 1 = creates, 2 = what hangs on them; undone first
	fn    func(context.Context) error
}

// record keeps the undo when the call succeeded or its outcome is unknown
// (a lost response or a server error may still have applied it). A
// definite refusal proves nothing changed, and so do attempts all refused
// or throttled (applied counts the others).
func (j *journal) record(err error, applied int32, level int, fn func(context.Context) error) {
	if err != nil && (definitelyRefused(err) || applied == 0 && !as[*unsureError](err)) {
		return
	}
	j.mu.Lock()
	j.undos = append(j.undos, undo{level, fn})
	j.mu.Unlock()
}

// rollback undoes level 2, then level 1, each level concurrently.
func (j *journal) rollback(ctx context.Context) error {
	j.mu.Lock()
	undos := append([]undo(nil), j.undos...)
	j.mu.Unlock()
	var errs []error
	for level := 2; level >= 1; level-- {
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, un := range undos {
			if un.level != level {
				continue
			}
			wg.Add(1)
			go func(fn func(context.Context) error) {
				defer wg.Done()
				if err := fn(ctx); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}(un.fn)
		}
		wg.Wait()
	}
	return errors.Join(errs...)
}

// QuotaError is a create IAM refused because the account holds as many
// roles (or instance profiles) as its quota allows. The planner keeps a
// role's trust policy and tags within IAM's limits, so LimitExceeded on a
// create is this quota.
type QuotaError struct {
	Kind run.Kind // run.KindRole or run.KindInstanceProfile
	Err  error
}

func (e *QuotaError) Error() string { return e.Err.Error() }
func (e *QuotaError) Unwrap() error { return e.Err }

// Quota is the quota's name, as Service Quotas shows it.
func (e *QuotaError) Quota() string {
	if e.Kind == run.KindInstanceProfile {
		return awsfacts.QuotaInstanceProfiles
	}
	return awsfacts.QuotaRoles
}

func quota(kind run.Kind, err error) error {
	if as[*types.LimitExceededException](err) {
		return &QuotaError{Kind: kind, Err: err}
	}
	return err
}

// CountUnderPath counts the roles (or, for run.KindInstanceProfile, the
// instance profiles) under path.
func CountUnderPath(ctx context.Context, api DownAPI, kind run.Kind, path string) (int, error) {
	n := 0
	if kind == run.KindInstanceProfile {
		pages := iam.NewListInstanceProfilesPaginator(api, &iam.ListInstanceProfilesInput{PathPrefix: aws.String(path)})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				return n, err
			}
			n += len(page.InstanceProfiles)
		}
		return n, nil
	}
	pages := iam.NewListRolesPaginator(api, &iam.ListRolesInput{PathPrefix: aws.String(path)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return n, err
		}
		n += len(page.Roles)
	}
	return n, nil
}

// notMade says of a call that AWS throttled or refused on every attempt
// that it was never applied.
func notMade(err error, applied int32) error {
	if applied == 0 && throttled(err) {
		return fmt.Errorf("IAM throttled every attempt, so it was not made: %w", err)
	}
	return err
}

// unjoin splits errors.Join's result into its parts.
func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// as reports whether err holds an error of type E: the SDK's typed
// exceptions (*types.NoSuchEntityException, ...).
func as[E error](err error) bool {
	var e E
	return errors.As(err, &e)
}

// denied reports an AWS refusal for lack of permission. IAM's SDK has no
// typed exception for it: the code decides.
func denied(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && awsfacts.IsDenied(ae.ErrorCode())
}

// throttled reports AWS's answer to too many requests, by the SDK's own
// list of throttling codes.
func throttled(err error) bool {
	return retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) == aws.TrueTernary
}

// unsureError marks a failure after which the resource may be ours: its
// undo is kept.
type unsureError struct{ err error }

func (e *unsureError) Error() string   { return e.err.Error() }
func (e *unsureError) Unwrap() []error { return []error{e.err} }

// definitelyRefused reports an error that proves the request had no effect:
// a 4xx answer other than throttling. A lost connection or a 5xx may have
// been applied.
func definitelyRefused(err error) bool {
	var unsure *unsureError
	if errors.As(err, &unsure) {
		return false
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) {
		return false
	}
	code := re.HTTPStatusCode()
	return code >= 400 && code < 500 && code != 429 && !throttled(err)
}

// ProfileAPI reads an instance profile.
type ProfileAPI interface {
	GetInstanceProfile(context.Context, *iam.GetInstanceProfileInput, ...func(*iam.Options)) (*iam.GetInstanceProfileOutput, error)
}

// ProfileVisible reads the new instance profile once, as Packer reads it
// before launching (step_iam_instance_profile.go): a fresh profile can
// answer NoSuchEntity for seconds, which is false and no error. The caller
// polls it alongside the trust policy's propagation (stsauth.Wait). held
// are the roles the profile shows.
func ProfileVisible(ctx context.Context, api ProfileAPI, name string) (held []string, visible bool, err error) {
	out, err := api.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(name)})
	switch {
	case err == nil:
		for _, r := range out.InstanceProfile.Roles {
			held = append(held, aws.ToString(r.RoleName))
		}
		return held, true, nil
	case as[*types.NoSuchEntityException](err):
		return nil, false, nil
	}
	return nil, false, fmt.Errorf("read instance profile %q: %w", name, err)
}
