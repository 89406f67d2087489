package policylint

//go:generate go run ./internal/genactions -o actions_gen.go

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/buildrole/buildrole/internal/awsfacts"
	"github.com/buildrole/buildrole/internal/iampolicy"
	"github.com/buildrole/buildrole/internal/jsonpos"
)

// Severity says how serious a lint finding is.
type Severity int

// Severities. An Error is a policy IAM rejects or one that is unsafe to
// deploy; a Warning is worth a look but may be intended.
const (
	Error Severity = iota
	Warning
)

func (s Severity) String() string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	}
	return "Severity(" + strconv.Itoa(int(s)) + ")"
}

// Finding is one problem found in a policy document. Line and Col are
// 1-based and point at the offending JSON element; Col counts characters,
// not bytes.
type Finding struct {
	File      string
	Line, Col int
	Severity  Severity
	Rule      string
	Message   string
}

// String formats the finding as "file:line:col: message [rule]", the
// format of actionlint and of compilers, which editors and CI annotate.
func (f Finding) String() string {
	return fmt.Sprintf("%s:%d:%d: %s [%s]", f.File, f.Line, f.Col, f.Message, f.Rule)
}

// PolicyKind says which kind of policy document is linted.
type PolicyKind int

// Policy kinds.
const (
	// IdentityPolicy is a permission policy attached to a role, user or
	// group: no Principal, Resource required.
	IdentityPolicy PolicyKind = iota
	// TrustPolicy is a role's trust policy (AssumeRolePolicyDocument):
	// Principal required, no Resource, only STS actions.
	TrustPolicy
)

func (k PolicyKind) String() string {
	switch k {
	case IdentityPolicy:
		return "identity policy"
	case TrustPolicy:
		return "trust policy"
	}
	return "PolicyKind(" + strconv.Itoa(int(k)) + ")"
}

// LintOptions configure Lint.
type LintOptions struct {
	// Kind of the document; default IdentityPolicy.
	Kind PolicyKind
	// AllowedPassRoleARNs are the roles this run may pass (exact ARNs, or
	// patterns with * and ?). When set, iam:PassRole on any other role is
	// privilege escalation and an error. When empty, iam:PassRole scoped
	// to specific role ARNs cannot be judged and is at most a warning
	// (iam:PassRole on "*" or on every role is an error either way).
	AllowedPassRoleARNs []string
	// MaxSize is the size quota in characters without whitespace (see
	// Size); default MaxInlineRolePolicySize for an identity policy and
	// MaxTrustPolicySize for a trust policy.
	MaxSize int
}

// Rule identifiers, printed in brackets after each message.
const (
	RuleJSON                = "json"
	RuleGrammar             = "grammar"
	RuleUnknownAction       = "unknown-action"
	RuleWildcardAction      = "wildcard-action"
	RuleNotAction           = "not-action"
	RulePassRoleWildcard    = "passrole-wildcard"
	RulePassRoleScope       = "passrole-scope"
	RulePrivilegeEscalation = "privilege-escalation"
	RuleSize                = "size"
	RuleConditionOperator   = "condition-operator"
	RuleConditionKey        = "condition-key"
	RuleTrustPrincipal      = "trust-principal"
	RuleTrustSubject        = "trust-subject"
)

// Lint checks one policy document and returns its findings sorted by
// position. file names the document in the findings. Malformed JSON gives
// exactly one finding, at the syntax error.
//
// Rules (errors unless marked):
//   - json: malformed JSON.
//   - grammar: unknown or duplicate keys (a key repeated inside a
//     statement's Principal or Condition: warning; the last one counts,
//     as everywhere), missing Version or Statement,
//     Version other than 2012-10-17 (2008-10-17: warning), Effect not
//     Allow/Deny, Action with NotAction, no Action, wrong value types,
//     invalid or duplicate Sid; identity policies: Principal present or
//     Resource missing; trust policies: Resource present, Principal
//     missing, actions other than sts:.
//   - unknown-action: malformed action; action unknown to the catalogue
//     (with the closest known one); service prefix not catalogued
//     (warning).
//   - wildcard-action: "*" or "service:*" allowed; partial wildcards
//     (warning).
//   - not-action: Allow with NotAction, NotResource or NotPrincipal.
//   - passrole-wildcard: iam:PassRole allowed on every role; on a path or
//     name prefix (warning).
//   - passrole-scope: iam:PassRole without iam:PassedToService (warning);
//     on roles outside LintOptions.AllowedPassRoleARNs.
//   - privilege-escalation: actions that let the holder grant itself
//     permissions (Rhino Security Labs' list), sts:AssumeRole on every
//     role, service launches with unscoped iam:PassRole; iam:CreateRole,
//     iam:CreatePolicy, iam:CreateServiceLinkedRole (warning).
//   - size: over LintOptions.MaxSize characters without whitespace.
//   - condition-operator: unknown operator; set operator on a single-valued
//     or plain operator on a multivalued aws: key (warning).
//   - condition-key: key not prefix:name; aws: key not documented.
//   - trust-principal: trust policies that let anyone assume the role
//     (Principal "*" without Condition, GitHub OIDC without a sub
//     condition).
//   - trust-subject: a GitHub OIDC sub pattern (StringLike) that admits
//     any repository (all wildcard, or a wildcard in the owner); one that
//     admits every repository of an owner or any workflow, branch, tag or
//     environment of a repository (warning); a wildcard under StringEquals,
//     which matches only itself, or in a StringLike aud (warning).
func Lint(file string, data []byte, opts LintOptions) []Finding {
	l := &linter{file: file, data: data, opts: opts}
	l.lines = jsonpos.NewLines(l.data)
	root, ok := l.parse()
	if ok {
		l.size(root)
		l.document(root)
	}
	slices.SortStableFunc(l.findings, func(a, b Finding) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Col - b.Col
	})
	return l.findings
}

// HasErrors reports whether any finding is an Error.
func HasErrors(fs []Finding) bool {
	return slices.ContainsFunc(fs, func(f Finding) bool { return f.Severity == Error })
}

