package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/buildrole/buildrole/internal/awsfacts"
	"github.com/buildrole/buildrole/internal/buildpolicy"
	"github.com/buildrole/buildrole/internal/iampolicy"
	"github.com/buildrole/buildrole/internal/naming"
	"github.com/buildrole/buildrole/internal/packertemplate"
	"github.com/buildrole/buildrole/internal/policylint"
	"github.com/buildrole/buildrole/internal/run"
	"github.com/buildrole/buildrole/internal/safefile"
)

// Instance profile modes.
const (
	ProfileSeparate = "separate"
	ProfileShared   = "shared"
	ProfileNone     = "none"
)

// Scopes of the build role's mutating permissions.
const (
	ScopeRegion = "region"
	ScopeTags   = "tags"
)

// STS and IAM bounds.
const (
	MinSessionSeconds = 900
	MaxSessionSeconds = 43200
	MaxRetryAttempts  = 20
	MinTTL            = run.MinTTL
	MaxTTL            = run.MaxTTL
)

// GitHub is the part of the workflow run's context that names and tags use.
type GitHub struct {
	Repository string // owner/name
	RunID      string
	RunAttempt string
	EventName  string
	Ref        string
	Workflow   string
	ServerURL  string
}

// GitHubFromEnv reads the runner's default environment variables.
func GitHubFromEnv(getenv func(string) string) GitHub {
	return GitHub{
		Repository: getenv("GITHUB_REPOSITORY"),
		RunID:      getenv("GITHUB_RUN_ID"),
		RunAttempt: getenv("GITHUB_RUN_ATTEMPT"),
		EventName:  getenv("GITHUB_EVENT_NAME"),
		Ref:        getenv("GITHUB_REF"),
		Workflow:   getenv("GITHUB_WORKFLOW"),
		ServerURL:  getenv("GITHUB_SERVER_URL"),
	}
}

var prRef = regexp.MustCompile(`^refs/pull/(\d+)/`)

// PR is the pull request number of the run, "" outside pull requests.
func (g GitHub) PR() string {
	if m := prRef.FindStringSubmatch(g.Ref); m != nil {
		return m[1]
	}
	return ""
}

// Issuer is the OIDC issuer of this run's tokens as far as the environment
// tells: GitHub Enterprise Server's https://HOST/_services/token, else
// github.com's. The real run reads `iss` from the token itself.
func (g GitHub) Issuer() string {
	if u, err := url.Parse(g.ServerURL); err == nil && u.Scheme == "https" && u.Host != "" && u.Host != "github.com" {
		return "https://" + u.Host + "/_services/token"
	}
	return iampolicy.GitHubIssuer
}

// Subject is the OIDC `sub` GitHub issues for this job by default. The real
// run takes `sub` from the token itself; this serves the dry run.
func (g GitHub) Subject() string {
	switch {
	case g.EventName == "pull_request" || g.EventName == "pull_request_target":
		return "repo:" + g.Repository + ":pull_request"
	case g.Ref != "":
		return "repo:" + g.Repository + ":ref:" + g.Ref
	}
	return "repo:" + g.Repository + ":*"
}

// Config is one validated run.
type Config struct {
	Auth
	DurationSeconds   int32
	NamePrefix        string
	Path              string
	Boundary          string
	Template          string
	Packer            *packertemplate.Template // the loaded template, nil without one
	ExtraStatements   []iampolicy.Statement
	InstancePolicy    *iampolicy.Document
	InstanceProfile   string
	Scope             string
	SourceCIDRs       []string
	ExportCredentials bool
	DryRun            bool
	// MaxTTL is the longest ttl the account allows (input max-ttl); the
	// bootstrap role's Description, when it carries one, overrides it.
	MaxTTL time.Duration
	// MaxTTLGiven: the max-ttl input was set, not left to its default.
	MaxTTLGiven bool
	// TTL is how long the run may live (input ttl).
	TTL time.Duration

	RunID     string
	GitHub    GitHub
	ExpiresAt time.Time
	Names     naming.Names
	Tags      []run.Tag
	Warnings  []string
}

