package provision

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go/middleware"
	"github.com/buildrole/buildrole/internal/run"
)

// Outcome kinds: the run's roles and instance profile (run.IAMTypeRole,
// run.IAMTypeInstanceProfile), and what hangs on them.
const (
	KindRolePolicy        = "role-policy"
	KindAttachedPolicy    = "attached-policy"
	KindProfileMembership = "profile-membership"
)

// Outcome statuses.
const (
	StatusDeleted     = "deleted"
	StatusAbsent      = "absent"
	StatusFailed      = "failed"
	StatusNotOurs     = "not-ours"    // exists, but not this run's: left untouched
	StatusUnconfirmed = "unconfirmed" // ownership could not be read: left untouched
)

// Outcome of deleting one resource.
type Outcome struct {
	Kind   string `json:"kind"` // "role", "instance-profile", "role-policy", "attached-policy", "profile-membership"
	Name   string `json:"name"`
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

// Report lists what Down did.
type Report struct {
	mu       sync.Mutex
	Outcomes []Outcome `json:"outcomes"`
}

func (r *Report) put(o Outcome) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.Outcomes = append(r.Outcomes, o)
	r.mu.Unlock()
}

func (r *Report) add(kind, name string, err error) error {
	o := Outcome{Kind: kind, Name: name, Status: StatusDeleted}
	switch {
	case absent(err):
		o.Status, err = StatusAbsent, nil
	case err != nil:
		o.Status, o.Error = StatusFailed, err.Error()
	}
	r.put(o)
	return err
}

// Failed lists the outcomes that leave something behind: failures and what
// the state named but could not be confirmed as this run's.
func (r *Report) Failed() []Outcome {
	var out []Outcome
	for _, o := range r.Outcomes {
		switch o.Status {
		case StatusFailed, StatusNotOurs, StatusUnconfirmed:
			out = append(out, o)
		}
	}
	return out
}

// Resources counts the roles and instance profiles with status: what a
// user calls resources, unlike policies and memberships.
func (r *Report) Resources(status string) int {
	n := 0
	for _, o := range r.Outcomes {
		if o.Status == status && (o.Kind == run.IAMTypeRole || o.Kind == run.IAMTypeInstanceProfile) {
			n++
		}
	}
	return n
}

// PendingWindow is how long after up started on a pending resource Down
// still expects it to appear.
const PendingWindow = 60 * time.Second

// Down deletes what the state names, and only what it proves is this run's:
// a role or instance profile is deleted (with its inline policy or its
// membership) only when it lies under the state's path and carries
// buildrole:managed=true and buildrole:run-id = the state's run id.
// Anything else is left untouched and reported, and Down fails. Deleting
// what is already gone counts as done, so Down can run again.
//
// The critical path is one more round trip than deleting alone: {GetRole
// ×2, GetInstanceProfile} → {RemoveRoleFromInstanceProfile, DeleteRolePolicy
// ×n} → {DeleteInstanceProfile, DeleteRole ×2}.
func Down(ctx context.Context, api DownAPI, s run.State, opt Options) (*Report, error) {
	t := &teardown{api: api, s: s, rep: &Report{}, opt: opt, owner: map[run.Resource]ownership{}}
	if opt.Fresh {
		// This process created them moments ago: that is the proof, and
		// IAM may not show them to a read yet.
		for _, r := range s.Resources() {
			c := ownership{state: ownYes}
			if r.Kind == run.KindInstanceProfile && s.ProfileRole != "" {
				c.held = []string{s.ProfileRole}
			}
			t.owner[r] = c
		}
	} else {
		var checks []func() error
		for _, r := range s.Resources() {
			checks = append(checks, func() error { t.confirm(ctx, r); return nil })
		}
		_ = runAll(checks, opt.Sequential)
	}

	var errs []error
	var first, second []func() error
	for _, res := range s.Resources() {
		c := t.owned(res)
		kind := res.Kind.IAMType()
		switch c.state {
		case ownAbsent:
			t.rep.put(Outcome{Kind: kind, Name: res.Name, Status: StatusAbsent})
			continue
		case ownForeign:
			t.rep.put(Outcome{Kind: kind, Name: res.Name, Status: StatusNotOurs, Error: c.why})
			errs = append(errs, fmt.Errorf("%s %q is not this run's (%s): left untouched", kind, res.Name, c.why))
			continue
		case ownUnknown, ownUnchecked:
			if c.err == nil {
				c.err = errors.New("not read")
			}
			t.rep.put(Outcome{Kind: kind, Name: res.Name, Status: StatusUnconfirmed, Error: c.err.Error()})
			errs = append(errs, fmt.Errorf("%s %q could not be confirmed as this run's, so it was left untouched: %w", kind, res.Name, c.err))
			continue
		}
		if res.Kind == run.KindInstanceProfile {
			for _, held := range c.held {
				first = append(first, func() error { return t.removeRole(ctx, res.Name, held) })
			}
			second = append(second, func() error { return t.deleteProfile(ctx, res.Name) })
			continue
		}
		if p := s.PolicyOf(res.Name); p != "" {
			first = append(first, func() error { return t.deleteRolePolicy(ctx, res.Name, p) })
		}
		second = append(second, func() error { return t.deleteRole(ctx, res.Name) })
	}
	// A failure in the first level does not stop the second: deleting a
	// role discovers and removes whatever of this run still blocks it.
	errs = append(errs, runAll(first, opt.Sequential), runAll(second, opt.Sequential))
	return t.rep, errors.Join(errs...)
}

