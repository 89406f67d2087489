package provision

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// Outcome of deleting one resource.
type Outcome struct {
	Kind   string `json:"kind"` // "role", "instance-profile", "role-policy", "profile-membership"
	Name   string `json:"name"`
	Status string `json:"status"` // "deleted", "absent", "failed"
	Error  string `json:"error,omitempty"`
}

// Report lists what Down did.
type Report struct {
	mu       sync.Mutex
	Outcomes []Outcome `json:"outcomes"`
}

func (r *Report) add(kind, name string, err error) error {
	o := Outcome{Kind: kind, Name: name, Status: "deleted"}
	switch {
	case isCode(err, "NoSuchEntity"):
		o.Status, err = "absent", nil
	case err != nil:
		o.Status, o.Error = "failed", err.Error()
	}
	if r != nil {
		r.mu.Lock()
		r.Outcomes = append(r.Outcomes, o)
		r.mu.Unlock()
	}
	return err
}

// Failed lists the outcomes that failed.
func (r *Report) Failed() []Outcome {
	var out []Outcome
	for _, o := range r.Outcomes {
		if o.Status == "failed" {
			out = append(out, o)
		}
	}
	return out
}

// Count returns how many outcomes have status.
func (r *Report) Count(status string) int {
	n := 0
	for _, o := range r.Outcomes {
		if o.Status == status {
			n++
		}
	}
	return n
}

// Down deletes what the state names. It is idempotent: NoSuchEntity counts
// as done, and a DeleteConflict makes it find and remove the blockers. The
// critical path is {RemoveRoleFromInstanceProfile, DeleteRolePolicy ×n} →
// {DeleteInstanceProfile, DeleteRole ×2}.
func Down(ctx context.Context, api DownAPI, s State, opt Options) (*Report, error) {
	rep := &Report{}
	var first, second []func() error
	if s.InstanceProfile != "" && s.ProfileRole != "" {
		first = append(first, func() error { return removeRole(ctx, api, s.InstanceProfile, s.ProfileRole, rep) })
	}
	for _, rp := range [][2]string{{s.Role, s.BuildPolicy}, {s.InstanceRole, s.InstancePolicy}} {
		if rp[0] != "" && rp[1] != "" {
			first = append(first, func() error { return deleteRolePolicy(ctx, api, rp[0], rp[1], rep) })
		}
	}
	if s.InstanceProfile != "" {
		second = append(second, func() error { return deleteProfile(ctx, api, s.InstanceProfile, rep) })
	}
	for _, r := range []string{s.Role, s.InstanceRole} {
		if r != "" {
			second = append(second, func() error { return deleteRole(ctx, api, r, rep) })
		}
	}
	// A failure in the first level does not stop the second: deleting a
	// role discovers and removes whatever still blocks it.
	err := errors.Join(runAll(first, opt.Sequential), runAll(second, opt.Sequential))
	return rep, err
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

func removeRole(ctx context.Context, api DownAPI, profile, role string, rep *Report) error {
	_, err := api.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{
		InstanceProfileName: aws.String(profile),
		RoleName:            aws.String(role),
	})
	if err = rep.add("profile-membership", profile+"/"+role, err); err != nil {
		return fmt.Errorf("remove role %q from instance profile %q: %w", role, profile, err)
	}
	return nil
}

func deleteRolePolicy(ctx context.Context, api DownAPI, role, policy string, rep *Report) error {
	_, err := api.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(policy)})
	if err = rep.add("role-policy", role+"/"+policy, err); err != nil {
		return fmt.Errorf("delete policy %q of role %q: %w", policy, role, err)
	}
	return nil
}

// waitIfFresh makes a delete of something this run created a moment ago
// (fresh) wait out NoSuchEntity: IAM may not show it yet, and "absent"
// would leave it behind.
func waitIfFresh(ctx context.Context, del func() error, fresh []bool) func() error {
	if len(fresh) == 0 || !fresh[0] {
		return del
	}
	return func() error { return untilVisible(ctx, ctx, del) }
}

// deleteRole deletes a role; on DeleteConflict it removes the role's inline
// and attached policies and instance profile memberships, then tries again.
func deleteRole(ctx context.Context, api DownAPI, name string, rep *Report, fresh ...bool) error {
	del := func() error {
		_, err := api.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String(name)})
		return err
	}
	del = waitIfFresh(ctx, del, fresh)
	err := del()
	if isCode(err, "DeleteConflict") {
		if cerr := clearRole(ctx, api, name, rep); cerr != nil {
			err = errors.Join(err, cerr)
		} else {
			err = del()
		}
	}
	if err = rep.add("role", name, err); err != nil {
		return fmt.Errorf("delete role %q: %w", name, err)
	}
	return nil
}

func clearRole(ctx context.Context, api DownAPI, name string, rep *Report) error {
	var errs []error
	inline := iam.NewListRolePoliciesPaginator(api, &iam.ListRolePoliciesInput{RoleName: aws.String(name)})
	for inline.HasMorePages() {
		page, err := inline.NextPage(ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("list inline policies of role %q: %w", name, err))
			break
		}
		for _, pn := range page.PolicyNames {
			errs = append(errs, deleteRolePolicy(ctx, api, name, pn, rep))
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
			if err = rep.add("attached-policy", name+"/"+aws.ToString(ap.PolicyArn), err); err != nil {
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
			errs = append(errs, removeRole(ctx, api, aws.ToString(ip.InstanceProfileName), name, rep))
		}
	}
	return errors.Join(errs...)
}

// deleteProfile deletes an instance profile; on DeleteConflict it removes
// the roles it still holds, then tries again.
func deleteProfile(ctx context.Context, api DownAPI, name string, rep *Report, fresh ...bool) error {
	del := func() error {
		_, err := api.DeleteInstanceProfile(ctx, &iam.DeleteInstanceProfileInput{InstanceProfileName: aws.String(name)})
		return err
	}
	del = waitIfFresh(ctx, del, fresh)
	err := del()
	if isCode(err, "DeleteConflict") {
		out, gerr := api.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(name)})
		if gerr != nil {
			err = errors.Join(err, fmt.Errorf("get instance profile %q: %w", name, gerr))
		} else {
			var errs []error
			for _, r := range out.InstanceProfile.Roles {
				errs = append(errs, removeRole(ctx, api, name, aws.ToString(r.RoleName), rep))
			}
			if rerr := errors.Join(errs...); rerr != nil {
				err = errors.Join(err, rerr)
			} else {
				err = del()
			}
		}
	}
	if err = rep.add("instance-profile", name, err); err != nil {
		return fmt.Errorf("delete instance profile %q: %w", name, err)
	}
	return nil
}