// KnownAction looks action up in the action catalogue (actions_gen.go).
// Service prefixes and action names match case-insensitively, as in IAM;
// a wildcard (* or ?) matches when any catalogued action matches. known
// reports whether the action exists; serviceKnown whether its service
// prefix is catalogued (only the services buildrole's policies use are).
// A malformed action is neither.
func KnownAction(action string) (known bool, serviceKnown bool) {
	if action == "*" {
		return true, true
	}
	prefix, name, ok := splitAction(action)
	if !ok {
		return false, false
	}
	for svc, names := range lowerCatalogue() {
		if !iampolicy.GlobMatch(prefix, svc) {
			continue
		}
		serviceKnown = true
		if slices.ContainsFunc(names, func(n string) bool { return iampolicy.GlobMatch(name, n) }) {
			return true, true
		}
	}
	return false, serviceKnown
}

// lowerCatalogue is actionCatalogue with lower-cased action names.
var lowerCatalogue = sync.OnceValue(func() map[string][]string {
	out := make(map[string][]string, len(actionCatalogue))
	for svc, names := range actionCatalogue {
		lower := make([]string, len(names))
		for i, n := range names {
			lower[i] = strings.ToLower(n)
		}
		out[svc] = lower
	}
	return out
})

var (
	actionPrefixPattern = regexp.MustCompile(`^[a-z0-9*?-]+$`)
	actionNamePattern   = regexp.MustCompile(`^[a-z0-9*?]+$`)
)

// splitAction splits "ec2:RunInstances" into its lower-cased prefix and
// name; ok is false for a malformed action.
func splitAction(action string) (prefix, name string, ok bool) {
	prefix, name, ok = strings.Cut(strings.ToLower(action), ":")
	if !ok || !actionPrefixPattern.MatchString(prefix) || !actionNamePattern.MatchString(name) {
		return "", "", false
	}
	return prefix, name, true
}

func hasWildcard(s string) bool { return strings.ContainsAny(s, "*?") }

type linter struct {
	file     string
	data     []byte
	opts     LintOptions
	lines    jsonpos.Lines
	findings []Finding
}

// pos converts a byte offset to a 1-based line and character column.
func (l *linter) pos(off int) (line, col int) { return l.lines.Pos(off) }

func (l *linter) report(off int, sev Severity, rule, format string, args ...any) {
	line, col := l.pos(off)
	l.findings = append(l.findings, Finding{
		File: l.file, Line: line, Col: col, Severity: sev, Rule: rule,
		Message: fmt.Sprintf(format, args...),
	})
}

// parse reads the document with the offsets of its values; a syntax
// error becomes the one finding.
func (l *linter) parse() (*jsonpos.Node, bool) {
	root, err := iampolicy.ParseJSON(l.data)
	if err != nil {
		l.syntaxError(err)
		return nil, false
	}
	return root, true
}

func (l *linter) syntaxError(err error) {
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		l.report(0, Error, RuleJSON, "invalid JSON: %v", err)
		return
	}
	off := int(se.Offset) - 1 // Offset counts the offending byte
	msg := se.Error()
	if jsonpos.Truncated(l.data) {
		off = len(bytes.TrimRight(l.data, " \t\r\n"))
		if len(l.data) == 0 || off == 0 {
			l.report(0, Error, RuleJSON, "invalid JSON: empty document")
			return
		}
		l.report(off, Error, RuleJSON, "invalid JSON: unexpected end of input; a closing brace or bracket is missing")
		return
	}
	if c := l.data[min(max(off, 0), len(l.data)-1)]; c == '}' || c == ']' {
		if prev := bytes.TrimRight(l.data[:off], " \t\r\n"); len(prev) > 0 && prev[len(prev)-1] == ',' {
			msg += fmt.Sprintf(" (JSON allows no comma before %q)", c)
		}
	}
	l.report(off, Error, RuleJSON, "invalid JSON: %s", msg)
}

// --- document and statement grammar -------------------------------------

// strVal is a string of the policy with its offset.
type strVal struct {
	s   string
	off int
}

// lintStatement is a statement as far as it could be read.
type lintStatement struct {
	index  int
	node   *jsonpos.Node
	sid    string
	effect string
	// Keys present, with the offsets of the keys.
	keys                    map[string]int
	actions, notActions     []strVal
	resources, notResources []strVal
	principal               *jsonpos.Node
	conditions              []lintCondition
}

// lintCondition is one operator/key pair of a Condition block.
type lintCondition struct {
	op     strVal
	key    strVal
	values []strVal
}

func (s *lintStatement) has(key string) bool { _, ok := s.keys[key]; return ok }

// name identifies a statement in messages: its Sid, or its index and line.
func (l *linter) stmtName(s *lintStatement) string {
	if s.sid != "" {
		return strconv.Quote(s.sid)
	}
	line, _ := l.pos(s.node.Off)
	return fmt.Sprintf("%d (line %d)", s.index, line)
}

func (l *linter) size(root *jsonpos.Node) {
	limit, what := l.opts.MaxSize, "the configured limit"
	if limit <= 0 {
		limit, what = iampolicy.MaxInlineRolePolicySize, "IAM's quota on a role's inline policies"
		if l.opts.Kind == TrustPolicy {
			limit, what = iampolicy.MaxTrustPolicySize, "IAM's default quota on a trust policy"
		}
	}
	if n := iampolicy.Size(string(l.data)); n > limit {
		l.report(root.Off, Error, RuleSize,
			"policy is %d characters without whitespace, over %s of %d; split it or remove statements", n, what, limit)
	}
}

var (
	documentKeys  = []string{"Version", "Id", "Statement"}
	statementKeys = []string{"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"}
	sidPattern    = regexp.MustCompile(`^[A-Za-z0-9]*$`)
)

