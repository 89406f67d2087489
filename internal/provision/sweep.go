package provision

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/buildrole/buildrole/internal/run"
	"golang.org/x/sync/errgroup"
)

// SweepAPI is the IAM calls sweep makes.
type SweepAPI interface {
	DownAPI
	ListRoleTags(context.Context, *iam.ListRoleTagsInput, ...func(*iam.Options)) (*iam.ListRoleTagsOutput, error)
	ListInstanceProfileTags(context.Context, *iam.ListInstanceProfileTagsInput, ...func(*iam.Options)) (*iam.ListInstanceProfileTagsOutput, error)
}

// Filter selects what sweep deletes. Only resources under Path that carry
// buildrole:managed=true are ever considered. Those buildrole did not
// write (Genuine) are deleted whatever the other fields say; the other
// fields select runs, and all that are set must match.
type Filter struct {
	Path       string
	Genuine    Genuine
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
	Runs []SweepResult `json:"runs"`
	// Impostors are managed resources under the path that buildrole did
	// not write: deleted, each alone, whatever the filter.
	Impostors []Impostor `json:"impostors,omitempty"`
	Skipped   int        `json:"skipped"` // managed resources under the path that did not match
	Foreign   int        `json:"foreign"` // resources under the path without the managed tag: never touched
	// Unreadable are resources under the path whose tags could not be
	// read (counted in Foreign); UnreadableErr is the first such error.
	Unreadable    []string `json:"unreadable,omitempty"`
	UnreadableErr error    `json:"-"`
	// Warnings say what sweep could not check.
	Warnings []string `json:"warnings,omitempty"`
	// MaxTTL is the max-ttl sweep judged by; Notes say where it came from.
	MaxTTL string   `json:"max_ttl"`
	Notes  []string `json:"notes,omitempty"`
}

// SweepOptions tune Sweep.
type SweepOptions struct {
	DryRun bool
	// Concurrency bounds the runs deleted at once. Default 8.
	Concurrency int
}

// candidate is a role or instance profile under the path.
type candidate struct {
	name     string
	profile  bool
	held     []string          // roles in the profile
	heldPath map[string]string // their paths
	trust    string            // a role's trust policy, decoded
	created  time.Time
	tags     map[string]string
	gone     bool // deleted since it was listed
	// unreadable: tag reads denied, or a managed role's policies; counted
	// as foreign.
	unreadable bool
	err        error
	// A role's inline policy names and attached policy ARNs; policiesErr
	// is a refused read of them.
	inline, attached []string
	policiesErr      error
	policiesGone     bool
	impostor         []string // why buildrole did not write it
	doubt            string   // why it may not be this bootstrap's run
}

// read reads a candidate's tags and, for a role, its policies, at once.
func (c *candidate) read(ctx context.Context, api SweepAPI) error {
	if c.profile {
		return c.readTags(ctx, api)
	}
	var g errgroup.Group
	g.Go(func() error { return c.readTags(ctx, api) })
	g.Go(func() error { return c.readPolicies(ctx, api) })
	err := g.Wait()
	c.gone = c.gone || c.policiesGone
	return err
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
	case absent(err):
		c.gone = true
	case denied(err):
		// The bootstrap role may read tags only of what it manages: a
		// resource it cannot read is not ours, and must not stop the sweep.
		c.unreadable, c.err = true, err
		return nil
	case err != nil:
		kind := run.KindRole
		if c.profile {
			kind = run.KindInstanceProfile
		}
		return fmt.Errorf("list tags of %s %q: %w", kind, c.name, err)
	}
	c.tags = tagsOf(tags)
	return nil
}

type runGroup struct {
	roles    []string
	profiles map[string][]string // profile → roles it holds
}

// Sweep finds the managed resources under the path that match the filter
// and deletes them run by run with the same teardown as Down.
func Sweep(ctx context.Context, api SweepAPI, f Filter, opt SweepOptions) (*SweepReport, error) {
	if f.Path == "" {
		return nil, errors.New("sweep needs a path")
	}
	if f.Genuine.AccountID == "" || f.Genuine.Partition == "" || f.Genuine.MaxTTL <= 0 {
		return nil, errors.New("sweep needs the account, its partition and its max-ttl")
	}
	limit := opt.Concurrency
	if limit <= 0 {
		limit = 8
	}
	rep := &SweepReport{}
	var gateErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.Genuine, gateErr = f.Genuine.ReadBootstrap(ctx, api)
	}()
	cands, err := listCandidates(ctx, api, f.Path)
	<-done
	if err != nil {
		return rep, err
	}
	if gateErr != nil {
		rep.Warnings = append(rep.Warnings, gateWarning(f.Genuine.BootstrapRole, gateErr))
	}
	var warning, note string
	f.Genuine, warning, note = f.Genuine.SettleMaxTTL(gateErr)
	rep.MaxTTL = run.FormatTTL(f.Genuine.MaxTTL)
	if warning != "" {
		rep.Warnings = append(rep.Warnings, warning)
	}
	if note != "" {
		rep.Notes = append(rep.Notes, note)
	}
	// ListRoles and ListInstanceProfiles return no tags (nor a role's
	// policies): each resource's take calls of their own, made
	// concurrently.
	var tg errgroup.Group
	tg.SetLimit(limit)
	for i := range cands {
		tg.Go(func() error { return cands[i].read(ctx, api) })
	}
	if err := tg.Wait(); err != nil {
		return rep, err
	}
	f.Genuine.findImpostors(cands, f.Path, f.Now)
	rep.Warnings = append(rep.Warnings, doubts(cands, f.Path)...)
	runs := groupRuns(cands, f, rep)
	// Impostors first: one may hold, or sit in, a run's resource.
	ierr := deleteImpostors(ctx, api, cands, f.Path, opt, limit, rep)
	return rep, errors.Join(ierr, deleteRuns(ctx, api, runs, f.Path, opt, limit, rep))
}

