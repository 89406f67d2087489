package provision

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/buildrole/buildrole/internal/run"
	"golang.org/x/sync/errgroup"
)

// Genuine is what buildrole writes in one account: sweep holds every
// managed role and instance profile under the path to it, and deletes the
// impostors, which a job holding the bootstrap role could plant (IAM
// checks neither the trust policy CreateRole is given nor tag values).
type Genuine struct {
	Partition string
	AccountID string
	// MaxTTL is the longest ttl the account allows: the max-ttl input,
	// until SettleMaxTTL puts the account's in its place.
	MaxTTL time.Duration
	// MaxTTLGiven: the max-ttl input was set, not left to its default.
	MaxTTLGiven bool
	// BootstrapRole is the ARN of the bootstrap role, whose trust policy
	// says which jobs a build role may trust; "" when unknown (chain mode,
	// an administrator's own credentials): any GitHub subject then passes.
	BootstrapRole string

	gate *run.JobGate
	// read: the bootstrap role's entry was read; accountMaxTTL is the
	// max-ttl its Description carries (0: none), maxTTLErr a bad one.
	read          bool
	accountMaxTTL time.Duration
	maxTTLErr     error
	// tried: ReadBootstrap ran; readErr is what it found wrong, given
	// again instead of listing the path again.
	tried   bool
	readErr error
}

// ReadBootstrap reads the bootstrap role's trust policy and the account's
// max-ttl from the listing of its path (ListRoles returns trust policies
// and descriptions, and the bootstrap policy grants it on every role),
// once: up before it creates anything, sweep beside its listing.
func (g Genuine) ReadBootstrap(ctx context.Context, api RolesAPI) (Genuine, error) {
	if g.BootstrapRole == "" || g.tried {
		return g, g.readErr
	}
	g.tried = true
	g.readErr = g.readBootstrap(ctx, api)
	return g, g.readErr
}

func (g *Genuine) readBootstrap(ctx context.Context, api RolesAPI) error {
	i := strings.Index(g.BootstrapRole, ":role/")
	if i < 0 {
		return fmt.Errorf("%q is not a role ARN", g.BootstrapRole)
	}
	rest := g.BootstrapRole[i+len(":role"):]
	path, name := rest[:strings.LastIndex(rest, "/")+1], rest[strings.LastIndex(rest, "/")+1:]
	pages := iam.NewListRolesPaginator(api, &iam.ListRolesInput{PathPrefix: aws.String(path), MaxItems: aws.Int32(1000)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list roles under %s: %w", path, err)
		}
		for _, r := range page.Roles {
			if aws.ToString(r.RoleName) == name && aws.ToString(r.Path) == path {
				gate, err := run.NewJobGate(name, trustOf(r.AssumeRolePolicyDocument))
				g.gate, g.read = gate, true
				g.accountMaxTTL, _, g.maxTTLErr = run.MaxTTLOf(aws.ToString(r.Description))
				return err
			}
		}
	}
	return fmt.Errorf("IAM does not list it under %s", path)
}

