package authz

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
)

type Policy struct {
	Version   string
	Statement []Statement
}

type Statement struct {
	Sid          string
	Effect       string
	Principal    Principal
	NotPrincipal *Principal
	Action       List
	NotAction    List
	Resource     List
	NotResource  List
	Condition    map[string]map[string]List

	has map[string]bool // which top-level keys were present
}

// List is a JSON string or array of strings (numbers and booleans are
// accepted as their text, as IAM does in conditions).
type List []string

func (l *List) UnmarshalJSON(b []byte) error {
	var one any
	if err := json.Unmarshal(b, &one); err != nil {
		return err
	}
	switch v := one.(type) {
	case []any:
		for _, e := range v {
			s, err := scalarText(e)
			if err != nil {
				return err
			}
			*l = append(*l, s)
		}
	default:
		s, err := scalarText(v)
		if err != nil {
			return err
		}
		*l = List{s}
	}
	return nil
}

func scalarText(v any) (string, error) {
	switch t := v.(type) {
	case string:
		return t, nil
	case bool, float64:
		b, _ := json.Marshal(t)
		return string(b), nil
	}
	return "", errSyntax
}

// Principal is "*" or {"AWS"|"Federated"|"Service"|"CanonicalUser": strList}.
type Principal struct {
	Any    bool
	ByType map[string]List
}

func (p *Principal) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		if s != "*" {
			return errSyntax
		}
		p.Any = true
		return nil
	}
	return json.Unmarshal(b, &p.ByType)
}

// Empty reports a Principal element that names no one.
func (p Principal) Empty() bool { return !p.Any && len(p.ByType) == 0 }

// Has reports whether the statement spells out key (Resource,
// NotPrincipal, ...), even with an empty value.
func (st *Statement) Has(key string) bool { return st.has[key] }

// Malformed is a policy IAM refuses, with IAM's message.
type Malformed struct{ Message string }

func (m *Malformed) Error() string { return m.Message }

func malformed(msg string) *Malformed { return &Malformed{Message: msg} }

type syntaxError struct{}

func (syntaxError) Error() string { return "syntax error" }

var errSyntax error = syntaxError{}

func (st *Statement) UnmarshalJSON(b []byte) error {
	type plain Statement
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if err := json.Unmarshal(b, (*plain)(st)); err != nil {
		return err
	}
	st.has = map[string]bool{}
	for k := range raw {
		st.has[k] = true
	}
	return nil
}

// Parse reads a policy; a single Statement object is allowed.
func Parse(doc string) (*Policy, *Malformed) {
	var raw struct {
		Version   *string
		Statement json.RawMessage
	}
	dec := json.NewDecoder(strings.NewReader(doc))
	if err := dec.Decode(&raw); err != nil {
		return nil, malformed("Syntax errors in policy.")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, malformed("Syntax errors in policy.")
	}
	if raw.Version == nil {
		return nil, malformed("Policy document must contain a Version.")
	}
	if *raw.Version != "2012-10-17" && *raw.Version != "2008-10-17" {
		return nil, malformed("The policy failed legacy parsing")
	}
	p := &Policy{Version: *raw.Version}
	st := bytes.TrimSpace(raw.Statement)
	switch {
	case len(st) == 0 || string(st) == "null":
		return nil, malformed("Missing required field Statement")
	case st[0] == '[':
		if err := json.Unmarshal(st, &p.Statement); err != nil {
			return nil, malformed("Syntax errors in policy.")
		}
	default:
		var one Statement
		if err := json.Unmarshal(st, &one); err != nil {
			return nil, malformed("Syntax errors in policy.")
		}
		p.Statement = []Statement{one}
	}
	if len(p.Statement) == 0 {
		return nil, malformed("Missing required field Statement")
	}
	for _, s := range p.Statement {
		if s.Effect != "Allow" && s.Effect != "Deny" {
			return nil, malformed("Invalid effect: " + s.Effect)
		}
		if len(s.Action) == 0 && len(s.NotAction) == 0 {
			return nil, malformed("Policy statement must contain actions.")
		}
	}
	return p, nil
}