// Source is where Parse reads from.
type Source struct {
	// Input returns the raw value of an input ("" when unset).
	Input func(name string) string
	// Flags: the inputs came as command-line flags, so errors name
	// --aws-region rather than input "aws-region".
	Flags  bool
	GitHub GitHub
	RunID  string // a UUID made by the caller
	Now    time.Time
	// Getenv reads PKR_VAR_* for the template's variables. Default none.
	Getenv func(string) string
}

var (
	policyARN  = regexp.MustCompile(`^arn:(aws[a-z-]*):iam::(\d{12}|aws):policy/([\x21-\x7E]*/)?[\w+=,.@-]{1,128}$`)
	audienceRE = regexp.MustCompile(`^\S{1,256}$`)
)

// Parse validates every input and returns the run, or an error naming each
// bad input and what is allowed.
func Parse(src Source) (*Config, error) {
	p := parser{src: src}
	c := &Config{RunID: src.RunID, GitHub: src.GitHub}
	c.Auth = p.auth()
	c.DurationSeconds = int32(p.intRange("role-duration-seconds", MinSessionSeconds, MaxSessionSeconds))
	c.ExportCredentials = p.boolean("export-credentials")
	c.DryRun = p.boolean("dry-run")
	c.MaxTTL = p.duration("max-ttl")
	c.MaxTTLGiven = p.raw("max-ttl") != ""
	c.TTL = p.duration("ttl")
	if c.TTL > c.MaxTTL && c.RoleToAssume == "" {
		// Sweep deletes whatever claims to live longer than the account
		// allows: a run must not. With a bootstrap role, its Description
		// says what the account allows, and up checks once it has read it.
		p.fail("ttl", "%s is more than max-ttl %s, the longest the account allows; shorten ttl, or raise max-ttl on up and sweep alike", p.str("ttl"), p.str("max-ttl"))
	}
	c.ExpiresAt = src.Now.Add(c.TTL).UTC().Truncate(time.Second)
	p.oneOf("mode", "up", "sweep")
	p.placement(c)
	p.template(c)
	p.policies(c)
	p.network(c)
	p.namesAndTags(c)
	c.Warnings = append(c.Warnings, p.warnings...)
	if src.RunID == "" {
		p.errs = append(p.errs, errors.New("internal: no run id"))
	}
	if len(p.errs) > 0 {
		return nil, &InputError{Errs: p.errs}
	}
	return c, nil
}

// Auth is what reaching AWS needs; the post step parses only this.
type Auth struct {
	Region           string
	Partition        string
	RoleToAssume     string // bootstrap role; "" = default credential chain
	AccountID        string // from RoleToAssume; "" until known
	Audience         string
	RoleSessionName  string
	RetryMaxAttempts int
	MaskAccountID    bool
}

// ParseMaxTTL validates max-ttl alone, for sweep, and says whether the
// input was given rather than left to its default.
func ParseMaxTTL(src Source) (d time.Duration, given bool, err error) {
	p := parser{src: src}
	d = p.duration("max-ttl")
	if len(p.errs) > 0 {
		return d, false, &InputError{Errs: p.errs}
	}
	return d, p.raw("max-ttl") != "", nil
}

// ParseAuth validates the inputs that reach AWS.
func ParseAuth(src Source) (Auth, error) {
	p := parser{src: src}
	a := p.auth()
	if len(p.errs) > 0 {
		return a, &InputError{Errs: p.errs}
	}
	return a, nil
}

