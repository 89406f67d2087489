package cli

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/buildrole/buildrole/internal/config"
	"github.com/buildrole/buildrole/internal/ghaction"
	"github.com/buildrole/buildrole/internal/planner"
)

// printDryRun prints the plan: readable, or with --json the machine form
// (every document in full). In a job it also writes the step summary and
// annotates the template's notes.
func printDryRun(rio runIO, env Env, f *flags, cfg *config.Config, plan *planner.Plan) int {
	inActions := ghaction.InActions(env.Getenv)
	var text string
	if f.json {
		printWarnings(rio, plan)
		b, _ := json.MarshalIndent(plan, "", "  ")
		text = string(b)
	} else {
		if _, ok := rio.(actionIO); ok {
			printWarnings(rio, plan) // annotations; the plan lists them too
		}
		text = plan.Readable(cfg.ExtraStatements)
	}
	if err := writeData(env.Stdout, inActions, text); err != nil {
		return ExitFailed
	}
	if err := rio.summary("### buildrole: dry run, nothing was created\n\n" + upSummary(plan) + notesSummary(plan.Warnings)); err != nil {
		rio.warnf("%s", err)
	}
	return ExitOK
}

// notesSummary lists the notes for the step summary.
func notesSummary(notes []string) string {
	if len(notes) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("\n**Notes**\n\n")
	for _, n := range notes {
		fmt.Fprintf(&b, "- %s\n", n)
	}
	return b.String()
}