// Request is what a policy is evaluated against.
type Request struct {
	Action        string
	PrincipalType string              // trust: "AWS" or "Federated"
	Principals    []string            // trust: identities that match the caller, e.g. role ARN, account root
	Resource      string              // identity: the resource ARN, or "*"
	Context       map[string][]string // keys lower-cased
}

// Decision of an identity-based evaluation.
type Decision int

// Decisions: an explicit Deny beats an Allow, which beats silence.
const (
	ImplicitDeny Decision = iota
	Allowed
	ExplicitDeny
)

// Identity decides a request against a principal's identity policies and
// permissions boundary, as IAM does within one account without
// resource-based policies: any explicit Deny refuses; otherwise an identity
// policy must allow, and so must the boundary when there is one.
func Identity(req Request, policies []*Policy, boundary *Policy) (Decision, string) {
	allowed, denied := evalIdentity(req, policies)
	if denied {
		return ExplicitDeny, "with an explicit deny in an identity-based policy"
	}
	if boundary != nil {
		bAllowed, bDenied := evalIdentity(req, []*Policy{boundary})
		if bDenied {
			return ExplicitDeny, "with an explicit deny in a permissions boundary"
		}
		if allowed && !bAllowed {
			return ImplicitDeny, "because no permissions boundary allows the " + req.Action + " action"
		}
	}
	if !allowed {
		return ImplicitDeny, "because no identity-based policy allows the " + req.Action + " action"
	}
	return Allowed, ""
}

func evalIdentity(req Request, policies []*Policy) (allowed, denied bool) {
	for _, p := range policies {
		for i := range p.Statement {
			st := &p.Statement[i]
			if !st.matchesIdentity(req) {
				continue
			}
			if st.Effect == "Deny" {
				denied = true
			} else {
				allowed = true
			}
		}
	}
	return allowed, denied
}

func (st *Statement) matchesIdentity(req Request) bool {
	if len(st.Action) > 0 && !anyGlob(st.Action, req.Action) {
		return false
	}
	if len(st.NotAction) > 0 && anyGlob(st.NotAction, req.Action) {
		return false
	}
	switch {
	case len(st.Resource) > 0:
		if !anyResource(st.Resource, req.Resource) {
			return false
		}
	case len(st.NotResource) > 0:
		if anyResource(st.NotResource, req.Resource) {
			return false
		}
	default:
		return false
	}
	return st.conditionsHold(req.Context)
}

// anyResource matches resource ARNs case-sensitively with wildcards; "*"
// as a request's resource (an action without resource-level permissions)
// is matched only by a pattern of "*".
func anyResource(patterns []string, resource string) bool {
	for _, p := range patterns {
		if p == "*" || resource != "*" && Glob(p, resource) {
			return true
		}
	}
	return false
}

// Allows evaluates trust: an explicit Deny wins, else some Allow must match.
func (p *Policy) Allows(req Request) bool {
	allowed := false
	for _, st := range p.Statement {
		if !st.matches(req) {
			continue
		}
		if st.Effect == "Deny" {
			return false
		}
		allowed = true
	}
	return allowed
}

func (st *Statement) matches(req Request) bool {
	if len(st.Action) > 0 && !anyGlob(st.Action, req.Action) {
		return false
	}
	if len(st.NotAction) > 0 && anyGlob(st.NotAction, req.Action) {
		return false
	}
	if st.NotPrincipal != nil {
		if st.NotPrincipal.matches(req) {
			return false
		}
	} else if !st.Principal.matches(req) {
		return false
	}
	return st.conditionsHold(req.Context)
}

func (st *Statement) conditionsHold(ctx map[string][]string) bool {
	for op, block := range st.Condition {
		if st.Effect == "Deny" && !supported(op) {
			// An operator this evaluator cannot test must not lift a Deny.
			continue
		}
		for key, vals := range block {
			if !condition(op, ctx[strings.ToLower(key)], resolve(vals, ctx)) {
				return false
			}
		}
	}
	return true
}

