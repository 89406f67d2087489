package config

import "github.com/buildrole/buildrole/internal/run"

// Input describes one action input / CLI flag. The table is the single
// source for flags, action.yml and the README's table (a test checks they
// agree).
type Input struct {
	Name        string
	Default     string
	Required    bool
	Description string
}

// Inputs lists every input in the order the docs show them.
var Inputs = []Input{
	{Name: "aws-region", Required: true, Description: "AWS region of the build, e.g. us-east-1."},
	{Name: "role-to-assume", Description: "ARN of the bootstrap role assumed with the job's GitHub OIDC token. Empty: the default AWS credential chain (e.g. a self-hosted runner's instance profile)."},
	{Name: "audience", Default: "sts.amazonaws.com", Description: "Audience of the GitHub OIDC token (in the China regions the default is sts.amazonaws.com.cn)."},
	{Name: "role-session-name", Description: "Session name of the bootstrap session. Default: buildrole-<run_id>-<attempt>."},
	{Name: "role-duration-seconds", Default: "3600", Description: "Lifetime of the exported build-role credentials, 900 to 43200; also the build role's MaxSessionDuration."},
	{Name: "retry-max-attempts", Default: "8", Description: "Attempts per AWS call on transient errors (5xx, network), 1 to 20; throttling has its own budget (18 creating, 50 tearing down)."},
	{Name: "mask-aws-account-id", Default: "false", Description: "Mask the AWS account id in logs."},
	{Name: "name-prefix", Default: "buildrole", Description: "First part of every resource name."},
	{Name: "path", Default: "/buildrole/", Description: "IAM path of every role and instance profile."},
	{Name: "permissions-boundary", Description: "ARN of a managed policy set as permissions boundary on every role."},
	{Name: "tags", Description: "Extra tags, key=value, one a line (CLI: repeat the flag or separate with commas)."},
	{Name: "ttl", Default: "6h", Description: "How long the resources may live; sets buildrole:expires-at, after which sweep may delete them."},
	{Name: "max-ttl", Default: run.FormatTTL(run.DefaultMaxTTL), Description: "The longest ttl the account allows. The bootstrap role's description carries it (buildrole bootstrap --max-ttl) and wins over this input, which rules only where there is none to read (no role-to-assume, an older bootstrap). up refuses a longer ttl, and sweep deletes any managed role or profile under path that IAM created longer ago or whose expiry lies further out."},
	{Name: "template", Description: "Packer template file or directory to derive the build role's policy from."},
	{Name: "template-vars", Description: "Values of the template's variables, name=value, one a line, as packer build -var gives them (PKR_VAR_* in the environment count too)."},
	{Name: "extra-policy", Description: "JSON policy statements added to the build role, or @FILE to read them from a file (at most 128 KiB)."},
	{Name: "instance-policy", Description: "JSON policy document for the instance role (the build VM), or @FILE to read it from a file (at most 128 KiB)."},
	{Name: "instance-profile", Default: "separate", Description: "separate (own instance role), shared (the build role itself) or none."},
	{Name: "scope", Default: "region", Description: "region: every statement bound to the build regions; tags: also bind creating calls and mutations to this run's buildrole:run-id tag (needs a template that passes var.buildrole_run_tags to run_tags and run_volume_tags)."},
	{Name: "allowed-source-cidrs", Description: "CIDRs the build role may be used from (aws:SourceIp), one a line or comma-separated."},
	{Name: "export-credentials", Default: "true", Description: "Export the build role's credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) to the job's environment, for tools that read only environment keys. false: nothing secret reaches the job's environment, up returns without waiting for IAM's propagation, and `buildrole exec -- packer build ...` in a later step obtains and renews the build role's credentials itself (builds of any length)."},
	{Name: "dry-run", Default: "false", Description: "Print the plan and call nothing."},
	{Name: "mode", Default: "up", Description: "up: create this run's roles (the post step deletes them); sweep: delete what killed runners left behind under path."},
	{Name: "sweep-older-than", Description: "mode sweep: delete runs created longer ago than this (e.g. 24h). Default: runs past their buildrole:expires-at."},
	{Name: "sweep-repository", Description: "mode sweep: only runs of this repository (owner/name)."},
	{Name: "sweep-pr", Description: "mode sweep: only runs of this pull request number (for on: pull_request: closed), of sweep-repository (default: this repository)."},
	{Name: "sweep-run-id", Description: "mode sweep: only the run with this buildrole:run-id."},
}

// Lookup returns the input named name.
func Lookup(name string) (Input, bool) {
	for _, in := range Inputs {
		if in.Name == name {
			return in, true
		}
	}
	return Input{}, false
}
