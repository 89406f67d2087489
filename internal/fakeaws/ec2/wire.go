package ec2

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// node is an element of a response; text when it has no children.
type node struct {
	name string
	text string
	kids []node
}

func el(name string, kids ...node) node { return node{name: name, kids: kids} }
func tx(name, text string) node         { return node{name: name, text: text} }
func bl(name string, b bool) node       { return tx(name, strconv.FormatBool(b)) }
func num(name string, n int) node       { return tx(name, strconv.Itoa(n)) }
func tm(name string, t time.Time) node  { return tx(name, t.UTC().Format("2006-01-02T15:04:05.000Z")) }

// set is EC2's list: <name><item>…</item>…</name>.
func set(name string, items []node) node {
	n := node{name: name}
	for _, it := range items {
		n.kids = append(n.kids, node{name: "item", kids: it.kids})
	}
	return n
}

func item(kids ...node) node { return node{kids: kids} }

func tagSet(t Tags) node {
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var items []node
	for _, k := range keys {
		items = append(items, item(tx("key", k), tx("value", t[k])))
	}
	return set("tagSet", items)
}

func (n node) write(b *bytes.Buffer) {
	b.WriteString("<" + n.name + ">")
	if len(n.kids) == 0 {
		_ = xml.EscapeText(b, []byte(n.text))
	}
	for _, k := range n.kids {
		k.write(b)
	}
	b.WriteString("</" + n.name + ">")
}

// document is an action's response document.
func document(action, reqID string, body []node) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<%sResponse xmlns=\"http://ec2.amazonaws.com/doc/%s/\"><requestId>%s</requestId>", action, Version, reqID)
	for _, n := range body {
		n.write(&b)
	}
	fmt.Fprintf(&b, "</%sResponse>", action)
	return b.Bytes()
}

// apiErr is an EC2 error: status 400 unless said.
type apiErr struct {
	status        int
	code, message string
}

func fail(code, format string, args ...any) *apiErr {
	return &apiErr{status: 400, code: code, message: fmt.Sprintf(format, args...)}
}

// query is one request's parameters.
type query struct {
	url.Values
	region string
}

// list reads name.1, name.2, … .
func (q query) list(name string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := q.Values[fmt.Sprintf("%s.%d", name, i)]
		if !ok {
			return out
		}
		out = append(out, v[0])
	}
}

// prefixes lists the prefixes name.1, name.2, … that any parameter has.
func (q query) prefixes(name string) []string {
	var out []string
	for i := 1; ; i++ {
		p := fmt.Sprintf("%s.%d", name, i)
		found := false
		for k := range q.Values {
			if strings.HasPrefix(k, p+".") || k == p {
				found = true
				break
			}
		}
		if !found {
			return out
		}
		out = append(out, p)
	}
}

func (q query) int(name string, def int) int {
	if n, err := strconv.Atoi(q.Get(name)); err == nil {
		return n
	}
	return def
}

// tags reads prefix.N.Key / prefix.N.Value.
func (q query) tags(prefix string) Tags {
	t := Tags{}
	for _, p := range q.prefixes(prefix) {
		t[q.Get(p+".Key")] = q.Get(p + ".Value")
	}
	return t
}

// tagSpecs reads TagSpecification.N by resource type.
func (q query) tagSpecs() map[string]Tags {
	out := map[string]Tags{}
	for _, p := range q.prefixes("TagSpecification") {
		t := out[q.Get(p+".ResourceType")]
		if t == nil {
			t = Tags{}
		}
		for k, v := range q.tags(p + ".Tag") {
			t[k] = v
		}
		out[q.Get(p+".ResourceType")] = t
	}
	return out
}

// filter is one Filter.N: a name and the values any of which matches.
type filter struct {
	name   string
	values []string
}

func (q query) filters() []filter {
	var out []filter
	for _, p := range q.prefixes("Filter") {
		out = append(out, filter{name: q.Get(p + ".Name"), values: q.list(p + ".Value")})
	}
	return out
}

// fields gives a resource's values for a filter name; ok false when the
// name is not a filter of that kind.
type fields func(name string) (values []string, ok bool)

// tagFields answers tag:KEY and tag-key, else asks rest.
func tagFields(t Tags, rest func(string) []string) fields {
	return func(name string) ([]string, bool) {
		if k, ok := strings.CutPrefix(name, "tag:"); ok {
			if v, has := t[k]; has {
				return []string{v}, true
			}
			return nil, true
		}
		if name == "tag-key" {
			var keys []string
			for k := range t {
				keys = append(keys, k)
			}
			return keys, true
		}
		if name == "tag-value" {
			var vals []string
			for _, v := range t {
				vals = append(vals, v)
			}
			return vals, true
		}
		v := rest(name)
		return v, v != nil
	}
}

// match applies every filter; values hold * and ? wildcards as EC2's do.
func match(fs []filter, f fields) (bool, *apiErr) {
	for _, flt := range fs {
		got, ok := f(flt.name)
		if !ok {
			return false, fail("InvalidParameterValue", "The filter '%s' is invalid", flt.name)
		}
		hit := false
		for _, want := range flt.values {
			for _, g := range got {
				if wildcard(want, g) {
					hit = true
				}
			}
		}
		if !hit {
			return false, nil
		}
	}
	return true, nil
}

// page cuts items by MaxResults/NextToken as EC2's paginated Describe
// calls do, returning the nextToken element when more remain.
func page(q query, items []node) ([]node, []node, *apiErr) {
	max := q.int("MaxResults", 0)
	start := 0
	if tok := q.Get("NextToken"); tok != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(tok, "tok-"))
		if err != nil || n < 0 || n > len(items) {
			return nil, nil, fail("InvalidNextToken", "The token '%s' is invalid.", tok)
		}
		start = n
	}
	if max <= 0 || start+max >= len(items) {
		return items[start:], nil, nil
	}
	return items[start : start+max], []node{tx("nextToken", fmt.Sprintf("tok-%d", start+max))}, nil
}

// notFound is EC2's error for ids that do not exist.
func notFound(code, what string, ids []string) *apiErr {
	if len(ids) == 1 {
		return fail(code, "The %s '%s' does not exist", what, ids[0])
	}
	return fail(code, "The %ss '%s' do not exist", what, strings.Join(ids, ", "))
}

// malformed checks ids have prefix.
func malformed(code, prefix string, ids []string) *apiErr {
	for _, id := range ids {
		if !strings.HasPrefix(id, prefix+"-") || len(id) < len(prefix)+9 {
			return fail(code, "Invalid id: \"%s\"", id)
		}
	}
	return nil
}

// wildcard matches EC2's filter values: * any run of characters, ? one,
// across any character ('/' included, unlike path.Match).
func wildcard(pattern, s string) bool {
	var b strings.Builder
	b.WriteString("^")
	for _, r := range pattern {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String()).MatchString(s)
}