// SettleMaxTTL puts the account's max-ttl, which the bootstrap role's
// Description carries, in place of the input's, and says which one rules:
// a warning when they disagree or the account's is unreadable, otherwise
// a note. readErr is why the bootstrap role could not be read, if not.
func (g Genuine) SettleMaxTTL(readErr error) (settled Genuine, warning, note string) {
	input := run.FormatTTL(g.MaxTTL)
	switch {
	case g.BootstrapRole == "":
		return g, "", fmt.Sprintf("max-ttl %s, from the input: without role-to-assume there is no bootstrap role to read the account's from", input)
	case !g.read:
		return g, "", fmt.Sprintf("max-ttl %s, from the input: the bootstrap role %s could not be read (%v)", input, g.BootstrapRole, readErr)
	case g.maxTTLErr != nil:
		return g, fmt.Sprintf("%v; using max-ttl %s, from the input. Re-apply buildrole bootstrap with --max-ttl (docs/ADMIN.md, section 1)", g.maxTTLErr, input), ""
	case g.accountMaxTTL == 0:
		return g, "", fmt.Sprintf("max-ttl %s, from the input: the bootstrap role's description carries none (a bootstrap from an older buildrole; re-apply it to set the account's)", input)
	}
	account := run.FormatTTL(g.accountMaxTTL)
	if g.MaxTTLGiven && g.accountMaxTTL != g.MaxTTL {
		warning = fmt.Sprintf("the max-ttl input %s is not the account's %s, which the bootstrap role's description carries: using the account's (change it by re-applying buildrole bootstrap with --max-ttl)", input, account)
	} else {
		note = fmt.Sprintf("max-ttl %s, the account's (from the bootstrap role's description)", account)
	}
	g.MaxTTL = g.accountMaxTTL
	return g, warning, note
}

// gateWarning says what sweep and up's look cannot see when the bootstrap
// role's trust could not be read.
func gateWarning(role string, err error) string {
	return fmt.Sprintf("could not read which jobs the bootstrap role %s admits (%v): a role trusting the exact subject of a job it does not admit is not recognised as planted", role, err)
}

// Impostor is a managed role or instance profile under the path that
// buildrole did not write, and what sweep did with it.
type Impostor struct {
	Kind    string    `json:"kind"` // "role", "instance-profile"
	Name    string    `json:"name"`
	Why     []string  `json:"why"`
	Status  string    `json:"status"` // "deleted", "would-delete", "failed"
	Error   string    `json:"error,omitempty"`
	Outcome []Outcome `json:"outcomes,omitempty"`
}

// readPolicies lists a role's inline and attached policies, concurrently.
// A refusal is kept, not returned: the role may not be the bootstrap's to
// read, and then its tags tell.
func (c *candidate) readPolicies(ctx context.Context, api SweepAPI) error {
	var g errgroup.Group
	var inline, attached []string
	var inlineErr, attachedErr error
	g.Go(func() error {
		pages := iam.NewListRolePoliciesPaginator(api, &iam.ListRolePoliciesInput{RoleName: aws.String(c.name)})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				inlineErr = fmt.Errorf("list inline policies of role %q: %w", c.name, err)
				return nil
			}
			inline = append(inline, page.PolicyNames...)
		}
		return nil
	})
	g.Go(func() error {
		pages := iam.NewListAttachedRolePoliciesPaginator(api, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(c.name)})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				attachedErr = fmt.Errorf("list attached policies of role %q: %w", c.name, err)
				return nil
			}
			for _, p := range page.AttachedPolicies {
				attached = append(attached, aws.ToString(p.PolicyArn))
			}
		}
		return nil
	})
	_ = g.Wait()
	c.inline, c.attached = inline, attached
	for _, err := range []error{inlineErr, attachedErr} {
		switch {
		case err == nil:
		case absent(err):
			c.policiesGone = true
		case denied(err):
			c.policiesErr = err
		default:
			return err
		}
	}
	return nil
}

// why lists what in a managed role or profile buildrole never writes;
// impostorRoles are the roles already found to be impostors, for the
// profiles that hold them.
func (g Genuine) why(c *candidate, path string, impostorRoles map[string]bool, now time.Time) []string {
	var out []string
	if id := c.tags[run.TagRunID]; !run.IsRunID(id) {
		out = append(out, fmt.Sprintf("its %s %q is not a run id buildrole makes", run.TagRunID, id))
	}
	out = append(out, g.lifetime(c, now)...)
	if c.profile {
		for _, r := range c.held {
			switch {
			case impostorRoles[r]:
				out = append(out, fmt.Sprintf("it holds role %s, which buildrole did not write", r))
			case !strings.HasPrefix(c.heldPath[r], path):
				out = append(out, fmt.Sprintf("it holds role %s%s, outside %s", c.heldPath[r], r, path))
			}
		}
		return out
	}
	instance, why, doubt := run.TrustProblem(c.trust, g.Partition, g.AccountID, g.gate)
	c.doubt = doubt
	if why != "" {
		out = append(out, why)
	}
	want := run.BuildPolicyName
	if instance {
		want = run.InstancePolicyName
	}
	for _, p := range c.inline {
		if p != want {
			out = append(out, fmt.Sprintf("it has the inline policy %q; buildrole writes only %q on a role with its trust", p, want))
		}
	}
	for _, p := range c.attached {
		out = append(out, fmt.Sprintf("it has the managed policy %s attached; buildrole attaches none", p))
	}
	return out
}