func (p *parser) auth() Auth {
	var c Auth
	c.Region = p.str("aws-region")
	if c.Region == "" {
		p.fail("aws-region", "is required, e.g. us-east-1")
	} else if warning, err := awsfacts.CheckRegion(c.Region, p.newRegions()); err != nil {
		p.fail("aws-region", "%v", err)
	} else {
		c.Partition, _ = awsfacts.PartitionForRegion(c.Region)
		if warning != "" {
			p.warnings = append(p.warnings, warning)
		}
	}

	if c.RoleToAssume = p.str("role-to-assume"); c.RoleToAssume != "" {
		arn, ok := awsfacts.ParseRoleARN(c.RoleToAssume)
		switch {
		case !ok:
			p.fail("role-to-assume", "%q is not an IAM role ARN like arn:aws:iam::123456789012:role/buildrole-bootstrap", c.RoleToAssume)
		case c.Partition != "" && arn.Partition != c.Partition:
			p.fail("role-to-assume", "%q is in partition %s but aws-region %s is in %s", c.RoleToAssume, arn.Partition, c.Region, c.Partition)
		default:
			c.AccountID = arn.AccountID
		}
	}

	c.Audience = p.str("audience")
	if p.raw("audience") == "" && c.Partition == awsfacts.PartitionChina {
		// AWS documents this audience for the China regions.
		c.Audience = "sts.amazonaws.com.cn"
	}
	if !audienceRE.MatchString(c.Audience) {
		p.fail("audience", "%q must be 1 to 256 characters without spaces", c.Audience)
	}

	c.RoleSessionName = p.str("role-session-name")
	if c.RoleSessionName == "" {
		c.RoleSessionName = DefaultSessionName(p.src.GitHub)
	} else if !awsfacts.IsSessionName(c.RoleSessionName) {
		p.fail("role-session-name", "%q must be 2 to 64 characters of letters, digits and + = , . @ _ -", c.RoleSessionName)
	}

	c.RetryMaxAttempts = p.intRange("retry-max-attempts", 1, MaxRetryAttempts)
	c.MaskAccountID = p.boolean("mask-aws-account-id")
	return c
}

// newRegions is what the environment admits beyond the SDK's regions.
func (p *parser) newRegions() []string {
	if p.src.Getenv == nil {
		return nil
	}
	return splitList(p.src.Getenv(awsfacts.NewRegionsVariable))
}

// DefaultSessionName follows configure-aws-credentials' habit of naming the
// session after the run, so CloudTrail ties calls to it.
func DefaultSessionName(g GitHub) string {
	run, attempt := g.RunID, g.RunAttempt
	if run == "" {
		run = "local"
	}
	if attempt == "" {
		attempt = "1"
	}
	s := "buildrole-" + run + "-" + attempt
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}

// InputError lists every invalid input at once, so a user fixes them in one
// pass.
type InputError struct{ Errs []error }

func (e *InputError) Error() string {
	msgs := make([]string, len(e.Errs))
	for i, err := range e.Errs {
		msgs[i] = err.Error()
	}
	return strings.Join(msgs, "\n")
}

func (e *InputError) Unwrap() []error { return e.Errs }

type parser struct {
	src      Source
	errs     []error
	warnings []string
}

func (p *parser) fail(name, format string, args ...any) {
	label := fmt.Sprintf("input %q", name)
	if p.src.Flags {
		label = "--" + name
	}
	p.errs = append(p.errs, fmt.Errorf("%s: %s", label, fmt.Sprintf(format, args...)))
}

// raw returns the trimmed input as given, "" when unset.
func (p *parser) raw(name string) string {
	if p.src.Input == nil {
		return ""
	}
	return strings.TrimSpace(p.src.Input(name))
}

// str returns the trimmed input or its default.
func (p *parser) str(name string) string {
	v := ""
	if p.src.Input != nil {
		v = strings.TrimSpace(p.src.Input(name))
	}
	if v == "" {
		in, _ := Lookup(name)
		v = in.Default
	}
	return v
}

func (p *parser) intRange(name string, lo, hi int) int {
	s := p.str(name)
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		p.fail(name, "%q must be a whole number from %d to %d", s, lo, hi)
		in, _ := Lookup(name)
		n, _ = strconv.Atoi(in.Default)
	}
	return n
}