// keys reports unknown and duplicate keys of an object and returns the
// offset of each known key.
func (l *linter) keys(n *jsonpos.Node, allowed []string, what string) map[string]int {
	seen := make(map[string]int, len(n.Members))
	for _, m := range n.Members {
		if !slices.Contains(allowed, m.Key) {
			hint := ""
			if s := closest(m.Key, allowed); s != "" {
				hint = fmt.Sprintf("; did you mean %q?", s)
			} else {
				hint = fmt.Sprintf(" (want %s)", strings.Join(allowed, ", "))
			}
			l.report(m.KeyOff, Error, RuleGrammar, "unknown %s key %q%s", what, m.Key, hint)
			continue
		}
		if _, dup := seen[m.Key]; dup {
			l.report(m.KeyOff, Error, RuleGrammar, "duplicate %s key %q; only the last one would count", what, m.Key)
		}
		seen[m.Key] = m.KeyOff
	}
	return seen
}

func (l *linter) document(root *jsonpos.Node) {
	if root.Kind != jsonpos.Object {
		l.report(root.Off, Error, RuleGrammar, "a policy document must be a JSON object, not %s", root.Kind)
		return
	}
	l.keys(root, documentKeys, "policy")

	if m := root.Member("Version"); m == nil {
		l.report(root.Off, Error, RuleGrammar, "missing Version; add \"Version\": %q", iampolicy.Version)
	} else if m.Val.Kind != jsonpos.String {
		l.report(m.Val.Off, Error, RuleGrammar, "Version must be a string, not %s", m.Val.Kind)
	} else {
		switch m.Val.Str {
		case iampolicy.Version:
		case iampolicy.LegacyVersion:
			l.report(m.Val.Off, Warning, RuleGrammar, "Version %q is the legacy policy language without policy variables; use %q", iampolicy.LegacyVersion, iampolicy.Version)
		default:
			l.report(m.Val.Off, Error, RuleGrammar, "unknown Version %q; use %q", m.Val.Str, iampolicy.Version)
		}
	}
	if m := root.Member("Id"); m != nil && m.Val.Kind != jsonpos.String {
		l.report(m.Val.Off, Error, RuleGrammar, "Id must be a string, not %s", m.Val.Kind)
	}

	m := root.Member("Statement")
	if m == nil {
		l.report(root.Off, Error, RuleGrammar, "missing Statement")
		return
	}
	var nodes []*jsonpos.Node
	switch m.Val.Kind {
	case jsonpos.Object:
		nodes = []*jsonpos.Node{m.Val}
	case jsonpos.Array:
		if len(m.Val.Elems) == 0 {
			l.report(m.Val.Off, Error, RuleGrammar, "Statement is empty; a policy needs at least one statement")
			return
		}
		nodes = m.Val.Elems
	default:
		l.report(m.Val.Off, Error, RuleGrammar, "Statement must be an object or an array of objects, not %s", m.Val.Kind)
		return
	}
	l.nestedDuplicates(root, nodes)
	var stmts []*lintStatement
	sids := map[string]bool{}
	for i, n := range nodes {
		if n.Kind != jsonpos.Object {
			l.report(n.Off, Error, RuleGrammar, "statement %d must be an object, not %s", i, n.Kind)
			continue
		}
		s := l.statement(i, n)
		if s.sid != "" {
			if sids[s.sid] {
				l.report(n.Member("Sid").Val.Off, Error, RuleGrammar, "duplicate Sid %q; statement ids must be unique within a policy", s.sid)
			}
			sids[s.sid] = true
		}
		stmts = append(stmts, s)
	}
	for _, s := range stmts {
		l.actionNames(s)
		l.wildcardActions(s)
		l.notElements(s)
		l.conditionChecks(s)
	}
	if l.opts.Kind == TrustPolicy {
		for _, s := range stmts {
			l.trustPrincipal(s)
			l.trustSubjects(s)
		}
		return
	}
	l.passRole(stmts)
	l.escalation(stmts)
}

// nestedDuplicates reports keys written twice in an object below the
// statements (Principal, Condition, an operator's keys): a reader keeps the
// last, so the earlier value is silently dropped, and a dropped condition
// widens the statement. The document's and statements' own keys are
// reported by keys, as errors. Everything else reads the last occurrence.
func (l *linter) nestedDuplicates(root *jsonpos.Node, statements []*jsonpos.Node) {
	for _, d := range root.Duplicates() {
		if d.Object == root || slices.Contains(statements, d.Object) {
			continue
		}
		line, col := l.pos(d.Offs[0])
		for _, off := range d.Offs[1:] {
			l.report(off, Warning, RuleGrammar, "duplicate key %q (first at %d:%d); only the last one counts, the earlier value is ignored: merge them", d.Key, line, col)
		}
	}
}