// listCandidates lists the roles and instance profiles under path.
func listCandidates(ctx context.Context, api SweepAPI, path string) ([]candidate, error) {
	var cands []candidate
	roles := iam.NewListRolesPaginator(api, &iam.ListRolesInput{PathPrefix: aws.String(path)})
	for roles.HasMorePages() {
		page, err := roles.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list roles under %s: %w", path, err)
		}
		for _, r := range page.Roles {
			if strings.HasPrefix(aws.ToString(r.Path), path) {
				cands = append(cands, candidate{name: aws.ToString(r.RoleName), created: aws.ToTime(r.CreateDate), trust: trustOf(r.AssumeRolePolicyDocument)})
			}
		}
	}
	profiles := iam.NewListInstanceProfilesPaginator(api, &iam.ListInstanceProfilesInput{PathPrefix: aws.String(path)})
	for profiles.HasMorePages() {
		page, err := profiles.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list instance profiles under %s: %w", path, err)
		}
		for _, p := range page.InstanceProfiles {
			if !strings.HasPrefix(aws.ToString(p.Path), path) {
				continue
			}
			c := candidate{name: aws.ToString(p.InstanceProfileName), created: aws.ToTime(p.CreateDate), profile: true, heldPath: map[string]string{}}
			for _, r := range p.Roles {
				c.held = append(c.held, aws.ToString(r.RoleName))
				c.heldPath[aws.ToString(r.RoleName)] = aws.ToString(r.Path)
			}
			cands = append(cands, c)
		}
	}
	return cands, nil
}

// groupRuns sorts the candidates into the runs the filter selects, and
// counts the rest in rep.
func groupRuns(cands []candidate, f Filter, rep *SweepReport) map[string]*runGroup {
	runs := map[string]*runGroup{}
	for _, c := range cands {
		if c.gone || len(c.impostor) > 0 {
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
			id := c.tags[run.TagRunID]
			g := runs[id]
			if g == nil {
				g = &runGroup{profiles: map[string][]string{}}
				runs[id] = g
			}
			if c.profile {
				g.profiles[c.name] = c.held
			} else {
				g.roles = append(g.roles, c.name)
			}
		}
	}
	return runs
}

// deleteRuns tears down each selected run (or, in a dry run, lists it),
// at most limit at once, in the order of their ids.
func deleteRuns(ctx context.Context, api SweepAPI, runs map[string]*runGroup, path string, opt SweepOptions, limit int, rep *SweepReport) error {
	ids := slices.Sorted(maps.Keys(runs))
	rep.Runs = make([]SweepResult, len(ids))
	var g errgroup.Group
	g.SetLimit(limit)
	var mu sync.Mutex
	var errs []error
	for i, id := range ids {
		group := runs[id]
		res := SweepResult{RunID: id, Names: group.names(), Status: "would-delete"}
		if opt.DryRun {
			rep.Runs[i] = res
			continue
		}
		g.Go(func() error {
			var outcomes []Outcome
			var runErr []error
			for _, st := range group.states(id, path) {
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
	return errors.Join(errs...)
}

func (r *runGroup) names() []string {
	out := append([]string(nil), r.roles...)
	for p := range r.profiles {
		out = append(out, run.IAMTypeInstanceProfile+"/"+p)
	}
	sort.Strings(out)
	return out
}

// states turns what was found into Down states: the build role, the
// instance role (named ...-vm) and the profile in one, anything else alone.
func (r *runGroup) states(id, path string) []run.State {
	st := run.State{RunID: id, Path: path}
	var extra []run.State
	for _, role := range r.roles {
		switch {
		case strings.HasSuffix(role, run.InstanceSuffix) && st.InstanceRole == "":
			st.InstanceRole, st.InstancePolicy = role, run.InstancePolicyName
		case !strings.HasSuffix(role, run.InstanceSuffix) && st.Role == "":
			st.Role, st.BuildPolicy = role, run.BuildPolicyName
		default:
			extra = append(extra, run.State{RunID: id, Path: path, Role: role})
		}
	}
	for p, held := range r.profiles {
		s := run.State{RunID: id, Path: path, InstanceProfile: p}
		if len(held) > 0 {
			s.ProfileRole = held[0]
		}
		if st.InstanceProfile == "" {
			st.InstanceProfile, st.ProfileRole = s.InstanceProfile, s.ProfileRole
		} else {
			extra = append(extra, s)
		}
	}
	return append([]run.State{st}, extra...)
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

// Matches reports whether a run with these tags, made at created (zero if
// unknown), is one the filter selects: sweep's EC2 pass judges a killed
// build's leftovers, which carry the run's tags, as it judges its roles.
func (f Filter) Matches(tags map[string]string, created time.Time) bool {
	return match(tags, created, f) == matchYes
}

func match(tags map[string]string, created time.Time, f Filter) matchResult {
	if tags[run.TagManaged] != run.TagManagedValue || tags[run.TagRunID] == "" {
		return matchForeign
	}
	if f.RunID != "" && tags[run.TagRunID] != f.RunID {
		return matchSkip
	}
	if f.Repository != "" && !strings.EqualFold(tags[run.TagRepository], f.Repository) {
		return matchSkip
	}
	if f.PR != "" && tags[run.TagPR] != f.PR {
		return matchSkip
	}
	if f.Expired {
		exp, err := time.Parse(time.RFC3339, tags[run.TagExpiresAt])
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