// resolve replaces policy variables (${aws:userid},
// ${aws:ResourceTag/k}) in condition values with the request's values; a
// value whose variable the request lacks matches nothing, as in IAM.
func resolve(vals []string, ctx map[string][]string) []string {
	out := make([]string, 0, len(vals))
	for _, v := range vals {
		ok := true
		for ok && strings.Contains(v, "${") {
			i := strings.Index(v, "${")
			j := strings.Index(v[i:], "}")
			if j < 0 {
				break
			}
			have := ctx[strings.ToLower(v[i+2:i+j])]
			if ok = len(have) > 0; ok {
				v = v[:i] + have[0] + v[i+j+1:]
			}
		}
		if ok {
			out = append(out, v)
		}
	}
	return out
}

func supported(op string) bool {
	if i := strings.Index(op, ":"); i >= 0 {
		op = op[i+1:]
	}
	op = strings.TrimSuffix(op, "IfExists")
	switch op {
	case "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "StringLike", "StringNotLike",
		"ArnEquals", "ArnNotEquals", "ArnLike", "ArnNotLike", "Bool", "Null":
		return true
	}
	return false
}

func anyGlob(patterns []string, action string) bool {
	for _, p := range patterns {
		if Glob(strings.ToLower(p), strings.ToLower(action)) {
			return true
		}
	}
	return false
}

func (p Principal) matches(req Request) bool {
	if p.Any {
		return true
	}
	for _, v := range p.ByType[req.PrincipalType] {
		if v == "*" {
			return true
		}
		for _, id := range req.Principals {
			if v == id {
				return true
			}
		}
	}
	return false
}

// condition evaluates one operator on one key. have is the request's values
// (nil when the key is absent), want the policy's values.
func condition(op string, have []string, want []string) bool {
	set := ""
	if i := strings.Index(op, ":"); i >= 0 {
		set, op = strings.ToLower(op[:i]), op[i+1:]
	}
	ifExists := strings.HasSuffix(op, "IfExists")
	op = strings.TrimSuffix(op, "IfExists")
	if have == nil {
		switch {
		case set == "forallvalues":
			return true
		case set == "foranyvalue":
			return false
		case ifExists:
			return true
		case op == "Null":
			return len(want) > 0 && strings.EqualFold(want[0], "true")
		}
		return strings.HasPrefix(op, "StringNot") || strings.HasPrefix(op, "ArnNot")
	}
	if op == "Null" {
		return len(want) > 0 && strings.EqualFold(want[0], "false")
	}
	negated := strings.HasPrefix(op, "StringNot") || strings.HasPrefix(op, "ArnNot")
	var match func(h, w string) bool
	switch strings.Replace(strings.Replace(op, "StringNot", "String", 1), "ArnNot", "Arn", 1) {
	case "StringEquals":
		match = func(h, w string) bool { return h == w }
	case "StringEqualsIgnoreCase", "Bool":
		match = strings.EqualFold
	case "StringLike", "ArnLike", "ArnEquals": // IAM matches ArnEquals with wildcards too
		match = func(h, w string) bool { return Glob(w, h) }
	default:
		return false // unsupported operators never match, so they cannot widen access
	}
	// positive(h): h equals one of want.
	positive := func(h string) bool {
		for _, w := range want {
			if match(h, w) {
				return true
			}
		}
		return false
	}
	test := func(h string) bool { return positive(h) != negated }
	if set == "forallvalues" {
		for _, h := range have {
			if !test(h) {
				return false
			}
		}
		return true
	}
	// Single-valued and ForAnyValue: some value satisfies the test; for a
	// negated single-valued operator every value must avoid the list.
	if negated && set == "" {
		for _, h := range have {
			if !test(h) {
				return false
			}
		}
		return true
	}
	for _, h := range have {
		if test(h) {
			return true
		}
	}
	return false
}

// Glob matches IAM wildcards: * any run, ? one character.
func Glob(pattern, s string) bool {
	p, t := []rune(pattern), []rune(s)
	pi, ti, star, mark := 0, 0, -1, 0
	for ti < len(t) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == t[ti]):
			pi++
			ti++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, ti
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			ti = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
