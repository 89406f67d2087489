package iampolicy

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Set-operator prefixes and the IfExists suffix of condition operators.
const (
	PrefixForAnyValue  = "ForAnyValue:"
	PrefixForAllValues = "ForAllValues:"
	SuffixIfExists     = "IfExists"
)

type setMode int

const (
	setNone setMode = iota
	setAny
	setAll
)

// baseOperator is a condition operator without prefix or suffix. match is
// the positive test of one request value against one policy value; a
// negated operator is true when no policy value matches.
type baseOperator struct {
	match   func(req, pol string) bool
	negated bool
}

var baseOperators = map[string]baseOperator{
	"StringEquals":              {match: func(r, p string) bool { return r == p }},
	"StringNotEquals":           {match: func(r, p string) bool { return r == p }, negated: true},
	"StringEqualsIgnoreCase":    {match: strings.EqualFold},
	"StringNotEqualsIgnoreCase": {match: strings.EqualFold, negated: true},
	"StringLike":                {match: func(r, p string) bool { return GlobMatch(p, r) }},
	"StringNotLike":             {match: func(r, p string) bool { return GlobMatch(p, r) }, negated: true},
	// ArnEquals and ArnLike behave the same in IAM: both match each of the
	// six colon-separated parts separately, with wildcards.
	"ArnEquals":                {match: func(r, p string) bool { return arnMatch(p, r) }},
	"ArnLike":                  {match: func(r, p string) bool { return arnMatch(p, r) }},
	"ArnNotEquals":             {match: func(r, p string) bool { return arnMatch(p, r) }, negated: true},
	"ArnNotLike":               {match: func(r, p string) bool { return arnMatch(p, r) }, negated: true},
	"IpAddress":                {match: ipMatch},
	"NotIpAddress":             {match: ipMatch, negated: true},
	"NumericEquals":            {match: numeric(func(c int) bool { return c == 0 })},
	"NumericNotEquals":         {match: numeric(func(c int) bool { return c == 0 }), negated: true},
	"NumericLessThan":          {match: numeric(func(c int) bool { return c < 0 })},
	"NumericLessThanEquals":    {match: numeric(func(c int) bool { return c <= 0 })},
	"NumericGreaterThan":       {match: numeric(func(c int) bool { return c > 0 })},
	"NumericGreaterThanEquals": {match: numeric(func(c int) bool { return c >= 0 })},
	"DateEquals":               {match: date(func(c int) bool { return c == 0 })},
	"DateNotEquals":            {match: date(func(c int) bool { return c == 0 }), negated: true},
	"DateLessThan":             {match: date(func(c int) bool { return c < 0 })},
	"DateLessThanEquals":       {match: date(func(c int) bool { return c <= 0 })},
	"DateGreaterThan":          {match: date(func(c int) bool { return c > 0 })},
	"DateGreaterThanEquals":    {match: date(func(c int) bool { return c >= 0 })},
	"Bool":                     {match: strings.EqualFold},
	"BinaryEquals":             {match: func(r, p string) bool { return r == p }},
	"Null":                     {}, // handled in evalCondition
}

type operator struct {
	base     baseOperator
	name     string // base name
	set      setMode
	ifExists bool
}

// parseOperator splits "ForAllValues:StringLikeIfExists" into its parts.
// Operator names are case sensitive, as in IAM.
func parseOperator(op string) (operator, bool) {
	var o operator
	switch {
	case strings.HasPrefix(op, PrefixForAnyValue):
		o.set, op = setAny, op[len(PrefixForAnyValue):]
	case strings.HasPrefix(op, PrefixForAllValues):
		o.set, op = setAll, op[len(PrefixForAllValues):]
	}
	if name, ok := strings.CutSuffix(op, SuffixIfExists); ok && name != "Null" {
		o.ifExists, op = true, name
	}
	b, ok := baseOperators[op]
	if !ok {
		return operator{}, false
	}
	o.base, o.name = b, op
	return o, true
}

// BaseOperators lists the condition operators without prefix or suffix,
// sorted.
func BaseOperators() []string { return sortedKeys(baseOperators) }

// UnknownOperator reports whether op is not a condition operator IAM knows,
// counting the ForAnyValue:/ForAllValues: prefixes and the IfExists suffix
// (which Null does not take).
func UnknownOperator(op string) bool {
	_, ok := parseOperator(op)
	return !ok
}

