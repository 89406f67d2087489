package accountsetup

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/buildrole/buildrole/internal/run"
)

// GitHub's OIDC sub claim, as GitHub's OIDC reference gives it. By default
// it is "repo:OWNER/REPO:CONTEXT", the context being "pull_request",
// "ref:refs/heads/BRANCH", "ref:refs/tags/TAG" or "environment:NAME". A
// customized template (include_claim_keys) writes the claims it names as
// KEY:VALUE pairs in its order ("repo" and the context among them). A ':'
// inside a value is written "%3A", so ':' separates the parts.

// ghClaims are the claims a customized template may name besides "repo"
// and the context; repo_property_* claims too.
var ghClaims = []string{
	"actor", "actor_id", "base_ref", "check_run_id", "enterprise", "enterprise_id",
	"environment", "event_name", "head_ref", "job_workflow_ref", "job_workflow_sha",
	"ref", "ref_type", "repository_id", "repository_owner", "repository_owner_id",
	"repository_visibility", "run_attempt", "run_id", "run_number", "runner_environment",
	"workflow", "workflow_ref", "workflow_sha",
}

// ownerClaims name the repository's owner or enterprise: with one, a
// stranger's repository cannot present the sub.
var ownerClaims = []string{"repository_owner", "repository_owner_id", "enterprise", "enterprise_id"}

func isClaim(key string) bool {
	return slices.Contains(ghClaims, key) || strings.HasPrefix(key, "repo_property_") && len(key) > len("repo_property_")
}

// sharedIssuerHost is github.com's issuer, which every repository's tokens
// share (an enterprise may have its own, GitHub Enterprise Server has).
const sharedIssuerHost = run.GitHubOIDCHost

// subjectPair is one KEY:VALUE part of a sub; key "context" is the
// default form's context (one part or two).
type subjectPair struct{ key, val string }

// subject is one admitted sub claim, read as GitHub writes it.
type subject struct {
	full  string
	repo  string // OWNER/REPO of its repo part; "" without one
	rest  string // what follows the repo part (all of it without one)
	pairs []subjectPair
}

// template is the include_claim_keys the subject assumes.
func (s subject) template() []string {
	var keys []string
	if s.repo != "" {
		keys = append(keys, "repo")
	}
	for _, p := range s.pairs {
		keys = append(keys, p.key)
	}
	return keys
}

func (s subject) defaultForm() bool {
	return s.repo != "" && len(s.pairs) == 1 && s.pairs[0].key == "context"
}

