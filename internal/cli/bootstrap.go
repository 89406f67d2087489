package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/buildrole/buildrole/internal/accountsetup"
	"github.com/buildrole/buildrole/internal/awsfacts"
	"github.com/buildrole/buildrole/internal/config"
	"github.com/buildrole/buildrole/internal/ghaction"
	"github.com/buildrole/buildrole/internal/run"
)

// runBootstrap prints the account setup an administrator creates once.
func runBootstrap(_ context.Context, env Env, args []string) int {
	f := newFlags(env, "bootstrap", "buildrole bootstrap --repository ORG/REPO --account-id ID [--format json|cloudformation|terraform] [flags]",
		"Print the one-time account setup: the GitHub OIDC provider, the bootstrap role the\n"+
			"action assumes, and the permissions boundary every run role carries. Calls nothing.")
	fs := f.fs
	var p accountsetup.BootstrapParams
	var subjects, instanceActions, regions, shareAccounts, instanceTypes listFlag
	fs.StringVar(&p.Repository, "repository", "", "ORG/REPO whose workflows may use buildrole (required)")
	fs.StringVar(&p.AccountID, "account-id", "", "12-digit AWS account id (required)")
	fs.StringVar(&p.Partition, "partition", "aws", "AWS partition: aws, aws-cn, aws-us-gov, ...")
	fs.Var(&subjects, "subject", "admitted sub after repo:ORG/REPO: (pull_request, ref:refs/heads/BRANCH, ref:refs/tags/TAG, environment:NAME), or a whole sub (repo:ORG/REPO:..., a customized template's); repeat or separate with commas (default pull_request and ref:refs/heads/main)")
	fs.StringVar(&p.RepositoryID, "repository-id", "", "numeric repository id, for GitHub's immutable subject form (with --owner-id)")
	fs.StringVar(&p.OwnerID, "owner-id", "", "numeric owner id, for GitHub's immutable subject form (with --repository-id)")
	fs.StringVar(&p.Path, "path", "/buildrole/", "IAM path of every run role and profile")
	fs.StringVar(&p.NamePrefix, "name-prefix", "buildrole", "first part of every run resource name")
	fs.StringVar(&p.RoleName, "role-name", "buildrole-bootstrap", "name of the bootstrap role")
	fs.StringVar(&p.BoundaryName, "boundary-name", "buildrole-boundary", "name of the permissions boundary policy")
	fs.StringVar(&p.Audience, "audience", "", "OIDC audience (default sts.amazonaws.com; sts.amazonaws.com.cn in aws-cn)")
	fs.StringVar(&p.Issuer, "issuer", "https://token.actions.githubusercontent.com", "OIDC issuer: GitHub's, GitHub Enterprise Server's (https://HOST/_services/token) or your enterprise's")
	fs.StringVar(&p.ProviderARN, "oidc-provider-arn", "", "use this existing OIDC provider for the issuer instead of creating one (accounts that already use configure-aws-credentials have it)")
	fs.BoolVar(&p.ChainMode, "chain", false, "also allow sts:AssumeRole on run roles (runners without OIDC)")
	fs.Var(&instanceActions, "instance-action", "an action instance roles may ever be given (the boundary's ceiling for them); repeat (default: the SSM agent's actions and s3:GetObject)")
	fs.Var(&regions, "region", "a region run roles may act in (every build region and ami_regions entry); repeat (default: any region)")
	fs.Var(&shareAccounts, "share-account", "an account run roles may share snapshots with (snapshot_users); repeat (default: none; never public)")
	fs.Var(&instanceTypes, "instance-type", "an instance type run roles may launch, or a pattern of them (t3.*); repeat (default: any)")
	maxTTL := fs.String("max-ttl", run.FormatTTL(run.DefaultMaxTTL), "the longest ttl a run may have, written into the bootstrap role's description: up refuses more, sweep deletes what claims more")
	format := fs.String("format", "json", "json, cloudformation or terraform")
	if done, code := f.parse(args); done {
		return code
	}
	d, perr := config.ParseDuration(*maxTTL)
	if perr != nil || d <= 0 {
		return f.fail("--max-ttl %q must be a duration such as 24h or 3d", *maxTTL)
	}
	p.MaxTTL = d
	p.Subjects, p.InstanceActions = subjects.vals, instanceActions.vals
	p.Regions, p.ShareAccounts, p.InstanceTypes = regions.vals, shareAccounts.vals, instanceTypes.vals
	p.NewRegions = strings.FieldsFunc(env.Getenv(awsfacts.NewRegionsVariable), func(r rune) bool { return r == ',' || r == ' ' })
	b, err := accountsetup.NewBootstrap(p)
	if err != nil {
		fmt.Fprintf(env.Stderr, "buildrole bootstrap: %v\n", err)
		return ExitUsage
	}
	var out string
	switch *format {
	case "json":
		out = b.JSON()
	case "cloudformation", "cfn":
		out = b.CloudFormation()
	case "terraform", "tf":
		out = b.Terraform()
	default:
		return f.fail("--format %q must be json, cloudformation or terraform", *format)
	}
	if err := writeData(env.Stdout, ghaction.InActions(env.Getenv), out); err != nil {
		return ExitFailed
	}
	for _, w := range b.Warnings {
		fmt.Fprintf(env.Stderr, "warning: %s\n", w)
	}
	// The bootstrap role refuses any role without the boundary.
	fmt.Fprintf(env.Stderr, "\nIn the workflow:\n  role-to-assume: %s\n  permissions-boundary: %s\n  path: %s\n", b.RoleARN, b.BoundaryARN, orDefault(p.Path, "/buildrole/"))
	// up and sweep read it from the bootstrap role's description; the
	// input matters only where there is none (no role-to-assume).
	fmt.Fprintf(env.Stderr, "  max-ttl: %s (in the bootstrap role's description, where up and sweep read it; give it as the max-ttl input only without role-to-assume)\n", run.FormatTTL(b.MaxTTL))
	return ExitOK
}