// statement checks one statement's grammar and reads it.
func (l *linter) statement(index int, n *jsonpos.Node) *lintStatement {
	s := &lintStatement{index: index, node: n}
	s.keys = l.keys(n, statementKeys, "statement")

	if m := n.Member("Sid"); m != nil {
		switch {
		case m.Val.Kind != jsonpos.String:
			l.report(m.Val.Off, Error, RuleGrammar, "Sid must be a string, not %s", m.Val.Kind)
		case !sidPattern.MatchString(m.Val.Str):
			l.report(m.Val.Off, Error, RuleGrammar, "Sid %q may contain only letters and digits", m.Val.Str)
		default:
			s.sid = m.Val.Str
		}
	}
	if m := n.Member("Effect"); m == nil {
		l.report(n.Off, Error, RuleGrammar, "statement %s has no Effect; add \"Effect\": \"Allow\" or \"Deny\"", l.stmtName(s))
	} else if m.Val.Kind != jsonpos.String || (m.Val.Str != iampolicy.EffectAllow && m.Val.Str != iampolicy.EffectDeny) {
		got := m.Val.Kind.String()
		if m.Val.Kind == jsonpos.String {
			got = strconv.Quote(m.Val.Str)
		}
		l.report(m.Val.Off, Error, RuleGrammar, "Effect must be \"Allow\" or \"Deny\" (case-sensitive), not %s", got)
	} else {
		s.effect = m.Val.Str
	}

	s.actions = l.stringList(n, "Action")
	s.notActions = l.stringList(n, "NotAction")
	s.resources = l.stringList(n, "Resource")
	s.notResources = l.stringList(n, "NotResource")
	for _, k := range []string{"Principal", "NotPrincipal"} {
		if m := n.Member(k); m != nil {
			l.principalGrammar(k, m.Val)
			if k == "Principal" {
				s.principal = m.Val
			}
		}
	}
	if m := n.Member("Condition"); m != nil {
		s.conditions = l.conditionGrammar(m.Val)
	}

	both := func(a, b string) {
		if s.has(a) && s.has(b) {
			l.report(s.keys[b], Error, RuleGrammar, "statement has both %s and %s; use one", a, b)
		}
	}
	both("Action", "NotAction")
	both("Resource", "NotResource")
	both("Principal", "NotPrincipal")
	if !s.has("Action") && !s.has("NotAction") {
		l.report(n.Off, Error, RuleGrammar, "statement %s has no Action", l.stmtName(s))
	}
	switch l.opts.Kind {
	case TrustPolicy:
		for _, k := range []string{"Resource", "NotResource"} {
			if s.has(k) {
				l.report(s.keys[k], Error, RuleGrammar, "%s is not allowed in a trust policy: the resource is the role itself", k)
			}
		}
		if !s.has("Principal") && !s.has("NotPrincipal") {
			l.report(n.Off, Error, RuleGrammar, "statement %s has no Principal; a trust policy must say who may assume the role", l.stmtName(s))
		}
		for _, a := range slices.Concat(s.actions, s.notActions) {
			if a.s != "*" && !strings.HasPrefix(strings.ToLower(a.s), "sts:") {
				l.report(a.off, Error, RuleGrammar, "action %q is not allowed in a trust policy; only sts: actions such as %s are", a.s, iampolicy.ActionAssumeRole)
			}
		}
	default:
		for _, k := range []string{"Principal", "NotPrincipal"} {
			if s.has(k) {
				l.report(s.keys[k], Error, RuleGrammar, "%s is not allowed in an identity policy: it applies to the role, user or group it is attached to", k)
			}
		}
		if !s.has("Resource") && !s.has("NotResource") {
			l.report(n.Off, Error, RuleGrammar, "statement %s has no Resource; add the ARNs it applies to (or \"*\" for actions without resource-level permissions)", l.stmtName(s))
		}
	}
	return s
}

// stringList reads a string-or-array-of-strings element.
func (l *linter) stringList(n *jsonpos.Node, key string) []strVal {
	m := n.Member(key)
	if m == nil {
		return nil
	}
	switch m.Val.Kind {
	case jsonpos.String:
		return []strVal{{m.Val.Str, m.Val.Off}}
	case jsonpos.Array:
		if len(m.Val.Elems) == 0 {
			l.report(m.Val.Off, Error, RuleGrammar, "%s is an empty array", key)
		}
		var out []strVal
		for _, e := range m.Val.Elems {
			if e.Kind != jsonpos.String {
				l.report(e.Off, Error, RuleGrammar, "%s entries must be strings, not %s", key, e.Kind)
				continue
			}
			out = append(out, strVal{e.Str, e.Off})
		}
		return out
	}
	l.report(m.Val.Off, Error, RuleGrammar, "%s must be a string or an array of strings, not %s", key, m.Val.Kind)
	return nil
}

func (l *linter) principalGrammar(key string, v *jsonpos.Node) {
	switch v.Kind {
	case jsonpos.String:
		if v.Str != "*" {
			l.report(v.Off, Error, RuleGrammar, "%s string must be \"*\"; name principals in an object such as {\"AWS\": \"arn:aws:iam::123456789012:root\"}", key)
		}
	case jsonpos.Object:
		for _, m := range v.Effective() {
			if !slices.Contains(iampolicy.PrincipalTypes, m.Key) {
				hint := ""
				if s := closest(m.Key, iampolicy.PrincipalTypes); s != "" {
					hint = fmt.Sprintf("; did you mean %q?", s)
				}
				l.report(m.KeyOff, Error, RuleGrammar, "unknown principal type %q (want AWS, CanonicalUser, Federated or Service)%s", m.Key, hint)
				continue
			}
			l.stringList(v, m.Key)
		}
	default:
		l.report(v.Off, Error, RuleGrammar, "%s must be \"*\" or an object, not %s", key, v.Kind)
	}
}

func (l *linter) conditionGrammar(v *jsonpos.Node) []lintCondition {
	if v.Kind != jsonpos.Object {
		l.report(v.Off, Error, RuleGrammar, "Condition must be an object of operator -> {key: values}, not %s", v.Kind)
		return nil
	}
	var out []lintCondition
	for _, op := range v.Effective() {
		if op.Val.Kind != jsonpos.Object {
			l.report(op.Val.Off, Error, RuleGrammar, "condition operator %q must map to an object of key -> values, not %s", op.Key, op.Val.Kind)
			continue
		}
		for _, k := range op.Val.Effective() {
			c := lintCondition{op: strVal{op.Key, op.KeyOff}, key: strVal{k.Key, k.KeyOff}}
			scalar := func(n *jsonpos.Node) bool {
				switch n.Kind {
				case jsonpos.String, jsonpos.Number, jsonpos.Bool:
					c.values = append(c.values, strVal{n.Str, n.Off})
					return true
				}
				l.report(n.Off, Error, RuleGrammar, "condition value of %q must be a string, number or boolean, not %s", k.Key, n.Kind)
				return false
			}
			if k.Val.Kind == jsonpos.Array {
				for _, e := range k.Val.Elems {
					scalar(e)
				}
			} else {
				scalar(k.Val)
			}
			out = append(out, c)
		}
	}
	return out
}

// --- actions --------------------------------------------------------------