func (p *parser) boolean(name string) bool {
	switch s := strings.ToLower(p.str(name)); s {
	case "true":
		return true
	case "false":
		return false
	default:
		p.fail(name, "%q must be true or false", s)
		return false
	}
}

func (p *parser) oneOf(name string, allowed ...string) string {
	s := p.str(name)
	for _, a := range allowed {
		if s == a {
			return s
		}
	}
	p.fail(name, "%q must be one of %s", s, strings.Join(allowed, ", "))
	return allowed[0]
}

// duration accepts Go durations and a whole number of days ("2d").
func (p *parser) duration(name string) time.Duration {
	s := p.str(name)
	d, err := ParseDuration(s)
	if _, nerr := strconv.Atoi(s); nerr == nil {
		// A bare number is the commonest slip: name the unit it lacks.
		p.fail(name, "%q has no unit: %sh for hours, %sm for minutes, %sd for days (from %s to %s)", s, s, s, s, MinTTL, "30d")
		in, _ := Lookup(name)
		d, _ = ParseDuration(in.Default)
	} else if err != nil || d < MinTTL || d > MaxTTL {
		p.fail(name, "%q must be a duration from %s to %s, e.g. 6h, 90m or 2d", s, MinTTL, "30d")
		in, _ := Lookup(name)
		d, _ = ParseDuration(in.Default)
	}
	return d
}

// templateEnvAllowed is what a template's env() may read during the
// analysis: variables a build step also sees and that carry no secret. The
// action's own environment holds the runner's tokens; everything else reads
// as unknown, which the analysis treats conservatively.
func templateEnvAllowed(name string) bool {
	if strings.HasPrefix(name, "PKR_VAR_") {
		return true
	}
	switch name {
	case "AWS_REGION", "AWS_DEFAULT_REGION", "GITHUB_REPOSITORY", "GITHUB_REPOSITORY_OWNER", "GITHUB_REF", "GITHUB_REF_NAME",
		"GITHUB_HEAD_REF", "GITHUB_BASE_REF", "GITHUB_SHA", "GITHUB_RUN_ID", "GITHUB_RUN_NUMBER", "GITHUB_RUN_ATTEMPT",
		"GITHUB_EVENT_NAME", "GITHUB_WORKFLOW", "GITHUB_JOB", "GITHUB_ACTOR":
		return true
	}
	return false
}

// vars reads name=value lines; a value may itself hold "=".
func (p *parser) vars(name string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(p.str(name), "\n") {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(k) == "" {
			p.fail(name, "%q is not name=value", line)
			continue
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out
}

// lint runs the policy linter on an input; errors fail it, warnings are
// kept for the log. It reports whether the input is free of errors.
func (p *parser) lint(name, label, doc string, kind policylint.PolicyKind) bool {
	ok := true
	for _, f := range policylint.Lint(label, []byte(doc), policylint.LintOptions{Kind: kind}) {
		if f.Severity == policylint.Error {
			p.fail(name, "%s", f)
			ok = false
		} else {
			p.warnings = append(p.warnings, f.String())
		}
	}
	return ok
}

// asDocument wraps statements (one, or an array) into a policy document
// for the linter; positions stay right past the first line.
func asDocument(s string) string {
	if _, err := iampolicy.Parse([]byte(s)); err == nil {
		return s
	}
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "[") {
		return `{"Version":"2012-10-17","Statement":` + s + `}`
	}
	return `{"Version":"2012-10-17","Statement":[` + s + `]}`
}

// ParseDuration is time.ParseDuration plus whole days ("2d").
func ParseDuration(s string) (time.Duration, error) { return run.ParseTTL(s) }

func splitList(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == ',' }) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// placement: where the run's resources go, and under which boundary.
func (p *parser) placement(c *Config) {
	c.NamePrefix = p.str("name-prefix")
	if err := naming.ValidatePrefix(c.NamePrefix); err != nil {
		p.fail("name-prefix", "%v", err)
	}
	c.Path = p.str("path")
	if err := run.ValidatePath(c.Path); err != nil {
		p.fail("path", "%v", err)
	}
	if c.Boundary = p.str("permissions-boundary"); c.Boundary != "" {
		m := policyARN.FindStringSubmatch(c.Boundary)
		switch {
		case m == nil:
			p.fail("permissions-boundary", "%q is not a managed policy ARN like arn:aws:iam::123456789012:policy/buildrole-boundary", c.Boundary)
		case c.Partition != "" && m[1] != c.Partition:
			p.fail("permissions-boundary", "%q is in partition %s, not %s", c.Boundary, m[1], c.Partition)
		}
	}
	c.InstanceProfile = p.oneOf("instance-profile", ProfileSeparate, ProfileShared, ProfileNone)
}

