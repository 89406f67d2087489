package iampolicy

import "testing"

// ctx builds a request context; a key mapped to nil is present but empty.
func ctx(kv ...any) map[string][]string {
	m := map[string][]string{}
	for i := 0; i < len(kv); i += 2 {
		switch v := kv[i+1].(type) {
		case string:
			m[kv[i].(string)] = []string{v}
		case []string:
			m[kv[i].(string)] = v
		}
	}
	return m
}

func TestConditionOperators(t *testing.T) {
	t.Parallel()
	const k = "test:key"
	tests := []struct {
		op     string
		policy Values
		ctx    map[string][]string
		want   bool
	}{
		// Strings.
		{"StringEquals", Values{"abc"}, ctx(k, "abc"), true},
		{"StringEquals", Values{"abc"}, ctx(k, "ABC"), false},
		{"StringEquals", Values{"x", "abc"}, ctx(k, "abc"), true},
		{"StringEquals", Values{"abc"}, ctx(), false},
		{"StringNotEquals", Values{"abc"}, ctx(k, "abd"), true},
		{"StringNotEquals", Values{"abc", "abd"}, ctx(k, "abd"), false},
		{"StringNotEquals", Values{"abc"}, ctx(), true}, // negated: missing key is true
		{"StringEqualsIgnoreCase", Values{"abc"}, ctx(k, "AbC"), true},
		{"StringEqualsIgnoreCase", Values{"abc"}, ctx(k, "abd"), false},
		{"StringNotEqualsIgnoreCase", Values{"abc"}, ctx(k, "ABC"), false},
		{"StringNotEqualsIgnoreCase", Values{"abc"}, ctx(k, "abd"), true},
		{"StringLike", Values{"repo:o/r:*"}, ctx(k, "repo:o/r:ref:refs/heads/main"), true},
		{"StringLike", Values{"a?c"}, ctx(k, "abc"), true},
		{"StringLike", Values{"a?c"}, ctx(k, "abbc"), false},
		{"StringLike", Values{"A*"}, ctx(k, "abc"), false},
		{"StringNotLike", Values{"a*"}, ctx(k, "abc"), false},
		{"StringNotLike", Values{"a*"}, ctx(k, "xbc"), true},
		{"StringNotLike", Values{"a*"}, ctx(), true},
		// ARNs.
		{"ArnEquals", Values{"arn:aws:iam::123456789012:role/r"}, ctx(k, "arn:aws:iam::123456789012:role/r"), true},
		{"ArnEquals", Values{"arn:aws:iam::*:role/r"}, ctx(k, "arn:aws:iam::123456789012:role/r"), true},
		{"ArnLike", Values{"arn:aws:iam::123456789012:role/*"}, ctx(k, "arn:aws:iam::123456789012:role/a/b"), true},
		{"ArnLike", Values{"arn:aws:iam::123456789012:role/*"}, ctx(k, "arn:aws:iam::210987654321:role/a"), false},
		{"ArnLike", Values{"arn:aws:*:*:*:*"}, ctx(k, "arn:aws:s3:::bucket/a:b"), true},
		{"ArnLike", Values{"arn:aws:iam::123456789012:role/*"}, ctx(k, "not-an-arn"), false},
		{"ArnLike", Values{"arn:aws:ec2:us-east-1:*:*"}, ctx(k, "arn:aws:ec2:us-east-1x:1:instance/i"), false},
		{"ArnNotEquals", Values{"arn:aws:iam::123456789012:role/r"}, ctx(k, "arn:aws:iam::123456789012:role/s"), true},
		{"ArnNotLike", Values{"arn:aws:iam::123456789012:role/*"}, ctx(k, "arn:aws:iam::123456789012:role/s"), false},
		{"ArnNotLike", Values{"arn:aws:iam::123456789012:role/*"}, ctx(), true},
		// IP addresses.
		{"IpAddress", Values{"203.0.113.0/24"}, ctx(k, "203.0.113.7"), true},
		{"IpAddress", Values{"203.0.113.0/24"}, ctx(k, "203.0.114.7"), false},
		{"IpAddress", Values{"203.0.113.7"}, ctx(k, "203.0.113.7"), true},
		{"IpAddress", Values{"203.0.113.0/24"}, ctx(k, "::ffff:203.0.113.9"), true},
		{"IpAddress", Values{"2001:db8::/32"}, ctx(k, "2001:db8:1::1"), true},
		{"IpAddress", Values{"2001:db8::/32"}, ctx(k, "2001:db9::1"), false},
		{"IpAddress", Values{"203.0.113.0/24"}, ctx(k, "not-an-ip"), false},
		{"IpAddress", Values{"203.0.113.0/24"}, ctx(), false},
		{"NotIpAddress", Values{"203.0.113.0/24"}, ctx(k, "198.51.100.1"), true},
		{"NotIpAddress", Values{"203.0.113.0/24", "198.51.100.0/24"}, ctx(k, "198.51.100.1"), false},
		// Numbers.
		{"NumericEquals", Values{"10"}, ctx(k, "10.0"), true},
		{"NumericEquals", Values{"10"}, ctx(k, "11"), false},
		{"NumericEquals", Values{"10"}, ctx(k, "ten"), false},
		{"NumericNotEquals", Values{"10"}, ctx(k, "11"), true},
		{"NumericNotEquals", Values{"10"}, ctx(k, "10"), false},
		{"NumericLessThan", Values{"10"}, ctx(k, "9"), true},
		{"NumericLessThan", Values{"10"}, ctx(k, "10"), false},
		{"NumericLessThanEquals", Values{"10"}, ctx(k, "10"), true},
		{"NumericLessThanEquals", Values{"10"}, ctx(k, "10.5"), false},
		{"NumericGreaterThan", Values{"10"}, ctx(k, "11"), true},
		{"NumericGreaterThan", Values{"10"}, ctx(k, "10"), false},
		{"NumericGreaterThanEquals", Values{"10"}, ctx(k, "10"), true},
		{"NumericGreaterThanEquals", Values{"10"}, ctx(k, "9"), false},
		// Dates: RFC 3339 and epoch seconds, compared as instants.
		{"DateEquals", Values{"2024-01-01T00:00:00Z"}, ctx(k, "1704067200"), true},
		{"DateEquals", Values{"2024-01-01T00:00:00Z"}, ctx(k, "2024-01-01T01:00:00+01:00"), true},
		{"DateEquals", Values{"2024-01-01T00:00:00Z"}, ctx(k, "2024-01-01T00:00:01Z"), false},
		{"DateEquals", Values{"2024-01-01"}, ctx(k, "2024-01-01T00:00:00Z"), true},
		{"DateEquals", Values{"2024-01-01T00:00:00Z"}, ctx(k, "yesterday"), false},
		{"DateNotEquals", Values{"2024-01-01T00:00:00Z"}, ctx(k, "2024-01-02T00:00:00Z"), true},
		{"DateNotEquals", Values{"2024-01-01T00:00:00Z"}, ctx(k, "1704067200"), false},
		{"DateLessThan", Values{"2024-01-01T00:00:00Z"}, ctx(k, "2023-12-31T23:59:59Z"), true},
		{"DateLessThan", Values{"2024-01-01T00:00:00Z"}, ctx(k, "2024-01-01T00:00:00Z"), false},
		{"DateLessThanEquals", Values{"2024-01-01T00:00:00Z"}, ctx(k, "2024-01-01T00:00:00Z"), true},
		{"DateLessThanEquals", Values{"1704067200"}, ctx(k, "2024-01-01T00:00:00.5Z"), false},
		{"DateGreaterThan", Values{"2024-01-01T00:00:00Z"}, ctx(k, "2024-01-01T00:00:01Z"), true},
		{"DateGreaterThan", Values{"2024-01-01T00:00:00Z"}, ctx(k, "2024-01-01T00:00:00Z"), false},
		{"DateGreaterThanEquals", Values{"2024-01-01T00:00:00Z"}, ctx(k, "2024-01-01T00:00:00Z"), true},
		{"DateGreaterThanEquals", Values{"2024-01-01T00:00:00Z"}, ctx(k, "2023-01-01T00:00:00Z"), false},
		// Bool and Null.
		{"Bool", Values{"true"}, ctx(k, "true"), true},
		{"Bool", Values{"true"}, ctx(k, "TRUE"), true},
		{"Bool", Values{"true"}, ctx(k, "false"), false},
		{"Bool", Values{"false"}, ctx(), false},
		{"BinaryEquals", Values{"QmluYXJ5"}, ctx(k, "QmluYXJ5"), true},
		{"BinaryEquals", Values{"QmluYXJ5"}, ctx(k, "QmluYXJ6"), false},
		{"Null", Values{"true"}, ctx(), true},
		{"Null", Values{"true"}, ctx(k, "x"), false},
		{"Null", Values{"true"}, ctx(k, []string{}), true}, // present but empty counts as absent
		{"Null", Values{"false"}, ctx(k, "x"), true},
		{"Null", Values{"false"}, ctx(), false},
		// IfExists: missing key passes, present key is tested.
		{"StringEqualsIfExists", Values{"abc"}, ctx(), true},
		{"StringEqualsIfExists", Values{"abc"}, ctx(k, "abc"), true},
		{"StringEqualsIfExists", Values{"abc"}, ctx(k, "abd"), false},
		{"StringNotEqualsIfExists", Values{"abc"}, ctx(k, "abc"), false},
		{"IpAddressIfExists", Values{"10.0.0.0/8"}, ctx(), true},
		{"IpAddressIfExists", Values{"10.0.0.0/8"}, ctx(k, "11.0.0.1"), false},
		{"BoolIfExists", Values{"true"}, ctx(), true},
		{"NumericLessThanIfExists", Values{"5"}, ctx(k, "6"), false},
		{"DateLessThanIfExists", Values{"2024-01-01T00:00:00Z"}, ctx(), true},
		{"ArnLikeIfExists", Values{"arn:aws:iam::1:role/*"}, ctx(), true},
		// Multi-valued key without a set operator: any value matches.
		{"StringEquals", Values{"a"}, ctx(k, []string{"b", "a"}), true},
		{"StringNotEquals", Values{"a"}, ctx(k, []string{"b", "a"}), false},
		// ForAnyValue: at least one request value; missing key is false.
		{"ForAnyValue:StringEquals", Values{"a", "b"}, ctx(k, []string{"x", "b"}), true},
		{"ForAnyValue:StringEquals", Values{"a", "b"}, ctx(k, []string{"x", "y"}), false},
		{"ForAnyValue:StringEquals", Values{"a"}, ctx(), false},
		{"ForAnyValue:StringEquals", Values{"a"}, ctx(k, []string{}), false},
		{"ForAnyValue:StringNotEquals", Values{"a", "b"}, ctx(k, []string{"a", "x"}), true},
		{"ForAnyValue:StringNotEquals", Values{"a", "b"}, ctx(k, []string{"a", "b"}), false},
		{"ForAnyValue:StringNotEquals", Values{"a"}, ctx(), false}, // negated, yet missing is false
		{"ForAnyValue:StringEqualsIfExists", Values{"a"}, ctx(), false},
		{"ForAnyValue:StringLike", Values{"env-*"}, ctx(k, []string{"owner", "env-prod"}), true},
		// ForAllValues: every request value; missing or empty key is true.
		{"ForAllValues:StringEquals", Values{"a", "b"}, ctx(k, []string{"a", "b"}), true},
		{"ForAllValues:StringEquals", Values{"a", "b"}, ctx(k, []string{"a", "c"}), false},
		{"ForAllValues:StringEquals", Values{"a"}, ctx(), true},
		{"ForAllValues:StringEquals", Values{"a"}, ctx(k, []string{}), true},
		{"ForAllValues:StringNotEquals", Values{"a", "b"}, ctx(k, []string{"x", "y"}), true},
		{"ForAllValues:StringNotEquals", Values{"a", "b"}, ctx(k, []string{"x", "a"}), false},
		{"ForAllValues:StringNotEquals", Values{"a"}, ctx(), true},
		{"ForAllValues:StringLikeIfExists", Values{"a*"}, ctx(k, []string{"ab", "b"}), false},
		// Unknown operators never match.
		{"StringEqual", Values{"abc"}, ctx(k, "abc"), false},
		{"stringequals", Values{"abc"}, ctx(k, "abc"), false},
	}
	for _, tt := range tests {
		if got := evalCondition(tt.op, k, tt.policy, tt.ctx); got != tt.want {
			t.Errorf("%s %s=%v with context %v = %v, want %v", tt.op, k, tt.policy, tt.ctx, got, tt.want)
		}
	}
}

