package leftovers

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Lines renders the outcomes for the log.
func (c *Teardown) Lines() []string {
	out := c.Report.Lines()
	for _, r := range slices.Sorted(maps.Keys(c.Unlisted)) {
		out = append(out, fmt.Sprintf("%-18s %-60s unknown: %s", "ec2 region", r, c.Unlisted[r]))
	}
	return out
}

// FinishCommands are the commands that finish what teardown could not:
// one per resource left, and sweep (which finds them by the run's tags)
// in each region with leftovers or not listed.
func (c *Teardown) FinishCommands(sweep func(region string) string) []string {
	var out []string
	regions := maps.Clone(c.Unlisted)
	for _, o := range c.Report.Remaining() {
		out = append(out, o.Command())
		regions[o.Region] = nil
	}
	for _, r := range slices.Sorted(maps.Keys(regions)) {
		out = append(out, sweep(r))
	}
	return out
}

// Summary is the step summary's EC2 part: in regions, acting as as.
func (c *Teardown) Summary(regions []string, as string, sweep func(region string) string) string {
	if len(c.Report.Outcomes) == 0 && len(c.Unlisted) == 0 {
		return fmt.Sprintf("\nEC2: nothing of the build left in %s.\n", strings.Join(regions, ", "))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n**EC2 leftovers of the build** (as %s): %d removed, %d remaining.\n\n| region | kind | id | result |\n|---|---|---|---|\n", as, c.Report.Removed(), c.Remaining())
	for _, o := range c.Report.Outcomes {
		fmt.Fprintf(&b, "| %s | %s | `%s` | %s |\n", o.Region, o.Kind, o.ID, o.Status)
	}
	for _, r := range slices.Sorted(maps.Keys(c.Unlisted)) {
		fmt.Fprintf(&b, "| %s | (all) | | unknown: could not list |\n", r)
	}
	if cmds := c.FinishCommands(sweep); len(cmds) > 0 {
		b.WriteString("\nTo finish:\n\n```\n" + strings.Join(cmds, "\n") + "\n```\n")
	}
	return b.String()
}

// RemainingText names the EC2 leftovers not removed and the commands that
// finish the job ("" when none).
func (c *Teardown) RemainingText(sweep func(region string) string) string {
	if c.Remaining() == 0 {
		return ""
	}
	var names []string
	for _, o := range c.Report.Remaining() {
		names = append(names, fmt.Sprintf("%s %s in %s (%s)", o.Kind, o.ID, o.Region, o.Status))
	}
	for _, r := range slices.Sorted(maps.Keys(c.Unlisted)) {
		names = append(names, fmt.Sprintf("whatever is in %s (could not list: %s)", r, c.Unlisted[r]))
	}
	return fmt.Sprintf("\nEC2 leftovers remaining: %s\nto finish: %s", strings.Join(names, "; "), strings.Join(c.FinishCommands(sweep), "\n  "))
}
