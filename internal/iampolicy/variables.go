package iampolicy

import "strings"

// resolveVars replaces the policy variables of s (${aws:userid},
// ${aws:ResourceTag/team}, ${aws:username, 'default'}) with values from the
// request context (keys lower-cased). ok is false when a variable has no
// value and no default: IAM then treats the element as matching nothing, so
// a positive condition fails and a negated one holds. ${*}, ${?} and ${$}
// stand for those characters. Only policies of Version 2012-10-17 have
// variables; the caller decides.
func resolveVars(s string, ctx map[string][]string) (string, bool) {
	if !strings.Contains(s, "${") {
		return s, true
	}
	var b strings.Builder
	for {
		start := strings.Index(s, "${")
		if start < 0 {
			b.WriteString(s)
			return b.String(), true
		}
		end := strings.Index(s[start:], "}")
		if end < 0 {
			b.WriteString(s)
			return b.String(), true
		}
		b.WriteString(s[:start])
		name := strings.TrimSpace(s[start+2 : start+end])
		s = s[start+end+1:]
		switch name {
		case "*", "?", "$":
			b.WriteString(name)
			continue
		}
		def, hasDef := "", false
		if k, d, ok := strings.Cut(name, ","); ok {
			name = strings.TrimSpace(k)
			d = strings.TrimSpace(d)
			if len(d) >= 2 && d[0] == '\'' && d[len(d)-1] == '\'' {
				def, hasDef = d[1:len(d)-1], true
			}
		}
		switch vals := ctx[strings.ToLower(name)]; {
		case len(vals) > 0:
			b.WriteString(vals[0])
		case hasDef:
			b.WriteString(def)
		default:
			return "", false
		}
	}
}

// resolveAll resolves the variables of every value and drops the values
// that cannot be resolved.
func resolveAll(vals Values, ctx map[string][]string) Values {
	out := make(Values, 0, len(vals))
	for _, v := range vals {
		if r, ok := resolveVars(v, ctx); ok {
			out = append(out, r)
		}
	}
	return out
}

// resolve returns c with the variables of its values resolved; a value that
// cannot be resolved is dropped (see resolveVars).
func (c Condition) resolve(ctx map[string][]string) Condition {
	if c == nil {
		return nil
	}
	out := make(Condition, len(c))
	for op, keys := range c {
		m := make(map[string]Values, len(keys))
		for k, v := range keys {
			m[k] = resolveAll(v, ctx)
		}
		out[op] = m
	}
	return out
}