// lifetime checks the expiry a resource claims against IAM's CreateDate,
// which a job cannot forge: no run is made to outlive max-ttl.
func (g Genuine) lifetime(c *candidate, now time.Time) []string {
	created := c.created
	if created.IsZero() {
		created = now
	}
	limit := g.MaxTTL + run.ClockSkew
	raw := c.tags[run.TagExpiresAt]
	exp, err := time.Parse(time.RFC3339, raw)
	var out []string
	if err != nil {
		out = append(out, fmt.Sprintf("its %s %q is not a time", run.TagExpiresAt, raw))
	}
	switch {
	case now.Sub(created) > limit && (err != nil || !exp.Before(now)):
		// A genuine run this old has expired, and the expired filter
		// takes it.
		out = append(out, fmt.Sprintf("IAM created it %s ago, more than max-ttl %s, and it claims to live on", now.Sub(created).Round(time.Minute), run.FormatTTL(g.MaxTTL)))
	case err == nil && exp.Sub(created) > limit:
		out = append(out, fmt.Sprintf("its %s %s lies more than max-ttl %s after IAM created it (%s)", run.TagExpiresAt, raw, run.FormatTTL(g.MaxTTL), created.UTC().Format(time.RFC3339)))
	}
	return out
}

// findImpostors marks the managed candidates buildrole did not write:
// roles first, then the profiles (which may hold them). A managed role
// whose policies could not be read, and that nothing else gives away, is
// unreadable.
func (g Genuine) findImpostors(cands []candidate, path string, now time.Time) {
	roles := map[string]bool{}
	for _, profiles := range []bool{false, true} {
		for i := range cands {
			c := &cands[i]
			if c.profile != profiles || c.gone || c.unreadable || c.tags[run.TagManaged] != run.TagManagedValue {
				continue
			}
			c.impostor = g.why(c, path, roles, now)
			if len(c.impostor) > 0 && c.doubt != "" {
				c.impostor = append(c.impostor, "its trust policy "+c.doubt)
			}
			switch {
			case len(c.impostor) > 0 && !c.profile:
				roles[c.name] = true
			case len(c.impostor) == 0 && c.policiesErr != nil:
				c.unreadable, c.err = true, c.policiesErr
			}
		}
	}
}

// doubts warns of the managed roles sweep keeps though they trust a
// repository the bootstrap role does not name: another bootstrap role's
// runs on the same path, or planted (see docs/ADMIN.md, section 4).
func doubts(cands []candidate, path string) []string {
	var out []string
	for _, c := range cands {
		if c.doubt != "" && len(c.impostor) == 0 && !c.unreadable && !c.profile {
			out = append(out, fmt.Sprintf("role %s %s: if no other bootstrap role shares path %s, it is planted; delete it with buildrole sweep --run-id %s", c.name, c.doubt, path, c.tags[run.TagRunID]))
		}
	}
	slices.Sort(out)
	return out
}