// template loads the Packer template and refuses what its policy cannot
// be derived from.
func (p *parser) template(c *Config) {
	if c.Template = p.str("template"); c.Template != "" {
		if _, err := os.Stat(c.Template); err != nil {
			p.fail("template", "cannot read %q: %v", c.Template, errors.Unwrap(err))
		} else if t, err := packertemplate.Load(c.Template, packertemplate.Options{Env: p.src.Getenv, EnvAllowed: templateEnvAllowed, Vars: p.vars("template-vars"), Filled: []string{run.VarInstanceProfile, run.VarRunTags}}); err != nil {
			p.fail("template", "%v", err)
		} else {
			c.Packer = t
			// The account only shapes ARNs; problems show without it.
			region := c.Region
			if c.Partition == "" {
				region = "" // refused above: one error for it, not one per source
			}
			d := buildpolicy.Derive(t, c.Partition, run.PlaceholderAccount, region)
			for _, e := range d.Errors {
				p.fail("template", "%s", e)
			}
			p.copyRegions(d.Regions, c.Region)
		}
	}
	c.Scope = p.oneOf("scope", ScopeRegion, ScopeTags)
	if c.Scope != ScopeTags && c.Packer != nil {
		// scope: tags refuses such a template outright (below).
		p.warnings = append(p.warnings, buildpolicy.LeftoverWarnings(c.Packer)...)
	}
	if c.Scope == ScopeTags {
		switch {
		case c.Template == "":
			p.fail("scope", "tags needs a template, to know what Packer creates and tags")
		case c.Packer != nil:
			for _, e := range buildpolicy.TagScopeErrors(c.Packer, c.Partition) {
				p.fail("scope", "%s", e)
			}
			p.warnings = append(p.warnings, buildpolicy.PluginTagWarnings(c.Packer)...)
		}
	}
}

// copyRegions checks the regions a template copies its image to
// (ami_regions) as aws-region is checked.
func (p *parser) copyRegions(regions []string, build string) {
	for _, r := range regions {
		if r == build {
			continue
		}
		if warning, err := awsfacts.CheckRegion(r, p.newRegions()); err != nil {
			p.fail("template", "ami_regions: %v", err)
		} else if warning != "" {
			p.warnings = append(p.warnings, "ami_regions: "+warning)
		}
	}
}

// policies reads extra-policy and instance-policy, linted.
func (p *parser) policies(c *Config) {
	if s, label := p.policyText("extra-policy"); s != "" && p.jsonSyntax("extra-policy", label, s) {
		st, err := iampolicy.ParseStatements([]byte(s))
		if err != nil {
			p.fail("extra-policy", "%s%v", p.fileLabel("extra-policy", label), err)
		} else if p.lint("extra-policy", label, asDocument(s), policylint.IdentityPolicy) {
			c.ExtraStatements = st
		}
	}
	if s, label := p.policyText("instance-policy"); s != "" && p.jsonSyntax("instance-policy", label, s) {
		doc, err := iampolicy.Parse([]byte(s))
		switch {
		case err != nil:
			p.fail("instance-policy", "%s%v", p.fileLabel("instance-policy", label), err)
		case c.InstanceProfile != ProfileSeparate:
			p.fail("instance-policy", "needs instance-profile: separate (it is %q)", c.InstanceProfile)
		case iampolicy.Size(s) > iampolicy.MaxInlineRolePolicySize:
			p.fail("instance-policy", "is %d characters without whitespace; IAM allows %d per role", iampolicy.Size(s), iampolicy.MaxInlineRolePolicySize)
		case p.lint("instance-policy", label, s, policylint.IdentityPolicy):
			c.InstancePolicy = &doc
		}
	}
}