// teardown is one Down: the state, what was confirmed, the report.
type teardown struct {
	api DownAPI
	s   run.State
	rep *Report
	opt Options

	mu     sync.Mutex
	noteMu sync.Mutex
	owner  map[run.Resource]ownership
}

type ownerState int

const (
	ownUnchecked ownerState = iota // the zero value proves nothing
	ownYes
	ownAbsent
	ownForeign
	ownUnknown
)

type ownership struct {
	state ownerState
	why   string   // ownForeign: what does not match
	err   error    // ownUnknown: why it could not be read
	held  []string // a profile's roles
}

func (t *teardown) owned(r run.Resource) ownership {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.owner[r]
}

// confirm reads a resource's path and tags and decides whether it is this
// run's.
func (t *teardown) confirm(ctx context.Context, r run.Resource) ownership {
	c, err := readOwnership(ctx, t.api, r, t.s.Path, t.s.RunID)
	if absent(err) && t.pending(r) {
		c, err = t.awaitPending(ctx, r)
	}
	switch {
	case absent(err):
		c = ownership{state: ownAbsent}
	case err != nil:
		c = ownership{state: ownUnknown, err: err}
	}
	t.mu.Lock()
	t.owner[r] = c
	t.mu.Unlock()
	return c
}

// readOwnership is one GetRole or GetInstanceProfile and the verdict.
// IAM authorizes a name it does not know without its path, so a policy
// bound to the path refuses reading what is already gone: an AccessDenied
// is then settled by listing the path.
func readOwnership(ctx context.Context, api DownAPI, r run.Resource, path, runID string) (ownership, error) {
	c, err := getOwnership(ctx, api, r, path, runID)
	if denied(err) && path != "" {
		present, lerr := listed(ctx, api, r, path)
		switch {
		case lerr == nil && !present:
			return ownership{}, &notFoundError{r: r, denied: err}
		case lerr == nil:
			// Listed now: the refusal was a read lagging behind the
			// create, which has since caught up. Once more; a second
			// refusal is a missing permission.
			c, err = getOwnership(ctx, api, r, path, runID)
		}
	}
	return c, err
}

// notFoundError is a read refused for what a listing shows is not there:
// absent, like NoSuchEntity.
type notFoundError struct {
	r      run.Resource
	denied error
}

func (e *notFoundError) Error() string {
	return fmt.Sprintf("%s %q is not under its path (reading it directly was refused: %v)", e.r.Kind.IAMType(), e.r.Name, e.denied)
}

// absent reports an error that proves the resource does not exist: IAM's
// NoSuchEntity, or a refused read of what the path's listing lacks.
func absent(err error) bool {
	return as[*types.NoSuchEntityException](err) || as[*notFoundError](err)
}

// listed reports whether a role or profile of that name is under path.
func listed(ctx context.Context, api DownAPI, r run.Resource, path string) (bool, error) {
	if r.Kind == run.KindInstanceProfile {
		pages := iam.NewListInstanceProfilesPaginator(api, &iam.ListInstanceProfilesInput{PathPrefix: aws.String(path)})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				return false, err
			}
			for _, ip := range page.InstanceProfiles {
				if aws.ToString(ip.InstanceProfileName) == r.Name {
					return true, nil
				}
			}
		}
		return false, nil
	}
	pages := iam.NewListRolesPaginator(api, &iam.ListRolesInput{PathPrefix: aws.String(path)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return false, err
		}
		for _, role := range page.Roles {
			if aws.ToString(role.RoleName) == r.Name {
				return true, nil
			}
		}
	}
	return false, nil
}

