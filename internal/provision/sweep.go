package provision

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"golang.org/x/sync/errgroup"

	"github.com/buildrole/buildrole/internal/naming"
)

// SweepAPI is the IAM calls sweep makes.
type SweepAPI interface {
	DownAPI
	ListRoleTags(context.Context, *iam.ListRoleTagsInput, ...func(*iam.Options)) (*iam.ListRoleTagsOutput, error)
	ListInstanceProfileTags(context.Context, *iam.ListInstanceProfileTagsInput, ...func(*iam.Options)) (*iam.ListInstanceProfileTagsOutput, error)
}

// Filter selects what sweep deletes. Only resources under Path that carry
// buildrole:managed=true are ever considered; the other fields narrow
// further, and all that are set must match.
type Filter struct {
	Path       string
	Expired    bool          // buildrole:expires-at is in the past
	OlderThan  time.Duration // created more than this long ago
	Repository string
	PR         string
	RunID      string
	Now        time.Time
}

// SweepResult is one run found by sweep.
type SweepResult struct {
	RunID   string    `json:"run_id"`
	Names   []string  `json:"resources"`
	Status  string    `json:"status"` // "deleted", "would-delete", "failed"
	Error   string    `json:"error,omitempty"`
	Outcome []Outcome `json:"outcomes,omitempty"`
}

// SweepReport lists what sweep did.
type SweepReport struct {
	Runs    []SweepResult `json:"runs"`
	Skipped int           `json:"skipped"` // managed resources under the path that did not match
	Foreign int           `json:"foreign"` // resources under the path without the managed tag: never touched
	// Unreadable are resources under the path whose tags could not be
	// read (counted in Foreign); UnreadableErr is the first such error.
	Unreadable    []string `json:"unreadable,omitempty"`
	UnreadableErr error    `json:"-"`
}

// SweepOptions tune Sweep.
type SweepOptions struct {
	DryRun bool
	// Concurrency bounds the runs deleted at once. Default 8.
	Concurrency int
}

// candidate is a role or instance profile under the path.
type candidate struct {
	name    string
	profile bool
	held    []string // roles in the profile
	created time.Time
	tags    map[string]string
	gone    bool // deleted since it was listed
	// unreadable: tag reads denied; counted as foreign.
	unreadable bool
	err        error
}

func (c *candidate) readTags(ctx context.Context, api SweepAPI) error {
	var tags []types.Tag
	var err error
	if c.profile {
		var out *iam.ListInstanceProfileTagsOutput
		if out, err = api.ListInstanceProfileTags(ctx, &iam.ListInstanceProfileTagsInput{InstanceProfileName: aws.String(c.name)}); err == nil {
			tags = out.Tags
		}
	} else {
		var out *iam.ListRoleTagsOutput
		if out, err = api.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: aws.String(c.name)}); err == nil {
			tags = out.Tags
		}
	}
	switch {
	case isCode(err, "NoSuchEntity"):
		c.gone = true
	case isCode(err, deniedCodes...):
		// The bootstrap role may read tags only of what it manages: a
		// resource it cannot read is not ours, and must not stop the sweep.
		c.unreadable, c.err = true, err
		return nil
	case err != nil:
		kind := "role"
		if c.profile {
			kind = "instance profile"
		}
		return fmt.Errorf("list tags of %s %q: %w", kind, c.name, err)
	}
	c.tags = tagsOf(tags)
	return nil
}

type runGroup struct {
	roles    []string
	profiles map[string][]string // profile → roles it holds
	region   string
}

