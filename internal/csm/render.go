package csm

import (
	"fmt"
	"strings"

	"github.com/buildrole/buildrole/internal/awsfacts"
)

// TotalCalls is the number of calls made, all actions together.
func (r Report) TotalCalls() int {
	n := 0
	for _, c := range r.Calls {
		n += c.Count
	}
	return n
}

// figures is the one line of numbers every rendering starts with.
func (r Report) figures() string {
	s := fmt.Sprintf("%s (%s), %d denied, %d ungranted", plural(r.TotalCalls(), "AWS call"), plural(len(r.Calls), "action"), len(r.Denied), len(r.Ungranted))
	if r.Granted == nil {
		return s + "; no policy to compare with (run up first, or pass --template)"
	}
	if r.Used == nil {
		return s + fmt.Sprintf("; the policy grants %d actions", *r.Granted)
	}
	s += fmt.Sprintf("; the policy grants %d actions, the command used %d, %d never called", *r.Granted, *r.Used, len(r.Unused))
	if len(r.Indirect) > 0 {
		s += fmt.Sprintf(", %d checked inside other calls", len(r.Indirect))
	}
	return s
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

const listMax = 12

// short lists at most listMax items.
func short(items []string) string {
	if len(items) <= listMax {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:listMax], ", ") + fmt.Sprintf(" and %d more", len(items)-listMax)
}

func counts(m map[string]int) string {
	var out []string
	for _, k := range sortedKeys(m) {
		out = append(out, fmt.Sprintf("%s x%d", k, m[k]))
	}
	return strings.Join(out, ", ")
}

// otherErrors are a call's failures that are not refusals.
func otherErrors(c Call) map[string]int {
	m := map[string]int{}
	for k, v := range c.Errors {
		if !awsfacts.IsDenied(k) {
			m[k] = v
		}
	}
	return m
}

// Text is the short summary printed on stderr when the command ends.
func (r Report) Text() string {
	var b strings.Builder
	if !r.Observed {
		fmt.Fprintf(&b, "buildrole exec: %s\n", r.Message)
		return b.String()
	}
	fmt.Fprintf(&b, "buildrole exec: %s made %s\n", r.Command, r.figures())
	if r.Policy != "" {
		fmt.Fprintf(&b, "  policy: %s\n", r.Policy)
	}
	for _, d := range r.Denied {
		fmt.Fprintf(&b, "  denied: %s in %s (%s)\n", d.Action, strings.Join(d.Regions, ", "), counts(d.Codes))
		if d.Reason != "" {
			fmt.Fprintf(&b, "    why: %s\n", d.Reason)
		}
		fmt.Fprintf(&b, "    fix: %s\n", d.Fix)
		if d.ExtraPolicy != nil {
			fmt.Fprintf(&b, "    extra-policy: %s\n", mustJSON(d.ExtraPolicy))
		}
		if d.Decode != "" {
			fmt.Fprintf(&b, "    decode: %s\n", d.Decode)
		}
	}
	for _, u := range r.Ungranted {
		fmt.Fprintf(&b, "  ungranted: %s succeeded x%d though the policy does not grant it\n", u.Action, u.Succeeded)
	}
	for _, c := range r.Calls {
		if m := otherErrors(c); len(m) > 0 {
			fmt.Fprintf(&b, "  failed: %s (%s)\n", c.Action, counts(m))
		}
		if len(c.Retried) > 0 {
			fmt.Fprintf(&b, "  retried: %s (%s)\n", c.Action, counts(c.Retried))
		}
	}
	if len(r.Unused) > 0 {
		fmt.Fprintf(&b, "  never called: %s\n", short(r.Unused))
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "  note: %s\n", n)
	}
	return b.String()
}

// md escapes text for a Markdown table cell or paragraph.
func md(s string) string { return mdEscaper.Replace(s) }