func getOwnership(ctx context.Context, api DownAPI, r run.Resource, path, runID string) (ownership, error) {
	var gotPath string
	var tags []types.Tag
	var held []string
	if r.Kind == run.KindInstanceProfile {
		out, err := api.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(r.Name)})
		if err != nil {
			return ownership{}, fmt.Errorf("get instance profile %q: %w", r.Name, err)
		}
		ip := out.InstanceProfile
		gotPath, tags = aws.ToString(ip.Path), ip.Tags
		for _, role := range ip.Roles {
			held = append(held, aws.ToString(role.RoleName))
		}
	} else {
		out, err := api.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(r.Name)})
		if err != nil {
			return ownership{}, fmt.Errorf("get role %q: %w", r.Name, err)
		}
		gotPath, tags = aws.ToString(out.Role.Path), out.Role.Tags
	}
	if why := notOurs(gotPath, tagsOf(tags), path, runID); why != "" {
		return ownership{state: ownForeign, why: why}, nil
	}
	return ownership{state: ownYes, held: held}, nil
}

// notOurs says why a resource with this path and these tags is not the
// run's, or "" when it is.
func notOurs(gotPath string, tags map[string]string, path, runID string) string {
	switch {
	case path == "" || !strings.HasPrefix(gotPath, path):
		return fmt.Sprintf("its path %s is not under %s", gotPath, path)
	case tags[run.TagManaged] != run.TagManagedValue:
		return "it is not tagged " + run.TagManaged + "=" + run.TagManagedValue
	case tags[run.TagRunID] != runID:
		if id := tags[run.TagRunID]; id != "" {
			return fmt.Sprintf("its %s is %s, another run's", run.TagRunID, id)
		}
		return "it has no " + run.TagRunID + " tag"
	}
	return ""
}

// pending reports whether r may still appear: up saved it as pending
// (created a moment ago, or a create whose outcome it could not know), did
// not see it exist afterwards, and the window after up started on it has
// not passed. Once IAM showed it, NoSuchEntity means gone.
func (t *teardown) pending(r run.Resource) bool {
	if !t.s.IsPending(r) || t.s.IsConfirmed(r) {
		return false
	}
	_, ok := t.pendingDeadline()
	return ok
}

// pendingDeadline is when a pending resource is taken as never created:
// PendingWindow after up started on it, counted from now at the latest, so
// a clock ahead of this one cannot stretch the wait.
func (t *teardown) pendingDeadline() (time.Time, bool) {
	since, now := t.s.PendingSince, t.opt.now()
	if since.IsZero() {
		return time.Time{}, false
	}
	if since.After(now) {
		since = now
	}
	deadline := since.Add(t.opt.pendingWindow())
	return deadline, now.Before(deadline)
}

// Reads of a pending resource back off from firstPendingPoll, doubling to
// maxPendingPoll: a lag of a second is caught within half a second, and
// a resource that never comes costs about ten reads in the window.
const (
	firstPendingPoll = 500 * time.Millisecond
	maxPendingPoll   = 8 * time.Second
)

// awaitPending reads r until IAM shows it (a lagging read, or a create
// still on its way) or the window closes, saying what it waits for.
func (t *teardown) awaitPending(ctx context.Context, r run.Resource) (ownership, error) {
	deadline, _ := t.pendingDeadline()
	start := t.opt.now()
	var lastNote time.Time
	// Bounded by reads too, whatever the clock does.
	maxReads := int(t.opt.pendingWindow()/maxPendingPoll) + 8
	delay := firstPendingPoll
	for read := 1; ; read++ {
		if now := t.opt.now(); now.Sub(lastNote) >= 5*time.Second {
			t.note("waiting for %s, created moments ago or still on its way to IAM (%s so far, at most until %s)", r, now.Sub(start).Round(time.Second), deadline.UTC().Format(time.RFC3339))
			lastNote = now
		}
		timer := time.NewTimer(max(0, min(delay, deadline.Sub(t.opt.now()))))
		delay = min(2*delay, maxPendingPoll)
		select {
		case <-ctx.Done():
			timer.Stop()
			return ownership{}, fmt.Errorf("cancelled while waiting for %s: %w", r, context.Cause(ctx))
		case <-timer.C:
		}
		c, err := readOwnership(ctx, t.api, r, t.s.Path, t.s.RunID)
		if !absent(err) || !t.opt.now().Before(deadline) || read >= maxReads {
			if absent(err) {
				t.note("%s did not appear within %s of up starting on it: taken as never created", r, t.opt.pendingWindow())
			}
			return c, err
		}
	}
}