func (l *linter) actionNames(s *lintStatement) {
	for _, a := range slices.Concat(s.actions, s.notActions) {
		if a.s == "*" {
			continue
		}
		prefix, name, ok := splitAction(a.s)
		if !ok {
			l.report(a.off, Error, RuleUnknownAction, "malformed action %q; want service:Action, such as ec2:RunInstances (letters and digits, * and ? as wildcards)", a.s)
			continue
		}
		known, serviceKnown := KnownAction(a.s)
		switch {
		case known:
		case serviceKnown:
			msg := fmt.Sprintf("unknown action %q", a.s)
			if !hasWildcard(name) {
				if iam := awsfacts.S3Actions(name); iam != nil && prefix == "s3" {
					msg += fmt.Sprintf("; that is an S3 API name, authorized as %s", strings.Join(iam, " and "))
				} else if sug := suggestAction(prefix, name); sug != "" {
					msg += fmt.Sprintf("; did you mean %s?", sug)
				}
			} else {
				msg = fmt.Sprintf("action pattern %q matches no %s action", a.s, prefix)
			}
			l.report(a.off, Error, RuleUnknownAction, "%s", msg)
		default:
			msg := fmt.Sprintf("unknown service prefix %q in %q: not in the catalogue (%s), so the action is not checked", prefix, a.s, strings.Join(slices.Sorted(maps.Keys(actionCatalogue)), ", "))
			if !hasWildcard(a.s) {
				if sug := suggestService(prefix, name); sug != "" {
					msg = fmt.Sprintf("unknown service prefix %q in %q; did you mean %s?", prefix, a.s, sug)
				}
			}
			l.report(a.off, Warning, RuleUnknownAction, "%s", msg)
		}
	}
}

// suggestAction returns the catalogued action of service prefix closest to
// name, or "".
func suggestAction(prefix, name string) string {
	names := catalogueNames(prefix)
	if s := closest(name, names); s != "" {
		return prefix + ":" + s
	}
	return ""
}

// suggestService returns "svc:Name" for a catalogued service whose prefix
// is close to prefix and which has the action name.
func suggestService(prefix, name string) string {
	for _, svc := range slices.Sorted(maps.Keys(actionCatalogue)) {
		if levenshtein(prefix, svc) > 1 {
			continue
		}
		for _, n := range actionCatalogue[svc] {
			if strings.EqualFold(n, name) {
				return svc + ":" + n
			}
		}
	}
	return ""
}

func catalogueNames(prefix string) []string { return actionCatalogue[strings.ToLower(prefix)] }