// policyText is a policy input's JSON: the value itself, or with @FILE the
// file's content (bounded as every policy document is). label names it in
// messages: the input, or the file.
func (p *parser) policyText(name string) (text, label string) {
	s := p.str(name)
	path, ok := strings.CutPrefix(s, "@")
	if !ok {
		return s, name
	}
	if path = strings.TrimSpace(path); path == "" {
		p.fail(name, "@ needs a file name: @policy.json reads the document from policy.json")
		return "", name
	}
	b, err := safefile.Read(path, iampolicy.MaxDocumentBytes)
	if err != nil {
		p.fail(name, "cannot read the policy file: %v", err)
		return "", path
	}
	if strings.TrimSpace(string(b)) == "" {
		p.fail(name, "%s is empty; it should hold a policy document or statements", path)
		return "", path
	}
	return string(b), path
}

// fileLabel is "FILE: " for a policy read from a file, else "".
func (p *parser) fileLabel(name, label string) string {
	if label == name {
		return ""
	}
	return label + ": "
}

// jsonSyntax refuses malformed JSON with its line and column.
func (p *parser) jsonSyntax(name, label, doc string) bool {
	for _, f := range policylint.Lint(label, []byte(doc), policylint.LintOptions{}) {
		if f.Rule == policylint.RuleJSON {
			if label == name {
				p.fail(name, "line %d, column %d: %s", f.Line, f.Col, f.Message)
			} else {
				p.fail(name, "%s:%d:%d: %s", label, f.Line, f.Col, f.Message)
			}
			return false
		}
	}
	return true
}

// network reads allowed-source-cidrs.
func (p *parser) network(c *Config) {
	if c.InstanceProfile == ProfileShared && len(splitList(p.str("allowed-source-cidrs"))) > 0 {
		// In shared mode the VM's own calls, from the VM's address, use the
		// build role, which allowed-source-cidrs would refuse.
		p.fail("instance-profile", "shared cannot go with allowed-source-cidrs: the build VM calls AWS from its own address with the build role; use separate")
	}
	for _, cidr := range splitList(p.str("allowed-source-cidrs")) {
		if _, _, err := net.ParseCIDR(cidr); err != nil {
			p.fail("allowed-source-cidrs", "%q is not a CIDR like 203.0.113.0/24", cidr)
			continue
		}
		c.SourceCIDRs = append(c.SourceCIDRs, cidr)
	}
}

// namesAndTags derives the run's names and merges its tags with the
// user's.
func (p *parser) namesAndTags(c *Config) {
	gh := p.src.GitHub
	user, err := naming.ParseTags(p.str("tags"))
	if err != nil {
		p.fail("tags", "%v", err)
	}
	slug := naming.Slug(gh.Repository, gh.PR(), gh.RunID)
	c.Names = naming.Build(c.NamePrefix, slug, c.RunID, c.InstanceProfile)
	defaults := naming.DefaultTags(naming.Run{
		RunID:      c.RunID,
		Repository: gh.Repository,
		RunNumber:  gh.RunID,
		Attempt:    gh.RunAttempt,
		PR:         gh.PR(),
		Workflow:   gh.Workflow,
		ExpiresAt:  c.ExpiresAt,
	})
	c.Tags, c.Warnings, err = naming.MergeTags(defaults, user)
	if err != nil {
		p.fail("tags", "%v", err)
	}
}
