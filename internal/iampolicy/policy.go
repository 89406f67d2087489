package iampolicy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/buildrole/buildrole/internal/safefile"
)

// Version is the current IAM policy language version.
const Version = "2012-10-17"

// LegacyVersion is still accepted by IAM; it lacks policy variables.
const LegacyVersion = "2008-10-17"

// IAM size quotas, in characters not counting whitespace (see Size).
const (
	// MaxInlineRolePolicySize is the quota on the aggregate size of all inline
	// policies of one role (PutRolePolicy).
	MaxInlineRolePolicySize = 10240
	// MaxTrustPolicySize is the default quota on a role's trust policy
	// (AssumeRolePolicyDocument); an account can raise it to 4096.
	MaxTrustPolicySize = 2048
	// MaxManagedPolicySize is the quota on one managed policy version.
	MaxManagedPolicySize = 6144
)

// Document is an IAM policy document.
type Document struct {
	Version   string      `json:"Version"`
	ID        string      `json:"Id,omitempty"`
	Statement []Statement `json:"Statement"`
}

// Statement is one statement of a policy document. Field names marshal
// exactly as IAM spells them.
type Statement struct {
	Sid          string     `json:"Sid,omitempty"`
	Effect       string     `json:"Effect"`
	Principal    *Principal `json:"Principal,omitempty"`
	NotPrincipal *Principal `json:"NotPrincipal,omitempty"`
	Action       Values     `json:"Action,omitempty"`
	NotAction    Values     `json:"NotAction,omitempty"`
	Resource     Values     `json:"Resource,omitempty"`
	NotResource  Values     `json:"NotResource,omitempty"`
	Condition    Condition  `json:"Condition,omitempty"`
}

// Effects of a statement.
const (
	EffectAllow = "Allow"
	EffectDeny  = "Deny"
)

// Values is a list of strings that IAM writes either as a single string or
// as an array of strings.
type Values []string

// MarshalJSON writes a one-element list as a plain string, as IAM does.
func (v Values) MarshalJSON() ([]byte, error) {
	if len(v) == 1 {
		return Marshal(v[0])
	}
	if v == nil {
		return []byte("[]"), nil
	}
	return Marshal([]string(v))
}

// UnmarshalJSON accepts a string or an array of strings.
func (v *Values) UnmarshalJSON(data []byte) error {
	if string(bytes.TrimSpace(data)) == "null" {
		return errors.New("want a string or an array of strings, not null")
	}
	var s string
	if err := json.Unmarshal(data, &s); err == nil {
		*v = Values{s}
		return nil
	}
	var list []string
	if err := json.Unmarshal(data, &list); err != nil || list == nil {
		return errors.New("want a string or an array of strings")
	}
	*v = list
	return nil
}

// Principal is the Principal or NotPrincipal element: either "*" (Any) or
// a map from principal type to identifiers.
type Principal struct {
	Any           bool // "*": everyone, including anonymous callers
	AWS           Values
	Federated     Values
	Service       Values
	CanonicalUser Values
}

// PrincipalTypes lists the keys of a Principal object in marshal order.
var PrincipalTypes = []string{"AWS", "CanonicalUser", "Federated", "Service"}

func (p *Principal) field(typ string) *Values {
	switch typ {
	case "AWS":
		return &p.AWS
	case "CanonicalUser":
		return &p.CanonicalUser
	case "Federated":
		return &p.Federated
	case "Service":
		return &p.Service
	}
	return nil
}