// note reports progress; resources are awaited concurrently, and the
// callback need not be safe for that.
func (t *teardown) note(format string, args ...any) {
	if t.opt.Progress != nil {
		t.noteMu.Lock()
		defer t.noteMu.Unlock()
		t.opt.Progress(format, args...)
	}
}

func names(rs []run.Resource) string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.String()
	}
	return strings.Join(out, ", ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func runAll(fns []func() error, sequential bool) error {
	errs := make([]error, len(fns))
	if sequential {
		for i, fn := range fns {
			errs[i] = fn()
		}
		return errors.Join(errs...)
	}
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn()
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// countApplied counts the SDK's attempts at one call that may have taken
// effect: every attempt but those AWS refused outright (a 4xx, throttling
// included). Its middleware runs inside the retry loop.
func countApplied(n *int32) func(*iam.Options) {
	return func(o *iam.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Finalize.Add(middleware.FinalizeMiddlewareFunc("BuildroleAttempts",
				func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
					out, md, err := next.HandleFinalize(ctx, in)
					if err == nil || !definitelyRefused(err) && !throttled(err) {
						atomic.AddInt32(n, 1)
					}
					return out, md, err
				}), middleware.After)
		})
	}
}

// del runs one delete. NoSuchEntity after an earlier attempt of this very
// call that may have applied means that attempt deleted the resource and
// its answer was lost: done, at once. Otherwise, for a role or profile created a moment
// ago (fresh, with Options.Fresh), NoSuchEntity may mean "not visible yet"
// and is waited out. r is the role or profile whose absence makes the call
// moot.
func (t *teardown) del(ctx context.Context, r run.Resource, fresh bool, call func(opt func(*iam.Options)) error) error {
	once := func() error {
		// A retry proves something only about the call that was retried,
		// and only when an earlier attempt may have applied: another
		// delete's NoSuchEntity, or one after a throttled attempt, may
		// still be the lag.
		var applied int32
		err := call(countApplied(&applied))
		if as[*types.NoSuchEntityException](err) && applied > 0 {
			return nil
		}
		if denied(err) {
			// A delete of what is already gone (an earlier attempt whose
			// answer was lost, another teardown at the same time) is
			// refused: IAM no longer knows its path. Gone if the listing
			// agrees.
			if present, lerr := listed(ctx, t.api, r, t.s.Path); lerr == nil && !present {
				return nil
			}
		}
		return err
	}
	if t.opt.Fresh && fresh {
		return t.opt.untilVisible(ctx, ctx, once, nil)
	}
	return once()
}

func (t *teardown) removeRole(ctx context.Context, profile, role string) error {
	err := t.del(ctx, run.Resource{Kind: run.KindInstanceProfile, Name: profile}, false, func(o func(*iam.Options)) error {
		_, err := t.api.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{
			InstanceProfileName: aws.String(profile),
			RoleName:            aws.String(role),
		}, o)
		return err
	})
	if err = t.rep.add(KindProfileMembership, profile+"/"+role, err); err != nil {
		return fmt.Errorf("remove role %q from instance profile %q: %w", role, profile, err)
	}
	return nil
}

func (t *teardown) deleteRolePolicy(ctx context.Context, role, policy string) error {
	err := t.del(ctx, run.Resource{Kind: run.KindRole, Name: role}, false, func(o func(*iam.Options)) error {
		_, err := t.api.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(policy)}, o)
		return err
	})
	if err = t.rep.add(KindRolePolicy, role+"/"+policy, err); err != nil {
		return fmt.Errorf("delete policy %q of role %q: %w", policy, role, err)
	}
	return nil
}

// deleteRole deletes a role; on DeleteConflict it removes what still hangs
// on the role (its inline and attached policies, its membership in this
// run's instance profiles), then tries again.
func (t *teardown) deleteRole(ctx context.Context, name string) error {
	del := func() error {
		return t.del(ctx, run.Resource{Kind: run.KindRole, Name: name}, true, func(o func(*iam.Options)) error {
			_, err := t.api.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String(name)}, o)
			return err
		})
	}
	err := del()
	if as[*types.DeleteConflictException](err) {
		if cerr := t.clearRole(ctx, name); cerr != nil {
			err = errors.Join(err, cerr)
		} else {
			err = del()
		}
	}
	if err = t.rep.add(run.IAMTypeRole, name, err); err != nil {
		return fmt.Errorf("delete role %q: %w", name, err)
	}
	return nil
}