var mdEscaper = strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;", "`", "'", "\n", " ", "*", `\*`, "_", `\_`)

// Markdown is the job's step summary.
func (r Report) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "### buildrole exec: `%s` exited %d\n\n", md(r.Command), r.ExitCode)
	if !r.Observed {
		fmt.Fprintf(&b, "%s\n", md(r.Message))
		return b.String()
	}
	fmt.Fprintf(&b, "%s.", md(r.figures()))
	if r.Policy != "" {
		fmt.Fprintf(&b, " Policy: %s.", md(r.Policy))
	}
	b.WriteString("\n\n")
	if len(r.Denied) > 0 {
		b.WriteString("#### Denied\n\n")
		for _, d := range r.Denied {
			fmt.Fprintf(&b, "**`%s`** in %s: %s\n\n", d.Action, md(strings.Join(d.Regions, ", ")), md(counts(d.Codes)))
			if d.Message != "" {
				fmt.Fprintf(&b, "> %s\n\n", md(d.Message))
			}
			fmt.Fprintf(&b, "Fix: %s\n\n", md(d.Fix))
			if d.ExtraPolicy != nil {
				fmt.Fprintf(&b, "```json\n%s\n```\n\n", mustJSON(d.ExtraPolicy))
			}
			if d.Decode != "" {
				fmt.Fprintf(&b, "Decode: %s\n\n", md(d.Decode))
			}
		}
	}
	if len(r.Ungranted) > 0 {
		b.WriteString("#### Succeeded without a grant\n\n")
		for _, u := range r.Ungranted {
			fmt.Fprintf(&b, "- `%s` x%d in %s\n", u.Action, u.Succeeded, md(strings.Join(u.Regions, ", ")))
		}
		b.WriteString("\n")
	}
	b.WriteString("#### Calls\n\n| call | count | failed | retried | regions |\n|---|---:|---|---|---|\n")
	for _, c := range r.Calls {
		fmt.Fprintf(&b, "| `%s` | %d | %s | %s | %s |\n", c.Action, c.Count, md(counts(c.Errors)), md(counts(c.Retried)), md(strings.Join(c.Regions, ", ")))
	}
	if len(r.Unused) > 0 {
		fmt.Fprintf(&b, "\n<details><summary>Granted and never called (%d)</summary>\n\n%s\n</details>\n", len(r.Unused), md(strings.Join(r.Unused, ", ")))
	}
	if len(r.Indirect) > 0 {
		b.WriteString("\n<details><summary>Granted, checked by AWS inside other calls</summary>\n\n")
		for _, in := range r.Indirect {
			fmt.Fprintf(&b, "- `%s` inside %s\n", in.Action, md(strings.Join(in.Via, ", ")))
		}
		b.WriteString("</details>\n")
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "\nNote: %s\n", md(n))
	}
	return b.String()
}

// Record renders the calls in the format of testdata/templates/*.calls:
// "REGION ACTION RESOURCE", in the order the command first made them.
func (r Report) Record() string {
	var b strings.Builder
	b.WriteString("# Recorded by `buildrole exec` from the client-side monitoring events of `" + r.Command + "`:\n")
	b.WriteString("# every call the build made, in the order first made. The events carry no\n")
	b.WriteString("# resources: replace each * with the ARN the plugin's step acts on ({ec2}, {img},\n")
	b.WriteString("# {role}, {profile}) where the action takes one, and add deny lines for what\n")
	b.WriteString("# must stay refused, before adding the file beside its template.\n")
	region := ""
	for _, c := range r.Calls {
		if len(c.Regions) > 0 {
			region = c.Regions[0]
			break
		}
	}
	if region != "" {
		fmt.Fprintf(&b, "region %s\n", region)
	}
	for _, c := range r.Calls {
		if len(c.Errors) > 0 {
			fmt.Fprintf(&b, "# failed in this run: %s\n", counts(c.Errors))
		}
		regions := c.Regions
		if len(regions) == 0 {
			regions = []string{region}
		}
		for _, reg := range regions {
			if reg == "" {
				reg = "us-east-1"
			}
			fmt.Fprintf(&b, "%s %s *\n", reg, c.Action)
		}
	}
	return b.String()
}