// deleteImpostors tears each impostor down alone, with Down, under its
// own run id tag: profiles first, which may hold impostor roles.
func deleteImpostors(ctx context.Context, api SweepAPI, cands []candidate, path string, opt SweepOptions, limit int, rep *SweepReport) error {
	var errs []error
	var mu sync.Mutex
	for _, profiles := range []bool{true, false} {
		var g errgroup.Group
		g.SetLimit(limit)
		for i := range cands {
			c := &cands[i]
			if len(c.impostor) == 0 || c.profile != profiles {
				continue
			}
			kind := run.IAMTypeRole
			st := run.State{RunID: c.tags[run.TagRunID], Path: path, Role: c.name}
			if c.profile {
				kind = run.IAMTypeInstanceProfile
				st = run.State{RunID: st.RunID, Path: path, InstanceProfile: c.name}
				if len(c.held) > 0 {
					st.ProfileRole = c.held[0]
				}
			}
			imp := Impostor{Kind: kind, Name: c.name, Why: c.impostor, Status: "would-delete"}
			if opt.DryRun {
				rep.Impostors = append(rep.Impostors, imp)
				continue
			}
			g.Go(func() error {
				r, err := Down(ctx, api, st, Options{})
				imp.Outcome, imp.Status = r.Outcomes, StatusDeleted
				if err != nil {
					imp.Status, imp.Error = StatusFailed, err.Error()
				}
				mu.Lock()
				defer mu.Unlock()
				rep.Impostors = append(rep.Impostors, imp)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s %s: %w", kind, c.name, err))
				}
				return nil
			})
		}
		_ = g.Wait()
	}
	slices.SortFunc(rep.Impostors, func(a, b Impostor) int {
		return strings.Compare(a.Kind+"/"+a.Name, b.Kind+"/"+b.Name)
	})
	return errors.Join(errs...)
}

// RolesAPI lists roles.
type RolesAPI interface {
	ListRoles(context.Context, *iam.ListRolesInput, ...func(*iam.Options)) (*iam.ListRolesOutput, error)
}

// Suspect is a role within the bootstrap role's reach whose trust policy
// buildrole never writes.
type Suspect struct {
	Name string
	Why  string
}

// Suspects lists the roles whose path and name begin with path and
// prefix+"-" (what the bootstrap role may create) and whose trust policy
// is none buildrole writes in the account. ListRoles returns every trust
// policy; it returns no tags, so whether sweep may delete one (it carries
// buildrole:managed=true) is not known here. The bootstrap role's trust is
// listed beside; when it cannot be read, the error says so and the
// suspects found without it are returned.
func Suspects(ctx context.Context, api RolesAPI, path, prefix string, g Genuine) ([]Suspect, error) {
	var gateErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		g, gateErr = g.ReadBootstrap(ctx, api)
	}()
	type listed struct{ name, trust string }
	var roles []listed
	pages := iam.NewListRolesPaginator(api, &iam.ListRolesInput{PathPrefix: aws.String(path)})
	var listErr error
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			listErr = fmt.Errorf("list roles under %s: %w", path, err)
			break
		}
		for _, r := range page.Roles {
			if name := aws.ToString(r.Path) + aws.ToString(r.RoleName); strings.HasPrefix(name, path+prefix+"-") {
				roles = append(roles, listed{name, trustOf(r.AssumeRolePolicyDocument)})
			}
		}
	}
	<-done
	if listErr != nil {
		return nil, listErr
	}
	var out []Suspect
	for _, r := range roles {
		// A doubt (a repository the bootstrap role does not name) is
		// sweep's to report: here it may be another bootstrap's run.
		if _, why, _ := run.TrustProblem(r.trust, g.Partition, g.AccountID, g.gate); why != "" {
			out = append(out, Suspect{Name: r.name, Why: why})
		}
	}
	if gateErr != nil {
		return out, errors.New(gateWarning(g.BootstrapRole, gateErr))
	}
	return out, nil
}

// trustOf decodes a trust policy as IAM lists it (URL-encoded).
func trustOf(doc *string) string {
	s, err := url.QueryUnescape(aws.ToString(doc))
	if err != nil {
		return aws.ToString(doc)
	}
	return s
}