func (t *teardown) clearRole(ctx context.Context, name string) error {
	api := t.api
	var errs []error
	inline := iam.NewListRolePoliciesPaginator(api, &iam.ListRolePoliciesInput{RoleName: aws.String(name)})
	for inline.HasMorePages() {
		page, err := inline.NextPage(ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("list inline policies of role %q: %w", name, err))
			break
		}
		for _, pn := range page.PolicyNames {
			errs = append(errs, t.deleteRolePolicy(ctx, name, pn))
		}
	}
	attached := iam.NewListAttachedRolePoliciesPaginator(api, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(name)})
	for attached.HasMorePages() {
		page, err := attached.NextPage(ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("list attached policies of role %q: %w", name, err))
			break
		}
		for _, ap := range page.AttachedPolicies {
			_, err := api.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String(name), PolicyArn: ap.PolicyArn})
			if err = t.rep.add(KindAttachedPolicy, name+"/"+aws.ToString(ap.PolicyArn), err); err != nil {
				errs = append(errs, fmt.Errorf("detach policy %q from role %q: %w", aws.ToString(ap.PolicyArn), name, err))
			}
		}
	}
	profiles := iam.NewListInstanceProfilesForRolePaginator(api, &iam.ListInstanceProfilesForRoleInput{RoleName: aws.String(name)})
	for profiles.HasMorePages() {
		page, err := profiles.NextPage(ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("list instance profiles of role %q: %w", name, err))
			break
		}
		for _, ip := range page.InstanceProfiles {
			pn := aws.ToString(ip.InstanceProfileName)
			// Taking the role out of a profile changes the profile: only
			// out of this run's own.
			if why := notOurs(aws.ToString(ip.Path), tagsOf(ip.Tags), t.s.Path, t.s.RunID); why != "" && !t.ownProfile(ctx, pn) {
				t.rep.put(Outcome{Kind: KindProfileMembership, Name: pn + "/" + name, Status: StatusNotOurs, Error: "instance profile " + why})
				errs = append(errs, fmt.Errorf("role %q is in instance profile %q, which is not this run's: left untouched, so the role cannot be deleted", name, pn))
				continue
			}
			errs = append(errs, t.removeRole(ctx, pn, name))
		}
	}
	return errors.Join(errs...)
}

// ownProfile confirms a profile by its own tags (ListInstanceProfilesForRole
// may not return them).
func (t *teardown) ownProfile(ctx context.Context, name string) bool {
	r := run.Resource{Kind: run.KindInstanceProfile, Name: name}
	if c := t.owned(r); c.state == ownYes {
		return true
	}
	c, err := readOwnership(ctx, t.api, r, t.s.Path, t.s.RunID)
	return err == nil && c.state == ownYes
}

// deleteProfile deletes an instance profile; on DeleteConflict it removes
// the roles the profile still holds, then tries again.
func (t *teardown) deleteProfile(ctx context.Context, name string) error {
	del := func() error {
		return t.del(ctx, run.Resource{Kind: run.KindInstanceProfile, Name: name}, true, func(o func(*iam.Options)) error {
			_, err := t.api.DeleteInstanceProfile(ctx, &iam.DeleteInstanceProfileInput{InstanceProfileName: aws.String(name)}, o)
			return err
		})
	}
	err := del()
	if as[*types.DeleteConflictException](err) {
		out, gerr := t.api.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(name)})
		if gerr != nil {
			err = errors.Join(err, fmt.Errorf("get instance profile %q: %w", name, gerr))
		} else {
			var errs []error
			for _, r := range out.InstanceProfile.Roles {
				errs = append(errs, t.removeRole(ctx, name, aws.ToString(r.RoleName)))
			}
			if rerr := errors.Join(errs...); rerr != nil {
				err = errors.Join(err, rerr)
			} else {
				err = del()
			}
		}
	}
	if err = t.rep.add(run.IAMTypeInstanceProfile, name, err); err != nil {
		return fmt.Errorf("delete instance profile %q: %w", name, err)
	}
	return nil
}