// evalCondition evaluates one operator/key block against the request
// context (keys lower-cased). Semantics, as the IAM documentation gives
// them:
//   - a key missing from the request (or present with no values) makes a
//     plain operator false, except a negated operator (StringNotEquals,
//     ArnNotLike, NotIpAddress, ...), which is then true;
//   - ...IfExists: a missing key is true; a present key is tested normally;
//   - ForAnyValue: true when at least one request value passes; a missing
//     key is false, even with a negated operator or IfExists;
//   - ForAllValues: true when every request value passes, so a missing key
//     or an empty set is true (IfExists changes nothing);
//   - Null "true" means the key is absent, "false" that it is present;
//   - a plain operator on a multi-valued key passes when any value matches
//     (negated: when none does);
//   - an unknown operator never matches; IAM would reject the policy.
func evalCondition(op, key string, policy Values, ctx map[string][]string) bool {
	o, ok := parseOperator(op)
	if !ok {
		return false
	}
	vals := ctx[strings.ToLower(key)]
	present := len(vals) > 0
	if o.name == "Null" {
		for _, p := range policy {
			if (strings.EqualFold(p, "true") && !present) || (strings.EqualFold(p, "false") && present) {
				return true
			}
		}
		return false
	}
	matchAny := func(v string) bool {
		for _, p := range policy {
			if o.base.match(v, p) {
				return true
			}
		}
		return false
	}
	passes := func(v string) bool { return matchAny(v) != o.base.negated }

	switch o.set {
	case setAny:
		for _, v := range vals {
			if passes(v) {
				return true
			}
		}
		return false
	case setAll:
		for _, v := range vals {
			if !passes(v) {
				return false
			}
		}
		return true
	}
	if !present {
		return o.ifExists || o.base.negated
	}
	for _, v := range vals {
		if matchAny(v) {
			return !o.base.negated
		}
	}
	return o.base.negated
}

// conditionHolds ANDs every operator and every key; values within a key are
// ORed inside evalCondition.
func conditionHolds(c Condition, ctx map[string][]string) bool {
	for op, keys := range c {
		for key, vals := range keys {
			if !evalCondition(op, key, vals, ctx) {
				return false
			}
		}
	}
	return true
}

// GlobMatch matches s against pattern with "*" (any run, also empty) and
// "?" (one character), case-sensitively.
func GlobMatch(pattern, s string) bool {
	p, t := []rune(pattern), []rune(s)
	pi, ti := 0, 0
	star, mark := -1, 0
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

// arnMatch matches an ARN against a pattern part by part
// (arn:partition:service:region:account:resource); wildcards do not cross
// the colons of the first five parts. A pattern that is not a full ARN is
// matched as a whole; a value that is not an ARN never matches.
func arnMatch(pattern, arn string) bool {
	a := strings.SplitN(arn, ":", 6)
	if len(a) != 6 || a[0] != "arn" {
		return false
	}
	p := strings.SplitN(pattern, ":", 6)
	if len(p) != 6 {
		return GlobMatch(pattern, arn)
	}
	for i := range p {
		if !GlobMatch(p[i], a[i]) {
			return false
		}
	}
	return true
}

// ipMatch tests a request address against a CIDR or single address.
func ipMatch(req, pol string) bool {
	addr, err := netip.ParseAddr(req)
	if err != nil {
		return false
	}
	addr = addr.Unmap()
	if prefix, err := netip.ParsePrefix(pol); err == nil {
		prefix = netip.PrefixFrom(prefix.Addr().Unmap(), prefix.Bits()-unmapBits(prefix.Addr()))
		return prefix.Masked().Contains(addr)
	}
	if a, err := netip.ParseAddr(pol); err == nil {
		return a.Unmap() == addr
	}
	return false
}

// unmapBits is how many prefix bits an IPv4-mapped IPv6 prefix loses when
// unmapped.
func unmapBits(a netip.Addr) int {
	if a.Is4In6() {
		return 96
	}
	return 0
}

// numeric compares two numbers; a value that is not a number never matches.
func numeric(ok func(cmp int) bool) func(req, pol string) bool {
	return func(req, pol string) bool {
		r, err1 := strconv.ParseFloat(req, 64)
		p, err2 := strconv.ParseFloat(pol, 64)
		if err1 != nil || err2 != nil {
			return false
		}
		switch {
		case r < p:
			return ok(-1)
		case r > p:
			return ok(1)
		}
		return ok(0)
	}
}

// date compares two instants; a value that is not a date never matches.
func date(ok func(cmp int) bool) func(req, pol string) bool {
	return func(req, pol string) bool {
		r, ok1 := parseDate(req)
		p, ok2 := parseDate(pol)
		if !ok1 || !ok2 {
			return false
		}
		return ok(r.Compare(p))
	}
}

// dateLayouts are the ISO 8601 forms IAM documents; epoch seconds are
// accepted too.
var dateLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04:05",
	"2006-01-02",
}

func parseDate(s string) (time.Time, bool) {
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	if secs, err := strconv.ParseFloat(s, 64); err == nil {
		whole := int64(secs)
		return time.Unix(whole, int64((secs-float64(whole))*1e9)).UTC(), true
	}
	return time.Time{}, false
}