// closest returns the candidate nearest to s by edit distance (case-
// insensitive) when it is near enough to be a likely typo, or "".
func closest(s string, candidates []string) string {
	ls := strings.ToLower(s)
	best, bestD := "", -1
	for _, c := range candidates {
		d := levenshtein(ls, strings.ToLower(c))
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	limit := min(3, max(1, utf8.RuneCountInString(s)/4))
	if bestD < 0 || bestD > limit {
		return ""
	}
	return best
}

// levenshtein is the edit distance between a and b, in runes.
func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

func (l *linter) wildcardActions(s *lintStatement) {
	if s.effect != iampolicy.EffectAllow {
		return
	}
	for _, a := range s.actions {
		if a.s == "*" {
			l.report(a.off, Error, RuleWildcardAction, "Action \"*\" allows every action of every service, including iam:PassRole and IAM writes (privilege escalation); list the actions needed")
			continue
		}
		prefix, name, ok := splitAction(a.s)
		if !ok || !hasWildcard(a.s) {
			continue
		}
		switch {
		case hasWildcard(prefix):
			l.report(a.off, Error, RuleWildcardAction, "action %q has a wildcard in the service prefix, so it spans services; list the actions needed", a.s)
		case name == "*":
			l.report(a.off, Error, RuleWildcardAction, "action %q allows every %s action; list the actions needed", a.s, prefix)
		default:
			names := catalogueNames(prefix)
			n := 0
			for _, c := range names {
				if iampolicy.GlobMatch(name, strings.ToLower(c)) {
					n++
				}
			}
			count := "every " + prefix + " action it fits"
			switch {
			case len(names) > 0 && n == 0:
				continue // unknown-action reports a pattern that matches nothing
			case n == 1:
				count = fmt.Sprintf("1 %s action today", prefix)
			case n > 1:
				count = fmt.Sprintf("%d %s actions today", n, prefix)
			}
			l.report(a.off, Warning, RuleWildcardAction, "action pattern %q matches %s and any that AWS adds later; list the actions needed", a.s, count)
		}
	}
}

// notElements flags Allow statements that grant by exclusion.
func (l *linter) notElements(s *lintStatement) {
	if s.effect != iampolicy.EffectAllow {
		return
	}
	if off, ok := s.keys["NotAction"]; ok {
		l.report(off, Error, RuleNotAction, "Allow with NotAction allows every action not listed, including those of services added later; list the allowed actions in Action")
	}
	if off, ok := s.keys["NotResource"]; ok {
		l.report(off, Error, RuleNotAction, "Allow with NotResource allows every resource not listed; list the allowed resources in Resource")
	}
	if off, ok := s.keys["NotPrincipal"]; ok {
		l.report(off, Error, RuleNotAction, "Allow with NotPrincipal allows every principal not listed, including anonymous callers; name the allowed principals in Principal")
	}
}

// --- conditions -----------------------------------------------------------

// globalConditionKeys are the aws: condition keys IAM documents ("AWS global
// condition context keys", IAM User Guide), lower-cased. Keys ending in "/"
// take a tag key after the slash.
var globalConditionKeys = []string{
	// Properties of the principal.
	"aws:PrincipalArn", "aws:PrincipalAccount", "aws:PrincipalOrgPaths", "aws:PrincipalOrgID",
	"aws:PrincipalTag/", "aws:PrincipalIsAWSService", "aws:PrincipalServiceName",
	"aws:PrincipalServiceNamesList", "aws:PrincipalType", "aws:userid", "aws:username",
	// Properties of a role session.
	"aws:AssumedRoot", "aws:FederatedProvider", "aws:TokenIssueTime", "aws:SignInSessionArn",
	"aws:MultiFactorAuthAge", "aws:MultiFactorAuthPresent", "aws:ChatbotSourceArn",
	"aws:Ec2InstanceSourceVpc", "aws:Ec2InstanceSourcePrivateIPv4", "aws:SourceIdentity",
	// Properties of the network.
	"aws:SourceIp", "aws:SourceVpc", "aws:SourceVpcArn", "aws:SourceVpce", "aws:VpceAccount",
	"aws:VpceOrgID", "aws:VpceOrgPaths", "aws:VpcSourceIp",
	// Properties of the resource.
	"aws:ResourceAccount", "aws:ResourceOrgID", "aws:ResourceOrgPaths", "aws:ResourceTag/",
	// Properties of the request.
	"aws:CalledVia", "aws:CalledViaFirst", "aws:CalledViaLast", "aws:CalledViaAWSMCP",
	"aws:ViaAWSService", "aws:ViaAWSMCPService", "aws:CurrentTime", "aws:EpochTime",
	"aws:referer", "aws:RequestedRegion", "aws:RequestTag/", "aws:TagKeys",
	"aws:SecureTransport", "aws:SourceAccount", "aws:SourceArn", "aws:SourceOrgID",
	"aws:SourceOrgPaths", "aws:UserAgent", "aws:IsMcpServiceAction",
}

// multivaluedGlobalKeys hold a set of values in the request context, so
// conditions on them need ForAllValues: or ForAnyValue:.
var multivaluedGlobalKeys = []string{
	"aws:CalledVia", "aws:PrincipalOrgPaths", "aws:PrincipalServiceNamesList",
	"aws:ResourceOrgPaths", "aws:SourceOrgPaths", "aws:TagKeys", "aws:VpceOrgPaths",
}

// conditionKeyPattern is prefix:name, where the prefix is a service prefix
// or an identity provider's host (and path, for OIDC providers such as
// EKS's): "ec2:Region", "token.actions.githubusercontent.com:sub".
var conditionKeyPattern = regexp.MustCompile(`^[A-Za-z0-9._/-]+:[^\s:][^\s]*$`)

func (l *linter) conditionChecks(s *lintStatement) {
	reportedOps := map[int]bool{}
	for _, c := range s.conditions {
		op := c.op.s
		known := !iampolicy.UnknownOperator(op)
		if !known && !reportedOps[c.op.off] {
			reportedOps[c.op.off] = true
			msg := fmt.Sprintf("unknown condition operator %q", op)
			if strings.HasSuffix(op, "Null"+iampolicy.SuffixIfExists) {
				msg += "; Null takes no IfExists suffix"
			} else if sug := suggestOperator(op); sug != "" {
				msg += fmt.Sprintf("; did you mean %q?", sug)
			}
			l.report(c.op.off, Error, RuleConditionOperator, "%s", msg)
		}
		key := c.key.s
		if !conditionKeyPattern.MatchString(key) {
			l.report(c.key.off, Error, RuleConditionKey, "malformed condition key %q; want prefix:name, such as aws:RequestedRegion or ec2:ResourceTag/Name", key)
			continue
		}
		global, ok := globalKey(key)
		if strings.HasPrefix(strings.ToLower(key), "aws:") && !ok {
			msg := fmt.Sprintf("unknown global condition key %q", key)
			if slices.ContainsFunc(globalConditionKeys, func(g string) bool { return strings.HasSuffix(g, "/") && strings.EqualFold(g, key) }) {
				msg += "; a tag key must follow the slash"
			}
			if sug := closest(key, globalConditionKeys); sug != "" && !strings.HasSuffix(sug, "/") {
				msg += fmt.Sprintf("; did you mean %q?", sug)
			}
			l.report(c.key.off, Error, RuleConditionKey, "%s", msg)
			continue
		}
		if !known || !ok {
			continue
		}
		set := strings.HasPrefix(op, iampolicy.PrefixForAnyValue) || strings.HasPrefix(op, iampolicy.PrefixForAllValues)
		multi := slices.Contains(multivaluedGlobalKeys, global)
		switch {
		case set && !multi:
			l.report(c.op.off, Warning, RuleConditionOperator, "%s is single-valued, and set operators such as %s are for multivalued keys (ForAllValues is even true when the key is missing); drop the prefix", global, op)
		case !set && multi && op != "Null":
			l.report(c.op.off, Warning, RuleConditionOperator, "%s is multivalued; compare it with ForAnyValue:%s or ForAllValues:%s", global, op, op)
		}
	}
}

// globalKey returns the documented spelling of an aws: key (tag keys as
// "aws:ResourceTag/") and whether it is documented.
func globalKey(key string) (string, bool) {
	for _, g := range globalConditionKeys {
		if strings.HasSuffix(g, "/") {
			if len(key) > len(g) && strings.EqualFold(key[:len(g)], g) {
				return g, true
			}
			continue
		}
		if strings.EqualFold(key, g) {
			return g, true
		}
	}
	return "", false
}

// suggestOperator returns the known operator closest to an unknown one,
// keeping its ForAnyValue:/ForAllValues: prefix, or "".
func suggestOperator(op string) string {
	prefix := ""
	for _, p := range []string{iampolicy.PrefixForAnyValue, iampolicy.PrefixForAllValues} {
		if len(op) >= len(p) && strings.EqualFold(op[:len(p)], p) {
			prefix, op = p, op[len(p):]
		}
	}
	var candidates []string
	for _, b := range iampolicy.BaseOperators() {
		candidates = append(candidates, b)
		if b != "Null" {
			candidates = append(candidates, b+iampolicy.SuffixIfExists)
		}
	}
	if best := closest(op, candidates); best != "" {
		return prefix + best
	}
	return ""
}

// stringListQuiet reads a string or array of strings without reporting.
func (l *linter) stringListQuiet(n *jsonpos.Node) []strVal {
	switch n.Kind {
	case jsonpos.String:
		return []strVal{{n.Str, n.Off}}
	case jsonpos.Array:
		var out []strVal
		for _, e := range n.Elems {
			if e.Kind == jsonpos.String {
				out = append(out, strVal{e.Str, e.Off})
			}
		}
		return out
	}
	return nil
}

// --- iam:PassRole ---------------------------------------------------------

// roleScope classifies a Resource of iam:PassRole.
type roleScope int

const (
	scopeSpecific roleScope = iota // one role
	scopePrefix                    // wildcard within a path or name prefix
	scopeAny                       // every role (of an account, or of all)
)

func passRoleScope(res string) roleScope {
	if !hasWildcard(res) {
		return scopeSpecific
	}
	// "*", patterns that are not ARNs, and wildcards in the account cover
	// every role.
	parts := strings.SplitN(res, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || hasWildcard(parts[4]) {
		return scopeAny
	}
	// A wildcard inside "role/" ("*", "role*") or right after it covers
	// every role; a path or name prefix ("role/buildrole/*") does not.
	rest, ok := strings.CutPrefix(parts[5], "role/")
	if !ok || strings.Trim(rest, "*?/") == "" {
		return scopeAny
	}
	return scopePrefix
}

// passGrant is one Allow statement that grants iam:PassRole.
type passGrant struct {
	stmt        *lintStatement
	action      strVal // the action that covers iam:PassRole
	resources   []strVal
	notResource bool     // NotResource: every role but those listed
	services    []string // iam:PassedToService values; nil without the condition
}

func (g passGrant) actionDesc() string {
	if strings.EqualFold(g.action.s, iampolicy.ActionPassRole) {
		return iampolicy.ActionPassRole
	}
	return fmt.Sprintf("%s (which covers %s)", g.action.s, iampolicy.ActionPassRole)
}

// unscoped reports whether the grant lets the holder pass any role.
func (g passGrant) unscoped() bool {
	if g.notResource {
		return true
	}
	return slices.ContainsFunc(g.resources, func(r strVal) bool { return passRoleScope(r.s) == scopeAny })
}

// passesTo reports whether the grant may pass a role to service principal.
func (g passGrant) passesTo(principal string) bool {
	if g.services == nil {
		return true
	}
	return slices.ContainsFunc(g.services, func(p string) bool { return iampolicy.GlobMatch(strings.ToLower(p), principal) })
}

// coversAction reports whether the pattern names service prefix svc
// literally (no wildcard in the prefix) and matches action there. The
// full wildcard "*" is left to the wildcard-action rule.
func coversAction(pattern, action string) bool {
	prefix, name, ok := splitAction(pattern)
	if !ok || hasWildcard(prefix) {
		return false
	}
	p2, n2, _ := strings.Cut(strings.ToLower(action), ":")
	return prefix == p2 && iampolicy.GlobMatch(name, n2)
}

func passGrants(stmts []*lintStatement) []passGrant {
	var out []passGrant
	for _, s := range stmts {
		if s.effect != iampolicy.EffectAllow {
			continue
		}
		i := slices.IndexFunc(s.actions, func(a strVal) bool { return coversAction(a.s, iampolicy.ActionPassRole) })
		if i < 0 {
			continue
		}
		g := passGrant{stmt: s, action: s.actions[i], resources: s.resources, notResource: s.has("NotResource")}
		for _, c := range s.conditions {
			if strings.EqualFold(c.key.s, iampolicy.KeyPassedToService) {
				for _, v := range c.values {
					g.services = append(g.services, v.s)
				}
			}
		}
		if g.services != nil {
			g.services = slices.Clip(g.services)
		}
		out = append(out, g)
	}
	return out
}

func (l *linter) passRole(stmts []*lintStatement) {
	grants := passGrants(stmts)
	allowed := l.opts.AllowedPassRoleARNs
	for _, g := range grants {
		if g.services == nil {
			l.report(g.action.off, Warning, RulePassRoleScope,
				"%s without an %s condition lets the roles be passed to any service; add one such as \"StringEquals\": {%q: %q}",
				g.actionDesc(), iampolicy.KeyPassedToService, iampolicy.KeyPassedToService, awsfacts.ServicePrincipal(awsfacts.PartitionAWS, "ec2"))
		}
		for _, r := range g.resources {
			switch passRoleScope(r.s) {
			case scopeAny:
				msg := fmt.Sprintf("%s is allowed on %q, so every role can be passed to a service, which then acts with that role's permissions (privilege escalation); list the role ARNs instead", g.actionDesc(), r.s)
				var scoped []string
				for _, o := range grants {
					if o.stmt != g.stmt && !o.notResource && len(o.resources) > 0 && !slices.ContainsFunc(o.resources, func(r strVal) bool { return hasWildcard(r.s) }) {
						scoped = append(scoped, l.stmtName(o.stmt))
					}
				}
				if len(scoped) > 0 {
					noun, verb := "statement", "scopes"
					if len(scoped) > 1 {
						noun, verb = "statements", "scope"
					}
					msg += fmt.Sprintf("; it also makes %s %s, which %s %s to specific roles, pointless", noun, strings.Join(scoped, ", "), verb, iampolicy.ActionPassRole)
				}
				l.report(r.off, Error, RulePassRoleWildcard, "%s", msg)
			case scopePrefix:
				if len(allowed) > 0 && !slices.Contains(allowed, r.s) {
					l.report(r.off, Error, RulePassRoleScope, "%s on %q may pass roles outside the roles this run may pass (%s)", g.actionDesc(), r.s, strings.Join(allowed, ", "))
					continue
				}
				if len(allowed) == 0 {
					l.report(r.off, Warning, RulePassRoleWildcard, "%s on %q allows every role the pattern matches, including roles created later; prefer exact role ARNs", g.actionDesc(), r.s)
				}
			case scopeSpecific:
				if len(allowed) > 0 && !slices.ContainsFunc(allowed, func(a string) bool { return a == r.s || iampolicy.ResourceMatch(a, r.s) }) {
					l.report(r.off, Error, RulePassRoleScope, "%s on %q, which is not among the roles this run may pass (%s): privilege escalation", g.actionDesc(), r.s, strings.Join(allowed, ", "))
				}
			}
		}
	}
}

// --- privilege escalation -------------------------------------------------

// escalation is an action that lets its holder gain permissions it was not
// granted. The list follows Rhino Security Labs' "AWS IAM Privilege
// Escalation – Methods and Mitigation" (and its aws_escalate.py), plus
// permissions-boundary removal.
type escalationAction struct {
	action   string
	reason   string
	severity Severity
}

var escalationActions = []escalationAction{
	{"iam:CreatePolicyVersion", "writing a new default version of a managed policy that can grant any permission", Error},
	{"iam:SetDefaultPolicyVersion", "switching a managed policy to a more permissive old version", Error},
	{"iam:AttachUserPolicy", "attaching any managed policy, AdministratorAccess included", Error},
	{"iam:AttachGroupPolicy", "attaching any managed policy, AdministratorAccess included", Error},
	{"iam:AttachRolePolicy", "attaching any managed policy, AdministratorAccess included", Error},
	{"iam:PutUserPolicy", "writing an inline policy that can grant any permission", Error},
	{"iam:PutGroupPolicy", "writing an inline policy that can grant any permission", Error},
	{"iam:PutRolePolicy", "writing an inline policy that can grant any permission", Error},
	{"iam:AddUserToGroup", "joining a more privileged group", Error},
	{"iam:CreateAccessKey", "creating access keys for another, more privileged user", Error},
	{"iam:CreateLoginProfile", "setting a console password for another user", Error},
	{"iam:UpdateLoginProfile", "changing another user's console password", Error},
	{"iam:UpdateAssumeRolePolicy", "rewriting a role's trust policy so the holder can assume it", Error},
	{"iam:PutRolePermissionsBoundary", "replacing a permissions boundary, lifting its limits", Error},
	{"iam:PutUserPermissionsBoundary", "replacing a permissions boundary, lifting its limits", Error},
	{"iam:DeleteRolePermissionsBoundary", "removing a permissions boundary, lifting its limits", Error},
	{"iam:DeleteUserPermissionsBoundary", "removing a permissions boundary, lifting its limits", Error},
	{"lambda:UpdateFunctionCode", "running own code as an existing function's role", Error},
	{"glue:UpdateDevEndpoint", "logging in to an existing Glue endpoint that has a role", Error},
	{"iam:CreateRole", "creating roles, which any policy-writing permission then turns into new privileges", Warning},
	{"iam:CreatePolicy", "creating managed policies, which any attach permission then grants", Warning},
	{"iam:CreateServiceLinkedRole", "creating service-linked roles with AWS-defined permissions", Warning},
}

// launchActions hand a passed role to a service that runs the holder's
// code or template with it: with iam:PassRole on every role they reach any
// role's permissions.
var launchActions = []struct {
	action, service, what string
}{
	{"ec2:RunInstances", "ec2", "launch an instance with any role and read its credentials from the instance metadata"},
	{"ec2:AssociateIamInstanceProfile", "ec2", "attach any role to a running instance"},
	{"ec2:ReplaceIamInstanceProfileAssociation", "ec2", "attach any role to a running instance"},
	{"lambda:CreateFunction", "lambda", "create a function that runs its code as any role"},
	{"glue:CreateDevEndpoint", "glue", "create a Glue endpoint that runs as any role"},
	{"cloudformation:CreateStack", "cloudformation", "create a stack that deploys resources as any role"},
	{"datapipeline:CreatePipeline", "datapipeline", "create a pipeline that runs as any role"},
}

func (l *linter) escalation(stmts []*lintStatement) {
	grants := passGrants(stmts)
	for _, s := range stmts {
		if s.effect != iampolicy.EffectAllow {
			continue
		}
		for _, a := range s.actions {
			l.escalationAction(s, a)
			for _, la := range launchActions {
				if !coversAction(a.s, la.action) {
					continue
				}
				i := slices.IndexFunc(grants, func(g passGrant) bool {
					return g.unscoped() && g.passesTo(awsfacts.ServicePrincipal(awsfacts.PartitionAWS, la.service))
				})
				if i < 0 {
					continue
				}
				g := grants[i]
				desc := a.s
				if !strings.EqualFold(a.s, la.action) {
					desc = fmt.Sprintf("%s (which covers %s)", a.s, la.action)
				}
				l.report(a.off, Error, RulePrivilegeEscalation,
					"%s, with %s on every role granted by statement %s, lets the holder %s (privilege escalation); scope %s to the roles needed",
					desc, iampolicy.ActionPassRole, l.stmtName(g.stmt), la.what, iampolicy.ActionPassRole)
				break
			}
		}
	}
}

func (l *linter) escalationAction(s *lintStatement, a strVal) {
	var hits []escalationAction
	for _, e := range escalationActions {
		if coversAction(a.s, e.action) {
			hits = append(hits, e)
		}
	}
	if coversAction(a.s, iampolicy.ActionAssumeRole) && slices.ContainsFunc(s.resources, func(r strVal) bool { return passRoleScope(r.s) == scopeAny }) {
		hits = append(hits, escalationAction{iampolicy.ActionAssumeRole + " on every role", "assuming any role whose trust policy trusts this account", Error})
	}
	if len(hits) == 0 {
		return
	}
	sev := Warning
	if slices.ContainsFunc(hits, func(e escalationAction) bool { return e.severity == Error }) {
		sev = Error
	}
	if len(hits) == 1 && strings.EqualFold(strings.TrimSuffix(hits[0].action, " on every role"), a.s) {
		what := "allows privilege escalation"
		if sev == Warning {
			what = "may allow privilege escalation"
		}
		l.report(a.off, sev, RulePrivilegeEscalation, "%s %s by %s", hits[0].action, what, hits[0].reason)
		return
	}
	if len(hits) > 4 {
		names := make([]string, 0, 4)
		for _, e := range hits[:4] {
			names = append(names, e.action)
		}
		l.report(a.off, sev, RulePrivilegeEscalation,
			"%s allows privilege escalation: it covers %d actions that let the holder grant itself permissions, such as %s and %d more; list the actions needed",
			a.s, len(hits), strings.Join(names, ", "), len(hits)-len(names))
		return
	}
	// Group the covered actions by reason, in table order.
	var groups []string
	var order []string
	byReason := map[string][]string{}
	for _, e := range hits {
		if _, ok := byReason[e.reason]; !ok {
			order = append(order, e.reason)
		}
		byReason[e.reason] = append(byReason[e.reason], e.action)
	}
	for _, r := range order {
		groups = append(groups, fmt.Sprintf("%s (%s)", strings.Join(byReason[r], ", "), r))
	}
	what := "allows privilege escalation"
	if sev == Warning {
		what = "may allow privilege escalation"
	}
	l.report(a.off, sev, RulePrivilegeEscalation, "%s %s: it covers %s", a.s, what, strings.Join(groups, "; "))
}