// Sweep finds the managed resources under the path that match the filter
// and deletes them run by run with the same teardown as Down.
func Sweep(ctx context.Context, api SweepAPI, f Filter, opt SweepOptions) (*SweepReport, error) {
	if f.Path == "" {
		return nil, errors.New("sweep needs a path")
	}
	runs := map[string]*runGroup{}
	rep := &SweepReport{}
	get := func(id string) *runGroup {
		if runs[id] == nil {
			runs[id] = &runGroup{profiles: map[string][]string{}}
		}
		return runs[id]
	}
	limit := opt.Concurrency
	if limit <= 0 {
		limit = 8
	}
	// ListRoles and ListInstanceProfiles return no tags: each resource's
	// tags take a call of their own, made concurrently.
	var cands []candidate
	roles := iam.NewListRolesPaginator(api, &iam.ListRolesInput{PathPrefix: aws.String(f.Path)})
	for roles.HasMorePages() {
		page, err := roles.NextPage(ctx)
		if err != nil {
			return rep, fmt.Errorf("list roles under %s: %w", f.Path, err)
		}
		for _, r := range page.Roles {
			if strings.HasPrefix(aws.ToString(r.Path), f.Path) {
				cands = append(cands, candidate{name: aws.ToString(r.RoleName), created: aws.ToTime(r.CreateDate)})
			}
		}
	}
	profiles := iam.NewListInstanceProfilesPaginator(api, &iam.ListInstanceProfilesInput{PathPrefix: aws.String(f.Path)})
	for profiles.HasMorePages() {
		page, err := profiles.NextPage(ctx)
		if err != nil {
			return rep, fmt.Errorf("list instance profiles under %s: %w", f.Path, err)
		}
		for _, p := range page.InstanceProfiles {
			if !strings.HasPrefix(aws.ToString(p.Path), f.Path) {
				continue
			}
			c := candidate{name: aws.ToString(p.InstanceProfileName), created: aws.ToTime(p.CreateDate), profile: true}
			for _, r := range p.Roles {
				c.held = append(c.held, aws.ToString(r.RoleName))
			}
			cands = append(cands, c)
		}
	}
	var tg errgroup.Group
	tg.SetLimit(limit)
	for i := range cands {
		tg.Go(func() error { return cands[i].readTags(ctx, api) })
	}
	if err := tg.Wait(); err != nil {
		return rep, err
	}
	for _, c := range cands {
		if c.gone {
			continue
		}
		if c.unreadable {
			rep.Foreign++
			rep.Unreadable = append(rep.Unreadable, c.name)
			if rep.UnreadableErr == nil {
				rep.UnreadableErr = c.err
			}
			continue
		}
		switch match(c.tags, c.created, f) {
		case matchForeign:
			rep.Foreign++
		case matchSkip:
			rep.Skipped++
		default:
			run := get(c.tags[naming.TagRunID])
			if c.profile {
				run.profiles[c.name] = c.held
			} else {
				run.roles = append(run.roles, c.name)
			}
		}
	}

	ids := make([]string, 0, len(runs))
	for id := range runs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	rep.Runs = make([]SweepResult, len(ids))
	var g errgroup.Group
	g.SetLimit(limit)
	var mu sync.Mutex
	var errs []error
	for i, id := range ids {
		run := runs[id]
		res := SweepResult{RunID: id, Names: run.names(), Status: "would-delete"}
		if opt.DryRun {
			rep.Runs[i] = res
			continue
		}
		g.Go(func() error {
			var outcomes []Outcome
			var runErr []error
			for _, st := range run.states(id, f.Path) {
				r, err := Down(ctx, api, st, Options{})
				outcomes = append(outcomes, r.Outcomes...)
				runErr = append(runErr, err)
			}
			res.Outcome, res.Status = outcomes, "deleted"
			if err := errors.Join(runErr...); err != nil {
				res.Status, res.Error = "failed", err.Error()
				mu.Lock()
				errs = append(errs, fmt.Errorf("run %s: %w", id, err))
				mu.Unlock()
			}
			rep.Runs[i] = res
			return nil
		})
	}
	_ = g.Wait()
	return rep, errors.Join(errs...)
}

func (r *runGroup) names() []string {
	out := append([]string(nil), r.roles...)
	for p := range r.profiles {
		out = append(out, "instance-profile/"+p)
	}
	sort.Strings(out)
	return out
}

// states turns what was found into Down states: the build role, the
// instance role (named ...-vm) and the profile in one, anything else alone.
func (r *runGroup) states(id, path string) []State {
	st := State{RunID: id, Path: path}
	var extra []State
	for _, role := range r.roles {
		switch {
		case strings.HasSuffix(role, naming.InstanceSuffix) && st.InstanceRole == "":
			st.InstanceRole, st.InstancePolicy = role, InstancePolicyName
		case !strings.HasSuffix(role, naming.InstanceSuffix) && st.Role == "":
			st.Role, st.BuildPolicy = role, BuildPolicyName
		default:
			extra = append(extra, State{RunID: id, Path: path, Role: role})
		}
	}
	for p, held := range r.profiles {
		s := State{RunID: id, Path: path, InstanceProfile: p}
		if len(held) > 0 {
			s.ProfileRole = held[0]
		}
		if st.InstanceProfile == "" {
			st.InstanceProfile, st.ProfileRole = s.InstanceProfile, s.ProfileRole
		} else {
			extra = append(extra, s)
		}
	}
	return append([]State{st}, extra...)
}

type matchResult int

const (
	matchForeign matchResult = iota
	matchSkip
	matchYes
)

func tagsOf(tags []types.Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

func match(tags map[string]string, created time.Time, f Filter) matchResult {
	if tags[naming.TagManaged] != "true" || tags[naming.TagRunID] == "" {
		return matchForeign
	}
	if f.RunID != "" && tags[naming.TagRunID] != f.RunID {
		return matchSkip
	}
	if f.Repository != "" && !strings.EqualFold(tags[naming.TagRepository], f.Repository) {
		return matchSkip
	}
	if f.PR != "" && tags[naming.TagPR] != f.PR {
		return matchSkip
	}
	if f.Expired {
		exp, err := time.Parse(time.RFC3339, tags[naming.TagExpiresAt])
		// A managed resource without a readable expiry is never deleted
		// on expiry alone: it may not be ours to judge.
		if err != nil || !exp.Before(f.Now) {
			return matchSkip
		}
	}
	if f.OlderThan > 0 && (created.IsZero() || f.Now.Sub(created) < f.OlderThan) {
		return matchSkip
	}
	return matchYes
}
