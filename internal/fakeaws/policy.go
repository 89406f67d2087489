package fakeaws

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
)

// This is fakeaws's own policy reader and trust evaluator. It deliberately
// shares no code with the product's evaluator so that each checks the other.

type policyDoc struct {
	Version   string
	Statement []statement
}

type statement struct {
	Sid          string
	Effect       string
	Principal    principal
	NotPrincipal *principal
	Action       strList
	NotAction    strList
	Resource     strList
	NotResource  strList
	Condition    map[string]map[string]strList

	has map[string]bool // which top-level keys were present
}

// strList is a JSON string or array of strings (numbers and booleans are
// accepted as their text, as IAM does in conditions).
type strList []string

func (l *strList) UnmarshalJSON(b []byte) error {
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
		*l = strList{s}
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

// principal is "*" or {"AWS"|"Federated"|"Service"|"CanonicalUser": strList}.
type principal struct {
	any    bool
	byType map[string]strList
}

func (p *principal) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		if s != "*" {
			return errSyntax
		}
		p.any = true
		return nil
	}
	return json.Unmarshal(b, &p.byType)
}

func (p principal) empty() bool { return !p.any && len(p.byType) == 0 }

type syntaxError struct{}

func (syntaxError) Error() string { return "syntax error" }

var errSyntax error = syntaxError{}

func (st *statement) UnmarshalJSON(b []byte) error {
	type plain statement
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

// parsePolicy reads a policy; a single Statement object is allowed.
func parsePolicy(doc string) (*policyDoc, *apiError) {
	var raw struct {
		Version   *string
		Statement json.RawMessage
	}
	dec := json.NewDecoder(strings.NewReader(doc))
	if err := dec.Decode(&raw); err != nil {
		return nil, errMalformed("Syntax errors in policy.")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errMalformed("Syntax errors in policy.")
	}
	if raw.Version == nil {
		return nil, errMalformed("Policy document must contain a Version.")
	}
	if *raw.Version != "2012-10-17" && *raw.Version != "2008-10-17" {
		return nil, errMalformed("The policy failed legacy parsing")
	}
	p := &policyDoc{Version: *raw.Version}
	st := bytes.TrimSpace(raw.Statement)
	switch {
	case len(st) == 0 || string(st) == "null":
		return nil, errMalformed("Missing required field Statement")
	case st[0] == '[':
		if err := json.Unmarshal(st, &p.Statement); err != nil {
			return nil, errMalformed("Syntax errors in policy.")
		}
	default:
		var one statement
		if err := json.Unmarshal(st, &one); err != nil {
			return nil, errMalformed("Syntax errors in policy.")
		}
		p.Statement = []statement{one}
	}
	if len(p.Statement) == 0 {
		return nil, errMalformed("Missing required field Statement")
	}
	for _, s := range p.Statement {
		if s.Effect != "Allow" && s.Effect != "Deny" {
			return nil, errMalformed("Invalid effect: " + s.Effect)
		}
		if len(s.Action) == 0 && len(s.NotAction) == 0 {
			return nil, errMalformed("Policy statement must contain actions.")
		}
	}
	return p, nil
}

// checkTrustPolicy validates a role trust policy the way CreateRole and
// UpdateAssumeRolePolicy do.
func (s *Server) checkTrustPolicy(doc string) *apiError {
	if doc == "" {
		var v validation
		v.add("assumeRolePolicyDocument", nil, "not be null")
		return v.err()
	}
	p, e := parsePolicy(doc)
	if e != nil {
		return e
	}
	// IAM reports this quota as LimitExceeded, not MalformedPolicyDocument.
	if policySize(doc) > maxTrustPolicy {
		return newErr("LimitExceeded", "Cannot exceed quota for ACLSizePerRole: %d", maxTrustPolicy)
	}
	for _, st := range p.Statement {
		if st.has["Resource"] || st.has["NotResource"] {
			return errMalformed("Has prohibited field Resource")
		}
		if st.Principal.empty() && st.NotPrincipal == nil {
			return errMalformed("Missing required field Principal")
		}
		for _, a := range append(append(strList{}, st.Action...), st.NotAction...) {
			if a != "*" && !strings.HasPrefix(strings.ToLower(a), "sts:") {
				return errMalformed("AssumeRole policy may only specify STS AssumeRole actions.")
			}
		}
		for typ, vals := range st.Principal.byType {
			if typ != "AWS" {
				continue
			}
			for _, v := range vals {
				if e := s.checkAWSPrincipal(v); e != nil {
					return e
				}
			}
		}
	}
	return nil
}

// checkAWSPrincipal rejects role ARNs of this account that do not exist, as
// IAM does ("Invalid principal in policy").
func (s *Server) checkAWSPrincipal(v string) *apiError {
	prefix := "arn:" + s.Partition + ":iam::" + s.AccountID + ":role/"
	if !strings.HasPrefix(v, prefix) {
		return nil
	}
	name := v[strings.LastIndex(v, "/")+1:]
	if r := s.roles[strings.ToLower(name)]; r == nil || r.arn != v {
		return errMalformed(`Invalid principal in policy: "AWS":"` + v + `"`)
	}
	return nil
}

// checkPermissionPolicy validates an identity-based (inline) policy.
func checkPermissionPolicy(doc string) *apiError {
	if doc == "" {
		var v validation
		v.add("policyDocument", nil, "not be null")
		return v.err()
	}
	p, e := parsePolicy(doc)
	if e != nil {
		return e
	}
	for _, st := range p.Statement {
		if st.has["Principal"] || st.has["NotPrincipal"] {
			return errMalformed("Policy document should not specify a principal.")
		}
		if len(st.Resource) == 0 && len(st.NotResource) == 0 {
			return errMalformed("Policy statement must contain resources.")
		}
	}
	return nil
}

// request is what a trust policy is evaluated against.
type request struct {
	action        string
	principalType string   // "AWS" or "Federated"
	principals    []string // identities that match the caller, e.g. role ARN, account root
	context       map[string][]string
}

// allows evaluates trust: an explicit Deny wins, else some Allow must match.
func (p *policyDoc) allows(req request) bool {
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

func (st *statement) matches(req request) bool {
	if len(st.Action) > 0 && !anyGlob(st.Action, req.action) {
		return false
	}
	if len(st.NotAction) > 0 && anyGlob(st.NotAction, req.action) {
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
			if !condition(op, req.context[strings.ToLower(key)], vals) {
				return false
			}
		}
	}
	return true
}

func anyGlob(patterns []string, action string) bool {
	for _, p := range patterns {
		if glob(strings.ToLower(p), strings.ToLower(action)) {
			return true
		}
	}
	return false
}

func (p principal) matches(req request) bool {
	if p.any {
		return true
	}
	for _, v := range p.byType[req.principalType] {
		if v == "*" {
			return true
		}
		for _, id := range req.principals {
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
		match = func(h, w string) bool { return glob(w, h) }
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

// glob matches IAM wildcards: * any run, ? one character.
func glob(pattern, s string) bool {
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