// MarshalJSON writes "*" or an object with the non-empty types, sorted.
func (p Principal) MarshalJSON() ([]byte, error) {
	if p.Any {
		return []byte(`"*"`), nil
	}
	var b bytes.Buffer
	b.WriteByte('{')
	n := 0
	for _, typ := range PrincipalTypes {
		vals := *p.field(typ)
		if len(vals) == 0 {
			continue
		}
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		k, _ := Marshal(typ)
		v, err := vals.MarshalJSON()
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON accepts "*" or an object keyed by principal type.
func (p *Principal) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err == nil {
		if s != "*" {
			return fmt.Errorf("principal string %q: only \"*\" is allowed", s)
		}
		*p = Principal{Any: true}
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil || m == nil {
		return errors.New(`principal: want "*" or an object`)
	}
	var out Principal
	for _, k := range sortedKeys(m) {
		f := out.field(k)
		if f == nil {
			return fmt.Errorf("principal: unknown type %q (want AWS, CanonicalUser, Federated or Service)", k)
		}
		if err := f.UnmarshalJSON(m[k]); err != nil {
			return fmt.Errorf("principal %s: %w", k, err)
		}
	}
	*p = out
	return nil
}

// Condition maps operator -> condition key -> values.
type Condition map[string]map[string]Values

// UnmarshalJSON accepts strings, booleans and numbers (single or in
// arrays) as values, normalised to their string form.
func (c *Condition) UnmarshalJSON(data []byte) error {
	var raw map[string]map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil || raw == nil {
		return errors.New("condition: want an object of operator -> {key: values}")
	}
	out := make(Condition, len(raw))
	for op, keys := range raw {
		if keys == nil {
			return fmt.Errorf("condition %s: want an object of key -> values", op)
		}
		m := make(map[string]Values, len(keys))
		for key, rv := range keys {
			vals, err := conditionValues(rv)
			if err != nil {
				return fmt.Errorf("condition %s %s: %w", op, key, err)
			}
			m[key] = vals
		}
		out[op] = m
	}
	*c = out
	return nil
}

func conditionValues(data []byte) (Values, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		return nil, err
	}
	scalar := func(x any) (string, bool) {
		switch t := x.(type) {
		case string:
			return t, true
		case bool:
			if t {
				return "true", true
			}
			return "false", true
		case json.Number:
			return t.String(), true
		}
		return "", false
	}
	if s, ok := scalar(x); ok {
		return Values{s}, nil
	}
	list, ok := x.([]any)
	if !ok {
		return nil, errors.New("want a string, boolean, number or an array of them")
	}
	out := make(Values, 0, len(list))
	for _, e := range list {
		s, ok := scalar(e)
		if !ok {
			return nil, errors.New("want a string, boolean, number or an array of them")
		}
		out = append(out, s)
	}
	return out, nil
}

var (
	documentFields  = []string{"Id", "Statement", "Version"}
	statementFields = []string{"Action", "Condition", "Effect", "NotAction", "NotPrincipal", "NotResource", "Principal", "Resource", "Sid"}
)

// UnmarshalJSON is strict: field names are matched exactly (IAM is case
// sensitive) and unknown fields are errors. Statement may be an object or an
// array.
func (d *Document) UnmarshalJSON(data []byte) error {
	m, err := strictObject(data, documentFields, "policy document")
	if err != nil {
		return err
	}
	var out Document
	if raw, ok := m["Version"]; ok {
		if err := json.Unmarshal(raw, &out.Version); err != nil {
			return errors.New("policy document: Version must be a string")
		}
	}
	if raw, ok := m["Id"]; ok {
		if err := json.Unmarshal(raw, &out.ID); err != nil {
			return errors.New("policy document: Id must be a string")
		}
	}
	if raw, ok := m["Statement"]; ok {
		out.Statement, err = unmarshalStatements(raw)
		if err != nil {
			return err
		}
	}
	*d = out
	return nil
}

// UnmarshalJSON is strict like Document.UnmarshalJSON.
func (s *Statement) UnmarshalJSON(data []byte) error {
	m, err := strictObject(data, statementFields, "statement")
	if err != nil {
		return err
	}
	var out Statement
	str := func(name string, dst *string) error {
		if raw, ok := m[name]; ok {
			if err := json.Unmarshal(raw, dst); err != nil {
				return fmt.Errorf("statement: %s must be a string", name)
			}
		}
		return nil
	}
	if err := str("Sid", &out.Sid); err != nil {
		return err
	}
	if err := str("Effect", &out.Effect); err != nil {
		return err
	}
	principals := []struct {
		name string
		dst  **Principal
	}{{"Principal", &out.Principal}, {"NotPrincipal", &out.NotPrincipal}}
	for _, f := range principals {
		if raw, ok := m[f.name]; ok {
			var p Principal
			if err := p.UnmarshalJSON(raw); err != nil {
				return fmt.Errorf("statement %s: %w", f.name, err)
			}
			*f.dst = &p
		}
	}
	lists := []struct {
		name string
		dst  *Values
	}{{"Action", &out.Action}, {"NotAction", &out.NotAction}, {"Resource", &out.Resource}, {"NotResource", &out.NotResource}}
	for _, f := range lists {
		if raw, ok := m[f.name]; ok {
			if err := f.dst.UnmarshalJSON(raw); err != nil {
				return fmt.Errorf("statement %s: %w", f.name, err)
			}
		}
	}
	if raw, ok := m["Condition"]; ok {
		if err := out.Condition.UnmarshalJSON(raw); err != nil {
			return fmt.Errorf("statement: %w", err)
		}
	}
	*s = out
	return nil
}

func unmarshalStatements(raw json.RawMessage) ([]Statement, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '{' {
		var s Statement
		if err := s.UnmarshalJSON(raw); err != nil {
			return nil, err
		}
		return []Statement{s}, nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, errors.New("Statement must be an object or an array of objects")
	}
	out := make([]Statement, 0, len(list))
	for i, r := range list {
		var s Statement
		if err := s.UnmarshalJSON(r); err != nil {
			return nil, fmt.Errorf("statement %d: %w", i, err)
		}
		out = append(out, s)
	}
	return out, nil
}

func strictObject(data []byte, allowed []string, what string) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil || m == nil {
		return nil, fmt.Errorf("%s: want a JSON object", what)
	}
	for _, k := range sortedKeys(m) {
		if !slices.Contains(allowed, k) {
			return nil, fmt.Errorf("%s: unknown field %q (allowed: %s)", what, k, strings.Join(allowed, ", "))
		}
	}
	return m, nil
}