// splitSubjects splits a --subject value at commas, as --tags is: no sub
// GitHub writes for a default-form context contains a comma.
func splitSubjects(given string) []string {
	if !strings.Contains(given, ",") {
		return []string{strings.TrimSpace(given)}
	}
	var out []string
	for _, s := range strings.Split(given, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// parseSubject reads one given subject: a context after base
// ("repo:OWNER/REPO:"), a full "repo:..." sub, or a customized sub that
// begins with another claim. Near misses of GitHub's forms are errors
// naming the form meant.
func parseSubject(given, base string) (subject, error) {
	if err := subjectText(given); err != nil {
		return subject{}, err
	}
	first, _, _ := strings.Cut(given, ":")
	switch {
	case first == "repo":
		return parseFullSubject(given)
	case first != "ref" && first != "environment" && isClaim(first):
		s := subject{full: given, rest: given}
		err := s.readPairs(given, "", false)
		return s, err
	case strings.EqualFold(first, "repo") || strings.EqualFold(first, "repository"):
		return subject{}, fmt.Errorf("bootstrap subject %q: GitHub's sub begins %q (lower case, never \"repository:\")", given, "repo:")
	}
	s := subject{full: base + given, repo: strings.TrimSuffix(strings.TrimPrefix(base, "repo:"), ":"), rest: given}
	err := s.readPairs(given, "", true)
	return s, err
}

// subjectText holds a subject to what a sub and a policy can carry.
func subjectText(given string) error {
	switch {
	case given == "":
		return errors.New("bootstrap subject: empty subject; give e.g. \"pull_request\" or \"ref:refs/heads/main\"")
	case strings.Trim(given, "*?") == "":
		return fmt.Errorf("bootstrap subject %q: a bare wildcard admits every workflow of the repository (or of every repository); list the refs, environments or events allowed", given)
	case strings.ContainsFunc(given, func(r rune) bool { return r < 0x21 || r > 0x7E }):
		return fmt.Errorf("bootstrap subject %q: must be printable ASCII without spaces", given)
	case strings.Contains(given, "${"):
		return fmt.Errorf("bootstrap subject %q: \"${\" would be read as a policy variable", given)
	}
	return nil
}

// parseFullSubject reads a sub that begins "repo:".
func parseFullSubject(given string) (subject, error) {
	repoPart, rest, hasRest := strings.Cut(strings.TrimPrefix(given, "repo:"), ":")
	s := subject{full: given, repo: repoPart, rest: rest}
	slash, wild := strings.IndexByte(repoPart, '/'), strings.IndexAny(repoPart, "*?")
	switch {
	case repoPart == "" || hasRest && rest == "":
		return s, fmt.Errorf("bootstrap subject %q: want \"repo:OWNER/REPO:CONTEXT\" (e.g. \"repo:octo/app:ref:refs/heads/main\")", given)
	case wild >= 0 && (slash < 0 || wild < slash):
		// IAM's * matches '/' too: "repo:octo*" admits "repo:octo-evil/app".
		return s, fmt.Errorf("bootstrap subject %q: the repository part %q has a wildcard in the owner, and anyone can register an owner that matches; name the owner", given, repoPart)
	case slash < 0:
		return s, fmt.Errorf("bootstrap subject %q: the repository part %q is not OWNER/REPO", given, repoPart)
	case hasRest && strings.Trim(rest, "*?") == "":
		return s, fmt.Errorf("bootstrap subject %q: a bare wildcard context admits every workflow; list the refs, environments or events allowed", given)
	}
	err := s.readPairs(rest, "repo:"+repoPart+":", true)
	return s, err
}

// readPairs reads rest into s.pairs; context says the first part is where
// the default form has its context. prefix is what came before rest in
// the given subject, for naming the fix of a near miss.
func (s *subject) readPairs(rest, prefix string, context bool) error {
	if rest == "" {
		return nil
	}
	fail := func(err error) error {
		var nm *nearMiss
		if errors.As(err, &nm) {
			nm.prefix = prefix
		}
		return fmt.Errorf("bootstrap subject %q: %w", prefix+rest, err)
	}
	parts := strings.Split(rest, ":")
	for j, part := range parts {
		switch {
		case part != "":
		case j > 0 && parts[j-1] != "" && parts[j-1] != "pull_request":
			return fail(fmt.Errorf("%q has no value; GitHub writes %s:VALUE", parts[j-1], parts[j-1]))
		default:
			return fail(errors.New("an empty part; GitHub writes KEY:VALUE parts separated by ':'"))
		}
	}
	for i := 0; i < len(parts); {
		n := 0
		if context && i == 0 {
			var err error
			if n, err = s.readContext(parts); err != nil {
				return fail(err)
			}
		}
		switch {
		case n > 0:
		case parts[i] == "pull_request":
			s.pairs, n = append(s.pairs, subjectPair{"context", "pull_request"}), 1
		case i+1 < len(parts):
			s.pairs, n = append(s.pairs, subjectPair{parts[i], parts[i+1]}), 2
		case isClaim(parts[i]):
			return fail(fmt.Errorf("%q has no value; GitHub writes %s:VALUE", parts[i], parts[i]))
		default:
			// Not KEY:VALUE: the template warning names it.
			s.pairs, n = append(s.pairs, subjectPair{key: parts[i]}), 1
		}
		i += n
	}
	return nil
}

// readContext reads the default form's context at the start of parts and
// returns how many parts it took (0: no context there, a claim follows).
// A near miss of a context is an error naming the form GitHub writes.
func (s *subject) readContext(parts []string) (int, error) {
	head := parts[0]
	switch {
	case hasWildcard(head):
		// "*:*" matches every context, "*:foo" any event's or ref's.
		return 0, fmt.Errorf("the context %q has a wildcard, which admits every kind of event, ref or environment; give pull_request, ref:refs/heads/BRANCH, ref:refs/tags/TAG or environment:NAME", head)
	case head == "pull_request":
		if len(parts) > 1 && !isClaim(parts[1]) {
			return 0, &nearMiss{fix: "pull_request", why: "GitHub's sub for a pull request event carries no number or branch"}
		}
		s.pairs = append(s.pairs, subjectPair{"context", head})
		return 1, nil
	case (head == "environment" || head == "ref") && len(parts) == 1:
		return 0, fmt.Errorf("%q needs a value: GitHub writes environment:NAME, ref:refs/heads/BRANCH or ref:refs/tags/TAG", head)
	case head == "environment":
		s.pairs = append(s.pairs, subjectPair{"context", "environment:" + parts[1]})
		return 2, nil
	case head == "ref":
		return s.readRef(parts)
	}
	if nm, n := contextFix(parts); nm != nil {
		nm.fix = strings.Join(append([]string{nm.fix}, parts[n:]...), ":")
		return 0, nm
	}
	return 0, nil
}

// readRef reads "ref:REF": a branch or a tag is the default context;
// another ref under refs/ (refs/pull/N/merge) only a template naming the
// ref claim writes.
func (s *subject) readRef(parts []string) (int, error) {
	v := parts[1]
	if fixed := refFix(v); fixed != v {
		return 0, &nearMiss{fix: strings.Join(append([]string{"ref:" + fixed}, parts[2:]...), ":"), why: "a branch is written ref:refs/heads/BRANCH, a tag ref:refs/tags/TAG"}
	}
	branchOrTag := func(r string) bool { return strings.HasPrefix(r, "refs/heads/") || strings.HasPrefix(r, "refs/tags/") }
	if i := strings.IndexAny(v, "*?"); i >= 0 && !branchOrTag(v[:i]) {
		// "ref:*" and "ref:refs/*" admit every branch and tag.
		return 0, fmt.Errorf("%q has a wildcard before refs/heads/ or refs/tags/, so it admits every branch and tag; name refs/heads/... or refs/tags/... explicitly (ref:refs/heads/release/* for a family of branches)", "ref:"+v)
	}
	key := "context"
	if !branchOrTag(v) && !hasWildcard(v) {
		key = "ref"
	}
	s.pairs = append(s.pairs, subjectPair{key, v})
	return 2, nil
}

// nearMiss is a subject GitHub never writes, with the form it writes.
type nearMiss struct {
	prefix, fix, why string
	// branch: a bare name, taken for a branch (or an environment).
	branch string
	// placeholder: fix has a BRANCH to fill in.
	placeholder bool
}

func (e *nearMiss) Error() string {
	msg := fmt.Sprintf("GitHub never writes this; %s: give %q", e.why, e.prefix+e.fix)
	if e.placeholder {
		msg += " naming the branch (ref:refs/tags/TAG for a tag)"
	}
	if e.branch != "" {
		msg += fmt.Sprintf(" for a branch, or %q for an environment", e.prefix+"environment:"+e.branch)
	}
	return msg
}

// contextFix is the context meant by a context GitHub never writes and
// how many parts it replaces, or nil when parts begin with something else
// (a claim of a customized template).
func contextFix(parts []string) (*nearMiss, int) {
	head := parts[0]
	norm := strings.NewReplacer("-", "_", " ", "_").Replace(strings.ToLower(head))
	if slices.Contains([]string{"pull_request", "pull_requests", "pullrequest", "pr"}, norm) {
		n := 1
		if len(parts) > 1 && !isClaim(parts[1]) {
			n = 2
		}
		return &nearMiss{fix: "pull_request", why: "a pull request event's context is pull_request"}, n
	}
	if len(parts) == 1 {
		switch {
		case strings.HasPrefix(head, "refs/pull/"):
			return &nearMiss{fix: "pull_request", why: "a pull request event's context is pull_request, not its ref"}, 1
		case strings.HasPrefix(head, "refs/") || strings.HasPrefix(head, "heads/") || strings.HasPrefix(head, "tags/"):
			return &nearMiss{fix: "ref:" + refFix(head), why: "a branch is written ref:refs/heads/BRANCH, a tag ref:refs/tags/TAG"}, 1
		}
		if slices.Contains(refEvents, head) {
			return &nearMiss{fix: "ref:refs/heads/BRANCH", why: "GitHub's sub for a " + head + " event is the ref it runs on, ref:refs/heads/BRANCH", placeholder: true}, 1
		}
		return &nearMiss{fix: "ref:refs/heads/" + head, why: "a bare name is no context", branch: head}, 1
	}
	val := parts[1]
	switch strings.ToLower(head) {
	case "ref":
		return &nearMiss{fix: "ref:" + refFix(val), why: "claim keys are lower case"}, 2
	case "environment", "env", "envs", "environments":
		return &nearMiss{fix: "environment:" + val, why: "an environment is written environment:NAME"}, 2
	case "branch", "branches", "head", "heads":
		return &nearMiss{fix: "ref:" + refFix("heads/"+val), why: "a branch is written ref:refs/heads/BRANCH"}, 2
	case "tag", "tags":
		return &nearMiss{fix: "ref:refs/tags/" + val, why: "a tag is written ref:refs/tags/TAG"}, 2
	case "context":
		return &nearMiss{fix: val, why: "a template's context is written as the context itself"}, 2
	}
	return nil, 0
}

// refEvents are events whose sub's context is the ref the workflow runs
// on, not the event's name.
var refEvents = []string{"push", "workflow_dispatch", "schedule"}

// refFix is the full ref meant by ref: a bare name is a branch.
func refFix(ref string) string {
	for _, p := range [][2]string{
		{"refs/heads/", "refs/heads/"}, {"refs/tags/", "refs/tags/"}, {"refs/head/", "refs/heads/"}, {"refs/tag/", "refs/tags/"},
		{"heads/", "refs/heads/"}, {"tags/", "refs/tags/"},
	} {
		if rest, ok := strings.CutPrefix(ref, p[0]); ok {
			return p[1] + rest
		}
	}
	if strings.HasPrefix(ref, "refs/") || strings.HasPrefix(ref, "*") || strings.HasPrefix(ref, "?") {
		return ref
	}
	return "refs/heads/" + ref
}

func hasWildcard(s string) bool { return strings.ContainsAny(s, "*?") }

// bootstrapSubjects expands p.Subjects into full sub values and warns
// about wildcards and customized forms.
func bootstrapSubjects(p BootstrapParams, v validated) ([]string, []string, error) {
	repo := v.owner + "/" + v.repo
	if p.RepositoryID != "" {
		repo = v.owner + "@" + p.OwnerID + "/" + v.repo + "@" + p.RepositoryID
	}
	var subjects, warnings []string
	for _, given := range p.Subjects {
		for _, g := range splitSubjects(given) {
			s, err := parseSubject(g, "repo:"+repo+":")
			if err != nil {
				return nil, nil, err
			}
			if slices.Contains(subjects, s.full) {
				continue
			}
			w, err := s.check(repo, v.providerHost == sharedIssuerHost)
			if err != nil {
				return nil, nil, err
			}
			subjects, warnings = append(subjects, s.full), append(warnings, w...)
		}
	}
	if len(subjects) == 0 {
		return nil, nil, errors.New("bootstrap subject: none given; give e.g. \"pull_request\" or \"ref:refs/heads/main\"")
	}
	return subjects, warnings, nil
}

// check says what s admits beyond one repository's exact refs. shared:
// the issuer is github.com's, whose tokens every repository can get.
func (s subject) check(repo string, shared bool) ([]string, error) {
	var w []string
	switch {
	case s.repo == "":
		pinned := func(keys ...string) bool {
			return slices.ContainsFunc(s.pairs, func(p subjectPair) bool {
				return slices.Contains(keys, p.key) && !strings.HasPrefix(p.val, "*") && !strings.HasPrefix(p.val, "?")
			})
		}
		switch {
		case pinned("repository_id"):
		case pinned(ownerClaims...):
			w = append(w, fmt.Sprintf("subject %q names no repository, only an owner or enterprise: it admits every repository there whose tokens carry it", s.full))
		case shared:
			return nil, fmt.Errorf("bootstrap subject %q names no repository, owner or enterprise: any repository on GitHub can customize its subject template to present it; begin it with %q, or add the owner's repository_owner_id", s.full, "repo:"+repo+":")
		default:
			w = append(w, fmt.Sprintf("subject %q names no repository, owner or enterprise: it admits every repository of this issuer whose tokens carry it", s.full))
		}
	case hasWildcard(s.repo):
		w = append(w, fmt.Sprintf("subject %q has a wildcard in the repository part: it admits workflows of other repositories; name the repository exactly", s.full))
	case s.repo != repo:
		w = append(w, fmt.Sprintf("subject %q admits a repository other than %s", s.full, repo))
	}
	if !s.defaultForm() {
		w = append(w, s.templateWarning())
	}
	if hasWildcard(s.rest) {
		w = append(w, fmt.Sprintf("subject %q has a wildcard: it admits any matching branch, tag, environment or event (%q); list exact subjects where you can", s.full, s.rest))
	}
	return w, nil
}

// templateWarning names the customized template a subject not in the
// default form assumes.
func (s subject) templateWarning() string {
	var keys, unknown []string
	for _, k := range s.template() {
		keys = append(keys, strconv.Quote(k))
		if k != "repo" && k != "context" && !isClaim(k) {
			unknown = append(unknown, strconv.Quote(k))
		}
	}
	msg := fmt.Sprintf("subject %q is not GitHub's default form (repo:OWNER/REPO:CONTEXT): it matches only tokens of a repository whose subject template is customized to include_claim_keys [%s]", s.full, strings.Join(keys, ","))
	if len(s.pairs) == 0 {
		msg += ", and then admits every workflow of the repository"
	}
	if len(unknown) > 0 {
		msg += "; " + strings.Join(unknown, ", ") + " is no claim GitHub documents"
	}
	if slices.ContainsFunc(s.pairs, func(p subjectPair) bool { return p.key == "ref" && strings.HasPrefix(p.val, "refs/pull/") }) {
		msg += "; the default sub of a pull request event is repo:OWNER/REPO:pull_request"
	}
	return msg
}
