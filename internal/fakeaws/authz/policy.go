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

// Request is what a trust policy is evaluated against.
type Request struct {
	Action        string
	PrincipalType string   // "AWS" or "Federated"
	Principals    []string // identities that match the caller, e.g. role ARN, account root
	Context       map[string][]string
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
	for op, block := range st.Condition {
		for key, vals := range block {
			if !condition(op, req.Context[strings.ToLower(key)], vals) {
				return false
			}
		}
	}
	return true
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
	case "StringEquals", "ArnEquals":
		match = func(h, w string) bool { return h == w }
	case "StringEqualsIgnoreCase", "Bool":
		match = strings.EqualFold
	case "StringLike", "ArnLike":
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