// Parse reads a policy document strictly: unknown fields, a missing or
// unknown Version, a missing Statement and invalid statements are errors.
func Parse(data []byte) (Document, error) {
	var d Document
	if err := unmarshalOne(data, &d); err != nil {
		return Document{}, fmt.Errorf("parse policy: %w", err)
	}
	if err := d.validate(); err != nil {
		return Document{}, fmt.Errorf("parse policy: %w", err)
	}
	return d, nil
}

// ParseStatements reads statements for the extra-policy input: a whole
// policy document, a single statement object or an array of statements.
func ParseStatements(data []byte) ([]Statement, error) {
	if err := CheckBounds(data); err != nil {
		return nil, fmt.Errorf("parse statements: %w", err)
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		stmts, err := unmarshalStatements(trimmed)
		if err != nil {
			return nil, fmt.Errorf("parse statements: %w", err)
		}
		if len(stmts) == 0 {
			return nil, errors.New("parse statements: no statements")
		}
		for i, s := range stmts {
			if err := s.validate(); err != nil {
				return nil, fmt.Errorf("parse statements: statement %d: %w", i, err)
			}
		}
		return stmts, nil
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &probe); err != nil || probe == nil {
		return nil, errors.New("parse statements: want a policy document, a statement or an array of statements")
	}
	if _, isDoc := probe["Statement"]; isDoc {
		d, err := Parse(trimmed)
		if err != nil {
			return nil, err
		}
		return d.Statement, nil
	}
	var s Statement
	if err := unmarshalOne(trimmed, &s); err != nil {
		return nil, fmt.Errorf("parse statements: %w", err)
	}
	if err := s.validate(); err != nil {
		return nil, fmt.Errorf("parse statements: %w", err)
	}
	return []Statement{s}, nil
}