func TestConditionKeysCaseInsensitive(t *testing.T) {
	t.Parallel()
	c := Condition{"StringEquals": {"AWS:RequestedRegion": {"us-east-1"}}}
	got := conditionHolds(c, normalizeContext(map[string][]string{"aws:requestedregion": {"us-east-1"}}))
	if !got {
		t.Error("condition key matching is case-sensitive, want case-insensitive")
	}
}

func TestConditionBlocksAreANDed(t *testing.T) {
	t.Parallel()
	c := Condition{
		"StringEquals": {"a": {"1", "2"}, "b": {"3"}},
		"Bool":         {"c": {"true"}},
	}
	tests := []struct {
		ctx  map[string][]string
		want bool
	}{
		{ctx("a", "2", "b", "3", "c", "true"), true},
		{ctx("a", "1", "b", "3", "c", "false"), false},
		{ctx("a", "1", "b", "4", "c", "true"), false},
		{ctx("a", "5", "b", "3", "c", "true"), false},
		{ctx("b", "3", "c", "true"), false},
	}
	for _, tt := range tests {
		if got := conditionHolds(c, tt.ctx); got != tt.want {
			t.Errorf("conditionHolds(%v) = %v, want %v", tt.ctx, got, tt.want)
		}
	}
}

func TestUnknownOperator(t *testing.T) {
	t.Parallel()
	tests := []struct {
		op   string
		want bool
	}{
		{"StringEquals", false},
		{"StringNotLikeIfExists", false},
		{"ForAnyValue:StringLike", false},
		{"ForAllValues:ArnLikeIfExists", false},
		{"Null", false},
		{"NumericGreaterThanEquals", false},
		{"DateNotEqualsIfExists", false},
		{"BinaryEquals", false},
		{"NullIfExists", true},
		{"StringEqual", true},
		{"stringEquals", true},
		{"ForSomeValues:StringEquals", true},
		{"ForAnyValue:", true},
		{"IfExists", true},
		{"", true},
	}
	for _, tt := range tests {
		if got := UnknownOperator(tt.op); got != tt.want {
			t.Errorf("UnknownOperator(%q) = %v, want %v", tt.op, got, tt.want)
		}
	}
}

func TestGlobMatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"*", "anything", true},
		{"", "", true},
		{"", "a", false},
		{"a*b", "ab", true},
		{"a*b", "axxb", true},
		{"a*b", "axxbc", false},
		{"a*b*c", "abxbc", true},
		{"?", "é", true},
		{"??", "a", false},
		{"a**", "a", true},
	}
	for _, tt := range tests {
		if got := GlobMatch(tt.pattern, tt.s); got != tt.want {
			t.Errorf("GlobMatch(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}
