// Package planner turns a validated config into the run's plan (run.Plan):
// names, ARNs, tags, trust and the build role's policy derived from the
// template, checked as IAM and the linter would check them before any call.
// `up`, `up --dry-run`, `policy` and `exec` share it.
//
// It computes without I/O: it must not depend on the AWS SDK, net/http,
// provision, stsauth, ghaction or the CLI.
package planner