// Bounds on a policy document read from input. IAM's largest policy is
// 10,240 characters and nests five levels; these leave room for whitespace
// and keep a hostile document from costing more than a moment.
const (
	MaxDocumentBytes = 128 << 10
	MaxNesting       = 32
)

// CheckBounds refuses a document over MaxDocumentBytes or nested deeper
// than MaxNesting, before any parser looks at it.
func CheckBounds(data []byte) error {
	if len(data) > MaxDocumentBytes {
		return fmt.Errorf("%d bytes; a policy document is read up to %d (IAM allows %d characters)", len(data), MaxDocumentBytes, MaxInlineRolePolicySize)
	}
	if line, ok := safefile.Nesting(data, MaxNesting); !ok {
		return fmt.Errorf("line %d: nested more than %d levels deep; no IAM policy nests this deep", line, MaxNesting)
	}
	return nil
}

// unmarshalOne rejects trailing data after the JSON value.
func unmarshalOne(data []byte, v json.Unmarshaler) error {
	if err := CheckBounds(data); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return fmt.Errorf("invalid JSON: %w", err)
	}
	if dec.More() {
		return errors.New("invalid JSON: data after the policy")
	}
	if _, err := dec.Token(); err == nil {
		return errors.New("invalid JSON: data after the policy")
	}
	return v.UnmarshalJSON(raw)
}

func (d Document) validate() error {
	switch d.Version {
	case Version, LegacyVersion:
	case "":
		return fmt.Errorf("missing Version (want %q)", Version)
	default:
		return fmt.Errorf("unknown Version %q (want %q)", d.Version, Version)
	}
	if len(d.Statement) == 0 {
		return errors.New("missing Statement")
	}
	for i, s := range d.Statement {
		if err := s.validate(); err != nil {
			if s.Sid != "" {
				return fmt.Errorf("statement %d (%s): %w", i, s.Sid, err)
			}
			return fmt.Errorf("statement %d: %w", i, err)
		}
	}
	return nil
}

func (s Statement) validate() error {
	if s.Effect != EffectAllow && s.Effect != EffectDeny {
		return fmt.Errorf("its Effect %q must be %q or %q", s.Effect, EffectAllow, EffectDeny)
	}
	if err := exactlyOne("Action", len(s.Action) > 0, "NotAction", len(s.NotAction) > 0); err != nil {
		return err
	}
	if len(s.Resource) > 0 && len(s.NotResource) > 0 {
		return errors.New("both Resource and NotResource are set; use one")
	}
	if s.Principal != nil && s.NotPrincipal != nil {
		return errors.New("both Principal and NotPrincipal are set; use one")
	}
	return nil
}

func exactlyOne(a string, hasA bool, b string, hasB bool) error {
	switch {
	case hasA && hasB:
		return fmt.Errorf("both %s and %s are set; use one", a, b)
	case !hasA && !hasB:
		return fmt.Errorf("missing %s (or %s)", a, b)
	}
	return nil
}

// JSON returns the document as compact JSON. Output is deterministic:
// struct fields in IAM order, condition operators and keys sorted.
func (d Document) JSON() string {
	b, err := Marshal(d)
	if err != nil {
		// Unreachable: every field marshals.
		return ""
	}
	return string(b)
}

// Indent returns the document as JSON indented by two spaces.
func (d Document) Indent() string {
	var out bytes.Buffer
	if err := json.Indent(&out, []byte(d.JSON()), "", "  "); err != nil {
		return ""
	}
	return out.String()
}

// Size counts the characters of a policy as IAM does for its size quotas:
// whitespace is not counted.
func Size(doc string) int {
	n := 0
	for _, r := range doc {
		if !unicode.IsSpace(r) {
			n++
		}
	}
	return n
}

// Marshal encodes JSON without HTML escaping: policies carry "<", ">" and "&"
// only as data, and escaped forms would be counted by IAM's size quota.
func Marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
