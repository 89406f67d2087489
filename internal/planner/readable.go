package planner

import (
	"cmp"
	"fmt"
	"sort"
	"strings"

	"github.com/buildrole/buildrole/internal/iampolicy"
	"github.com/buildrole/buildrole/internal/run"
)

// maxPlanNotes bounds the notes the readable plan lists; `buildrole
// policy` lists them all.
const maxPlanNotes = 12

// Readable is what a person reviews before the first real run: what
// up would create, who may assume the build role, what it may do (grouped
// as the step summary groups it) and the template's notes.
func (p *Plan) Readable(extra []iampolicy.Statement) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Dry run: nothing was created and no AWS call was made. up would create, in %s (account %s):\n\n", p.Region, p.AccountID)
	fmt.Fprintf(&b, "  build role        %s\n", p.BuildRole.ARN)
	if p.InstanceRole != nil {
		fmt.Fprintf(&b, "  instance role     %s\n", p.InstanceRole.ARN)
	}
	if p.InstanceProfile != nil {
		fmt.Fprintf(&b, "  instance profile  %s (holds %s)\n", p.InstanceProfile.ARN, p.InstanceProfile.Role)
	}
	if p.Boundary != "" {
		fmt.Fprintf(&b, "  each with the permissions boundary %s\n", p.Boundary)
	}
	fmt.Fprintf(&b, "\nExpires %s; sessions of %s.\n", p.ExpiresAt.Format("2006-01-02T15:04:05Z07:00"), fmtSeconds(p.MaxSessionDuration))
	if p.TrustMode == run.TrustChain {
		fmt.Fprintf(&b, "Who may assume the build role: the bootstrap session (%s).\n", p.Trust.PrincipalARN)
	} else {
		fmt.Fprintf(&b, "Who may assume the build role: this job's OIDC token from %s, aud %s, sub %s.\n", p.Trust.Issuer, p.Trust.Audience, p.Trust.Subject)
	}
	fmt.Fprintf(&b, "\nWhat the build role may do, in %s:\n", strings.Join(p.Regions, ", "))
	for _, line := range actionLines(p.Actions()) {
		b.WriteString("  " + line + "\n")
	}
	for _, st := range extra {
		fmt.Fprintf(&b, "  extra-policy %s: %s on %s\n", cmp.Or(st.Sid, "(no Sid)"), strings.Join(st.Action, ", "), strings.Join(st.Resource, ", "))
	}
	if p.InstanceRole != nil {
		if p.InstanceRole.Policy != nil {
			fmt.Fprintf(&b, "The instance role (the build VM) gets %s: %d statement(s).\n", p.InstanceRole.PolicyName, len(p.InstanceRole.Policy.Statement))
		} else {
			b.WriteString("The instance role (the build VM) gets no permissions (instance-policy is empty).\n")
		}
	}
	if len(p.Warnings) > 0 {
		b.WriteString("\nNotes:\n")
		for i, n := range p.Warnings {
			if i == maxPlanNotes {
				fmt.Fprintf(&b, "  ... and %d more: `buildrole policy` lists every one\n", len(p.Warnings)-i)
				break
			}
			fmt.Fprintf(&b, "  - %s\n", n)
		}
	}
	b.WriteString("\nEvery document in full: the same command with --json; why each permission: `buildrole policy`.\n")
	return b.String()
}

// actionLines groups actions by service, one service a line, wrapped
// near 100 columns.
func actionLines(actions []string) []string {
	groups := map[string][]string{}
	for _, a := range actions {
		svc, name, _ := strings.Cut(a, ":")
		groups[svc] = append(groups[svc], name)
	}
	svcs := make([]string, 0, len(groups))
	for s := range groups {
		svcs = append(svcs, s)
	}
	sort.Strings(svcs)
	var out []string
	for _, s := range svcs {
		line := s + ":"
		for i, name := range groups[s] {
			sep := " "
			if i > 0 {
				sep = ", "
			}
			if len(line)+len(sep)+len(name) > 96 {
				out = append(out, line+",")
				line, sep = "    ", ""
			}
			line += sep + name
		}
		out = append(out, line)
	}
	return out
}

func fmtSeconds(s int32) string {
	if s%3600 == 0 {
		return fmt.Sprintf("%dh", s/3600)
	}
	return fmt.Sprintf("%dm", s/60)
}
