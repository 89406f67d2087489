package accountsetup

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/buildrole/buildrole/internal/awsfacts"
	"github.com/buildrole/buildrole/internal/buildpolicy"
	"github.com/buildrole/buildrole/internal/iampolicy"
	"github.com/buildrole/buildrole/internal/naming"
	"github.com/buildrole/buildrole/internal/run"
)

// Defaults of BootstrapParams.
const (
	DefaultBootstrapPath     = "/buildrole/"
	DefaultBootstrapPrefix   = "buildrole"
	DefaultBootstrapRoleName = "buildrole-bootstrap"
	DefaultBoundaryName      = "buildrole-boundary"
	DefaultBootstrapAudience = "sts.amazonaws.com"
	// ChinaAudience is the audience in the aws-cn partition.
	ChinaAudience              = "sts.amazonaws.com.cn"
	GitHubOIDCProviderURL      = iampolicy.GitHubIssuer
	BootstrapMaxSessionSeconds = 3600
)

// Condition keys of the bootstrap policies. Which IAM actions support which
// key follows the Service Authorization Reference for IAM.
const (
	KeyPermissionsBoundary = "iam:PermissionsBoundary"
	// The bootstrap role may only create and change resources that
	// carry run.TagManaged = run.TagManagedValue.
	KeyRequestTagManaged  = iampolicy.PrefixRequestTag + run.TagManaged
	KeyResourceTagManaged = iampolicy.PrefixResourceTag + run.TagManaged
)

// Stable statement ids of the bootstrap role's permission policy.
const (
	SidCreateRunRoles           = "CreateRunRoles"
	SidCreateRunProfiles        = "CreateRunInstanceProfiles"
	SidTagRunResources          = "TagRunResources"
	SidPutRunRolePolicy         = "PutRunRolePolicy"
	SidDeleteRunRoles           = "DeleteRunRoles"
	SidManageRunProfiles        = "ManageRunInstanceProfiles"
	SidPassRunRoles             = "PassRunRolesToInstanceProfiles"
	SidReadRunRoles             = "ReadRunRoles"
	SidReadRunProfiles          = "ReadRunInstanceProfiles"
	SidListForSweep             = "ListForSweep"
	SidReadBuildLeftovers       = "ReadBuildLeftovers"
	SidRemoveBuildLeftovers     = "RemoveBuildLeftovers"
	SidTerminateBuildInstances  = "TerminateBuildInstances"
	SidAssumeRunRoles           = "AssumeRunRoles"
	SidDenyBoundaryRemoval      = "DenyBoundaryRemoval"
	SidDenyTrustChanges         = "DenyTrustPolicyChanges"
	SidDenyBoundaryPolicyChange = "DenyBoundaryPolicyChanges"
	SidDenyWithoutBoundary      = "DenyRoleWithoutBoundary"
	// Both documents: no rewriting of a resource's run id or expiry.
	SidDenyRunIDRewrite  = "DenyRunIDRewrite"
	SidDenyExpiryRewrite = "DenyExpiryRewrite"
)

// Stable statement ids of the permissions boundary.
const (
	SidBoundaryBuild           = "BuildActions"
	SidBoundaryBuildInstances  = "BuildInstances"
	SidBoundarySessions        = "SessionsToInstances"
	SidBoundarySessionDocument = "PortForwardingDocument"
	SidBoundaryEndSessions     = "EndOwnSessions"
	SidBoundaryKeysViaEC2      = "KeysViaEC2"
	SidBoundaryGrantsForEC2    = "GrantsForEC2"
	SidBoundaryShareSnapshots  = "ShareSnapshots"
	SidBoundaryPassRunRoles    = "PassRunRoles"
	SidBoundaryReadRunProfiles = "ReadRunInstanceProfiles"
	SidBoundaryInstance        = "InstanceActions"
	// SidBoundaryDenyOutsideRegions keeps EC2, KMS and SSM in the
	// regions given at bootstrap.
	SidBoundaryDenyOutsideRegions = "DenyOutsideRegions"
	// SidBoundaryDenyOtherInstanceTypes keeps launches to the instance
	// types given at bootstrap.
	SidBoundaryDenyOtherInstanceTypes = "DenyOtherInstanceTypes"
)

// DefaultInstanceActions are what the SSM agent on a build VM needs to
// register and to carry Session Manager and Run Command traffic (the
// ssm:UpdateInstanceInformation, ssmmessages and ec2messages statements of
// AmazonSSMManagedInstanceCore), plus s3:GetObject to fetch build inputs.
// Sorted.
var defaultInstanceActions = []string{
	"ec2messages:AcknowledgeMessage",
	"ec2messages:DeleteMessage",
	"ec2messages:FailMessage",
	"ec2messages:GetEndpoint",
	"ec2messages:GetMessages",
	"ec2messages:SendReply",
	"s3:GetObject",
	"ssm:UpdateInstanceInformation",
	"ssmmessages:CreateControlChannel",
	"ssmmessages:CreateDataChannel",
	"ssmmessages:OpenControlChannel",
	"ssmmessages:OpenDataChannel",
}

// DefaultInstanceActions returns the default BootstrapParams.InstanceActions.
func DefaultInstanceActions() []string { return slices.Clone(defaultInstanceActions) }

// BootstrapParams describes the one-time account setup: GitHub's OIDC
// provider, the bootstrap role the action assumes, and the permissions
// boundary every run role is created with. Field docs give the defaults.
type BootstrapParams struct {
	// Partition of the account; "aws" when empty.
	Partition string
	// AccountID is the 12-digit account the ARNs name (required).
	AccountID string
	// Repository is ORG/REPO, the repository whose workflows may assume
	// the bootstrap role (required).
	Repository string
	// RepositoryID and OwnerID are GitHub's immutable numeric ids. With
	// both set, subjects use the immutable form
	// "repo:ORG@OWNERID/REPO@REPOID:..." and only that form: a renamed or
	// recycled name no longer matches. Set them only for repositories whose
	// tokens carry immutable subject claims.
	RepositoryID, OwnerID string
	// Subjects are the sub claims admitted, as contexts after
	// "repo:ORG/REPO:" ("pull_request", "ref:refs/heads/main",
	// "ref:refs/tags/v1", "environment:prod"); a value beginning "repo:"
	// or another claim of a customized template ("job_workflow_ref:...",
	// "repository_owner_id:...") is taken as is. An entry may list several,
	// comma-separated. Forms GitHub never writes ("refs/heads/main",
	// "main", "pull-request") are errors naming the form it writes.
	// Default: "pull_request" and "ref:refs/heads/main".
	Subjects []string
	// Path is the IAM path of every run role and instance profile, and of
	// the boundary policy; default "/buildrole/".
	Path string
	// NamePrefix begins every run role and profile name; default "buildrole".
	NamePrefix string
	// RoleName is the bootstrap role's name (at path "/"); default
	// "buildrole-bootstrap".
	RoleName string
	// BoundaryName is the boundary managed policy's name; default
	// "buildrole-boundary".
	BoundaryName string
	// Audience is the OIDC audience; default "sts.amazonaws.com", and
	// "sts.amazonaws.com.cn" in the China partition (as AWS documents).
	Audience string
	// Issuer is the URL of the OIDC issuer: GitHub's
	// (https://token.actions.githubusercontent.com, the default), GitHub
	// Enterprise Server's (https://HOST/_services/token), or an
	// enterprise's own.
	Issuer string
	// ProviderARN names an OIDC provider that already exists for Issuer
	// (every account using configure-aws-credentials has one): the setup
	// then uses it instead of creating one. Default "": create it.
	ProviderARN string
	// ChainMode also lets the bootstrap session assume run roles
	// (sts:AssumeRole), for runners that cannot mint OIDC tokens for them.
	ChainMode bool
	// InstanceActions are all an instance role may ever do (the boundary's
	// ceiling for it); default DefaultInstanceActions(). No wildcards.
	InstanceActions []string
	// Regions bind the boundary's EC2, KMS and SSM grants to these
	// regions (every build region and ami_regions entry); default: any.
	Regions []string
	// NewRegions admits region codes newer than the pinned AWS SDK
	// (awsfacts.NewRegionsVariable).
	NewRegions []string
	// ShareAccounts are the accounts run roles may share snapshots with
	// (snapshot_users); default none. Public sharing is never allowed.
	ShareAccounts []string
	// InstanceTypes are the instance types run roles may launch, as IAM's
	// StringLike matches them ("t3.micro", "t3.*"); default: any.
	InstanceTypes []string
	// MaxTTL is the longest ttl a run may have: up refuses more, and sweep
	// deletes what claims more. No policy can hold it (IAM compares no
	// tag value with the time): the bootstrap role's Description carries
	// it, where up and sweep read it. Default run.DefaultMaxTTL.
	MaxTTL time.Duration
}

// Bootstrap is the generated account setup.
type Bootstrap struct {
	ProviderURL string
	ProviderARN string
	Audience    string
	// ExistingProvider: ProviderARN exists already; nothing creates it.
	ExistingProvider bool

	RoleName     string
	RoleARN      string
	BoundaryName string
	BoundaryARN  string

	// Trust is the bootstrap role's trust policy.
	Trust iampolicy.Document
	// Permissions is the bootstrap role's inline permission policy.
	Permissions iampolicy.Document
	// Boundary is the permissions boundary every run role is created with.
	Boundary iampolicy.Document

	// Warnings name subjects whose wildcards admit more than one
	// repository, branch or environment.
	Warnings []string
	// MaxTTL is the account's longest ttl, which RoleDescription carries.
	MaxTTL time.Duration
	// RoleDescription is the bootstrap role's Description.
	RoleDescription string

	partition    string
	path         string // run resources and the boundary policy
	prefix       string
	chain        bool
	subjects     []string // full sub values, as in Trust
	roleARNGlob  string   // role{path}{prefix}-*
	profileGlob  string   // instance-profile{path}{prefix}-*
	policyName   string   // the inline policy's name
	maxSessionS  int
	rolePath     string // the bootstrap role's own path
	providerHost string
	accountID    string
	regions      []string // the boundary's regions; none: any
	// shareAccounts may receive the run's snapshots.
	shareAccounts []string
	instanceTypes []string // the boundary's instance types; none: any
}

// Limits that the names must respect (IAM's quotas).
const (
	bootstrapMaxRoleName   = awsfacts.MaxRoleName
	bootstrapMaxPolicyName = 128
)

var (
	bsPartitionRE = regexp.MustCompile(`^aws(-[a-z]+)*$`)
	bsOwnerRE     = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$`)
	bsRepoRE      = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)
	bsIDRE        = regexp.MustCompile(`^[1-9][0-9]{0,19}$`)
	bsActionRE    = regexp.MustCompile(`^[A-Za-z0-9-]+:[A-Za-z0-9]+$`)
	bsAudienceRE  = regexp.MustCompile(`^[\x21-\x7E]+$`)
	// An instance type ("m7g.2xlarge") or a StringLike pattern of one.
	bsInstanceTypeRE = regexp.MustCompile(`^[a-z0-9*?][a-z0-9.*?-]{0,63}$`)
)

// NewBootstrap validates p, applies the defaults and generates the trust
// policy, the permission policy and the boundary. Errors name the field
// and say what is wrong.
func NewBootstrap(p BootstrapParams) (*Bootstrap, error) {
	return newBootstrap(p, buildpolicy.CatalogueActions())
}

// newBootstrap is NewBootstrap with the catalogue given, so that golden
// files need not change whenever the catalogue grows.
func newBootstrap(p BootstrapParams, catalogue []string) (*Bootstrap, error) {
	p = p.withDefaults()
	v, err := p.validate()
	if err != nil {
		return nil, err
	}
	b := p.named(v.providerHost)
	// The bootstrap role must not fall under its own grants, or it could
	// tag and then delete itself.
	if iampolicy.ResourceMatch(b.roleARNGlob, b.RoleARN) {
		return nil, fmt.Errorf("bootstrap role name: %q at path %q falls under the run roles' pattern %q; choose a role name that does not begin with %q or a path other than %q",
			p.RoleName, b.rolePath, p.Path+p.NamePrefix+"-*", p.NamePrefix+"-", p.Path)
	}
	if b.subjects, b.Warnings, err = bootstrapSubjects(p, v); err != nil {
		return nil, err
	}
	b.Warnings = append(b.Warnings, v.warnings...)
	b.Trust = b.trustPolicy()
	b.Permissions = b.permissionPolicy()
	b.Boundary = b.boundaryPolicy(catalogue, v.instance)
	if err := b.checkSizes(); err != nil {
		return nil, err
	}
	return b, nil
}

// validated is what validating BootstrapParams derives from them.
type validated struct {
	owner, repo  string
	providerHost string   // the issuer as IAM names its provider
	instance     []string // InstanceActions, unique and sorted
	warnings     []string // regions newer than the SDK
}

// validate checks p (defaults applied) and reports every wrong field at
// once.
func (p BootstrapParams) validate() (validated, error) {
	var v validated
	var errs []error
	fail := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("bootstrap %s: %s", field, fmt.Sprintf(format, args...)))
	}

	if !bsPartitionRE.MatchString(p.Partition) {
		fail("partition", "%q is not a partition (want e.g. %q, %q, %q)", p.Partition, awsfacts.PartitionAWS, awsfacts.PartitionChina, awsfacts.PartitionGovCloud)
	}
	if !awsfacts.IsAccountID(p.AccountID) {
		fail("account", "%q is not a 12-digit account id%s", p.AccountID, accountHint(p.AccountID))
	}
	var err error
	if v.owner, v.repo, err = splitRepository(p.Repository); err != nil {
		fail("repository", "%v", err)
	}
	switch {
	case (p.RepositoryID == "") != (p.OwnerID == ""):
		fail("repository id", "set both the owner id and the repository id for immutable subjects, or neither")
	case p.RepositoryID != "" && (!bsIDRE.MatchString(p.RepositoryID) || !bsIDRE.MatchString(p.OwnerID)):
		fail("repository id", "owner id %q and repository id %q must be GitHub's numeric ids", p.OwnerID, p.RepositoryID)
	}
	if err := run.ValidatePath(p.Path); err != nil {
		fail("path", "%v", err)
	}
	// The runs' names start with the prefix: naming's rule, which leaves
	// room for the unique part and the instance suffix.
	if err := naming.ValidatePrefix(p.NamePrefix); err != nil {
		fail("name prefix", "%v", err)
	}
	if err := awsfacts.ValidateName(p.RoleName, bootstrapMaxRoleName); err != nil {
		fail("role name", "%v", err)
	}
	if err := awsfacts.ValidateName(p.BoundaryName, bootstrapMaxPolicyName); err != nil {
		fail("boundary name", "%v", err)
	}
	if !bsAudienceRE.MatchString(p.Audience) || strings.ContainsAny(p.Audience, "*?") {
		fail("audience", "%q must be printable, without spaces or wildcards", p.Audience)
	}
	v.providerHost, err = iampolicy.OIDCProviderName(p.Issuer)
	if err != nil {
		fail("issuer", "%v", err)
	}
	if want := fmt.Sprintf("arn:%s:iam::%s:oidc-provider/%s", p.Partition, p.AccountID, v.providerHost); p.ProviderARN != "" && err == nil && p.ProviderARN != want {
		fail("oidc provider arn", "%q is not the provider of issuer %s in account %s: IAM names it %s", p.ProviderARN, p.Issuer, p.AccountID, want)
	}
	if v.instance, err = validateInstanceActions(p.InstanceActions); err != nil {
		fail("instance actions", "%v", err)
	}
	for _, r := range p.Regions {
		warning, err := awsfacts.CheckRegion(r, p.NewRegions)
		switch part, _ := awsfacts.PartitionForRegion(r); {
		case err != nil:
			fail("region", "%v", err)
		case part != p.Partition:
			fail("region", "%q is in partition %s, not %q (want e.g. us-east-1, or --partition %s)", r, part, p.Partition, part)
		case warning != "":
			v.warnings = append(v.warnings, warning)
		}
	}
	for _, a := range p.ShareAccounts {
		if !awsfacts.IsAccountID(a) {
			fail("share account", "%q is not a 12-digit account id%s", a, accountHint(a))
		}
	}
	for _, it := range p.InstanceTypes {
		if !bsInstanceTypeRE.MatchString(it) || strings.Trim(it, "*?.") == "" {
			fail("instance type", "%q is not an instance type or a pattern of one (want e.g. t3.micro or t3.*; leave the flag out to allow any)", it)
		}
	}
	if p.MaxTTL < run.MinTTL || p.MaxTTL > run.MaxTTL {
		fail("max ttl", "%s must be from %s to %s", p.MaxTTL, run.MinTTL, run.MaxTTL)
	}
	return v, errors.Join(errs...)
}

// named is the Bootstrap of valid p before its documents: names, ARNs
// and the run resources' patterns.
func (p BootstrapParams) named(providerHost string) *Bootstrap {
	b := &Bootstrap{
		ProviderURL:      "https://" + providerHost,
		ExistingProvider: p.ProviderARN != "",
		Audience:         p.Audience,
		RoleName:         p.RoleName,
		BoundaryName:     p.BoundaryName,
		partition:        p.Partition,
		path:             p.Path,
		prefix:           p.NamePrefix,
		chain:            p.ChainMode,
		policyName:       p.RoleName,
		maxSessionS:      BootstrapMaxSessionSeconds,
		rolePath:         "/",
		providerHost:     providerHost,
		accountID:        p.AccountID,
		regions:          sortedUnique(p.Regions),
		shareAccounts:    sortedUnique(p.ShareAccounts),
		instanceTypes:    sortedUnique(p.InstanceTypes),
		MaxTTL:           p.MaxTTL,
		RoleDescription:  run.BootstrapDescription(p.MaxTTL),
	}
	iamARN := func(resource string) string {
		return fmt.Sprintf("arn:%s:iam::%s:%s", p.Partition, p.AccountID, resource)
	}
	b.ProviderARN = iamARN("oidc-provider/" + b.providerHost)
	b.RoleARN = iamARN("role" + b.rolePath + p.RoleName)
	b.BoundaryARN = iamARN("policy" + p.Path + p.BoundaryName)
	b.roleARNGlob = iamARN(run.IAMTypeRole + p.Path + p.NamePrefix + "-*")
	b.profileGlob = iamARN(run.IAMTypeInstanceProfile + p.Path + p.NamePrefix + "-*")
	return b
}

// checkSizes holds the documents to IAM's size quotas.
func (b *Bootstrap) checkSizes() error {
	if n := iampolicy.Size(b.Trust.JSON()); n > iampolicy.MaxTrustPolicySize {
		return fmt.Errorf("bootstrap trust policy is %d characters without whitespace; IAM allows %d by default: list fewer subjects", n, iampolicy.MaxTrustPolicySize)
	}
	if n := iampolicy.Size(b.Permissions.JSON()); n > iampolicy.MaxInlineRolePolicySize {
		return fmt.Errorf("bootstrap permission policy is %d characters without whitespace; IAM allows %d per role: shorten the path or prefix", n, iampolicy.MaxInlineRolePolicySize)
	}
	if n := iampolicy.Size(b.Boundary.JSON()); n > iampolicy.MaxManagedPolicySize {
		return fmt.Errorf("permissions boundary is %d characters without whitespace; IAM allows %d per managed policy: list fewer instance actions, regions, share accounts or instance types", n, iampolicy.MaxManagedPolicySize)
	}
	return nil
}

func (p BootstrapParams) withDefaults() BootstrapParams {
	def := func(s *string, d string) {
		if *s == "" {
			*s = d
		}
	}
	def(&p.Partition, awsfacts.PartitionAWS)
	def(&p.Path, DefaultBootstrapPath)
	def(&p.NamePrefix, DefaultBootstrapPrefix)
	def(&p.RoleName, DefaultBootstrapRoleName)
	def(&p.BoundaryName, DefaultBoundaryName)
	if p.Partition == awsfacts.PartitionChina {
		def(&p.Audience, ChinaAudience)
	}
	def(&p.Audience, DefaultBootstrapAudience)
	def(&p.Issuer, GitHubOIDCProviderURL)
	if len(p.Subjects) == 0 {
		p.Subjects = []string{"pull_request", "ref:refs/heads/main"}
	}
	if len(p.InstanceActions) == 0 {
		p.InstanceActions = DefaultInstanceActions()
	}
	if p.MaxTTL == 0 {
		p.MaxTTL = run.DefaultMaxTTL
	}
	return p
}

func splitRepository(s string) (owner, repo string, err error) {
	owner, repo, ok := strings.Cut(s, "/")
	switch {
	case s == "":
		return "", "", errors.New("is required (ORG/REPO)")
	case repositoryHint(s) != "":
		return "", "", fmt.Errorf("%q must be ORG/REPO%s", s, repositoryHint(s))
	case !ok || strings.Contains(repo, "/"):
		return "", "", fmt.Errorf("%q must be ORG/REPO", s)
	case !bsOwnerRE.MatchString(owner):
		return "", "", fmt.Errorf("owner %q may contain only letters, digits and hyphens (at most 39)", owner)
	case !bsRepoRE.MatchString(repo) || repo == "." || repo == "..":
		return "", "", fmt.Errorf("repository name %q may contain only letters, digits, '.', '_' and '-' (at most 100)", repo)
	}
	return owner, repo, nil
}

// accountHint names the id when s is one written with the console's
// hyphens or spaces ("1234-5678-9012").
func accountHint(s string) string {
	if id := strings.NewReplacer("-", "", " ", "").Replace(s); id != s && awsfacts.IsAccountID(id) {
		return fmt.Sprintf(" (did you mean %s?)", id)
	}
	return ""
}

// repositoryHint names ORG/REPO when s is a repository's URL or clone
// address ("https://github.com/acme/images", "git@github.com:acme/images.git").
func repositoryHint(s string) string {
	if !strings.Contains(s, "://") && !strings.HasPrefix(s, "git@") {
		return ""
	}
	t := strings.TrimSuffix(strings.TrimSuffix(s, "/"), ".git")
	parts := strings.FieldsFunc(t, func(r rune) bool { return r == '/' || r == ':' })
	if len(parts) < 2 {
		return ""
	}
	return fmt.Sprintf(" (did you mean %s/%s?)", parts[len(parts)-2], parts[len(parts)-1])
}

func validateInstanceActions(actions []string) ([]string, error) {
	var out []string
	for _, a := range actions {
		if !bsActionRE.MatchString(a) {
			return nil, fmt.Errorf("%q must be one action such as \"ssm:UpdateInstanceInformation\"; spell out each action, no wildcards", a)
		}
		if !slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, a) }) {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	return out, nil
}

func (b *Bootstrap) trustPolicy() iampolicy.Document {
	op := iampolicy.OpStringEquals
	for _, s := range b.subjects {
		if strings.ContainsAny(s, "*?") {
			op = "StringLike"
			break
		}
	}
	c := iampolicy.Condition{iampolicy.OpStringEquals: {b.providerHost + ":aud": iampolicy.Values{b.Audience}}}
	if op == iampolicy.OpStringEquals {
		c[iampolicy.OpStringEquals][b.providerHost+":sub"] = slices.Clone(b.subjects)
	} else {
		c[op] = map[string]iampolicy.Values{b.providerHost + ":sub": slices.Clone(b.subjects)}
	}
	return iampolicy.Document{Version: iampolicy.Version, Statement: []iampolicy.Statement{{
		Sid:       "GitHubActionsAssumeBootstrap",
		Effect:    iampolicy.EffectAllow,
		Principal: &iampolicy.Principal{Federated: iampolicy.Values{b.ProviderARN}},
		Action:    iampolicy.Values{iampolicy.ActionAssumeRoleWithWebIdentity},
		Condition: c,
	}}}
}

// permissionPolicy is the bootstrap role's policy: create run resources,
// manage and read them, list for the sweep, and the denials that hold
// whatever else the account grants it.
func (b *Bootstrap) permissionPolicy() iampolicy.Document {
	stmts := slices.Concat(b.createGrants(), b.manageGrants(), b.leftoverGrants())
	if b.chain {
		stmts = append(stmts, iampolicy.Statement{
			Sid: SidAssumeRunRoles, Effect: iampolicy.EffectAllow,
			Action: iampolicy.Values{iampolicy.ActionAssumeRole}, Resource: iampolicy.Values{b.roleARNGlob},
		})
	}
	stmts = append(stmts, b.permissionDenials()...)
	stmts = append(stmts, keepRunTags("iam:TagInstanceProfile", "iam:TagRole")...)
	return iampolicy.Document{Version: iampolicy.Version, Statement: stmts}
}

// createGrants create, tag and fill run roles and profiles.
func (b *Bootstrap) createGrants() []iampolicy.Statement {
	roles, profiles := iampolicy.Values{b.roleARNGlob}, iampolicy.Values{b.profileGlob}
	return []iampolicy.Statement{
		{
			// Only under the path and prefix, only with the boundary, only
			// tagged as managed.
			Sid: SidCreateRunRoles, Effect: iampolicy.EffectAllow,
			Action: iampolicy.Values{"iam:CreateRole"}, Resource: roles,
			Condition: iampolicy.Condition{iampolicy.OpStringEquals: {
				KeyPermissionsBoundary: {b.BoundaryARN},
				KeyRequestTagManaged:   {run.TagManagedValue},
			}},
		},
		{
			Sid: SidCreateRunProfiles, Effect: iampolicy.EffectAllow,
			Action: iampolicy.Values{"iam:CreateInstanceProfile"}, Resource: profiles,
			Condition: iampolicy.Condition{iampolicy.OpStringEquals: {KeyRequestTagManaged: {run.TagManagedValue}}},
		},
		{
			// IAM authorizes TagRole/TagInstanceProfile also for the tags
			// given to CreateRole/CreateInstanceProfile. IAM has no
			// CreateAction key to tell the two apart and the new resource
			// has no tags yet, so the resource tag is required only when
			// present: an existing resource must already be managed.
			// The request must carry a run's identity (id and expiry), and
			// DenyRunIDRewrite/DenyExpiryRewrite keep an existing run's.
			Sid: SidTagRunResources, Effect: iampolicy.EffectAllow,
			Action: iampolicy.Values{"iam:TagInstanceProfile", "iam:TagRole"}, Resource: iampolicy.Values{b.profileGlob, b.roleARNGlob},
			Condition: iampolicy.Condition{
				iampolicy.OpStringEquals: {KeyRequestTagManaged: {run.TagManagedValue}},
				"StringEqualsIfExists":   {KeyResourceTagManaged: {run.TagManagedValue}},
				"Null":                   {iampolicy.PrefixRequestTag + run.TagRunID: {"false"}, iampolicy.PrefixRequestTag + run.TagExpiresAt: {"false"}},
			},
		},
		{
			// The boundary condition means a role without this boundary
			// can never receive a policy from the bootstrap role.
			Sid: SidPutRunRolePolicy, Effect: iampolicy.EffectAllow,
			Action: iampolicy.Values{"iam:PutRolePolicy"}, Resource: roles,
			Condition: iampolicy.Condition{iampolicy.OpStringEquals: {
				KeyPermissionsBoundary: {b.BoundaryARN},
				KeyResourceTagManaged:  {run.TagManagedValue},
			}},
		},
	}
}

// manageGrants delete, connect and read managed run resources, and list
// them for the sweep.
func (b *Bootstrap) manageGrants() []iampolicy.Statement {
	managed := func() map[string]iampolicy.Values {
		return map[string]iampolicy.Values{KeyResourceTagManaged: {run.TagManagedValue}}
	}
	roles, profiles := iampolicy.Values{b.roleARNGlob}, iampolicy.Values{b.profileGlob}
	return []iampolicy.Statement{
		{
			Sid: SidDeleteRunRoles, Effect: iampolicy.EffectAllow,
			Action: iampolicy.Values{"iam:DeleteRole", "iam:DeleteRolePolicy", "iam:DetachRolePolicy"}, Resource: roles,
			Condition: iampolicy.Condition{iampolicy.OpStringEquals: managed()},
		},
		{
			Sid: SidManageRunProfiles, Effect: iampolicy.EffectAllow,
			Action:   iampolicy.Values{"iam:AddRoleToInstanceProfile", "iam:DeleteInstanceProfile", "iam:RemoveRoleFromInstanceProfile"},
			Resource: profiles,
			// The tag is the instance profile's: these actions are
			// authorized on the profile.
			Condition: iampolicy.Condition{iampolicy.OpStringEquals: managed()},
		},
		{
			// AddRoleToInstanceProfile requires iam:PassRole on the role
			// (IAM API reference), which an instance profile passes to EC2.
			// PassRole cannot be conditioned on the role's tags, so it is
			// bound by ARN, and by service where the check names one: AWS
			// does not say that AddRoleToInstanceProfile's check carries
			// iam:PassedToService, so IfExists; a check that names another
			// service (Lambda) is refused, and run roles trust only EC2,
			// the job or the bootstrap session.
			Sid: SidPassRunRoles, Effect: iampolicy.EffectAllow,
			Action: iampolicy.Values{iampolicy.ActionPassRole}, Resource: roles,
			Condition: iampolicy.Condition{"StringEqualsIfExists": {iampolicy.KeyPassedToService: {awsfacts.ServicePrincipal(b.partition, "ec2")}}},
		},
		{
			Sid: SidReadRunRoles, Effect: iampolicy.EffectAllow,
			Action: iampolicy.Values{
				"iam:GetRole", "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole",
				"iam:ListRolePolicies", "iam:ListRoleTags",
			},
			Resource: roles,
		},
		{
			Sid: SidReadRunProfiles, Effect: iampolicy.EffectAllow,
			Action: iampolicy.Values{iampolicy.ActionGetInstanceProfile, "iam:ListInstanceProfileTags"}, Resource: profiles,
		},
		{
			// ListRoles and ListInstanceProfiles support no resource-level
			// permissions: their Resource must be "*". They only read.
			Sid: SidListForSweep, Effect: iampolicy.EffectAllow,
			Action: iampolicy.Values{"iam:ListInstanceProfiles", "iam:ListRoles"}, Resource: iampolicy.Values{"*"},
		},
	}
}

// leftoverGrants let sweep (and teardown when the build role is gone)
// remove what killed builds left in EC2: find them (EC2's Describe calls
// take no resource, so "*"), and terminate or delete only what carries
// buildrole's managed tag, in the regions given at bootstrap. The tag is
// no proof alone, since a build role may tag others' resources: an
// instance must also run with a run's instance profile, which no build
// role can put on another's instance (internal/leftovers proves the rest
// from that instance before it calls). Never an image or a snapshot.
func (b *Bootstrap) leftoverGrants() []iampolicy.Statement {
	arn := func(kind string) string { return fmt.Sprintf("arn:%s:ec2:*:%s:%s/*", b.partition, b.accountID, kind) }
	var res iampolicy.Values
	for _, k := range buildpolicy.TeardownKinds() {
		if k != kindInstance {
			res = append(res, arn(k))
		}
	}
	tagged := func() iampolicy.Condition {
		c := iampolicy.Condition{iampolicy.OpStringEquals: {KeyResourceTagManaged: {run.TagManagedValue}}}
		if len(b.regions) > 0 {
			c[iampolicy.OpStringEquals][iampolicy.KeyRequestedRegion] = slices.Clone(b.regions)
		}
		return c
	}
	var read iampolicy.Condition
	if len(b.regions) > 0 {
		read = iampolicy.Condition{iampolicy.OpStringEquals: {iampolicy.KeyRequestedRegion: slices.Clone(b.regions)}}
	}
	var reads, removals iampolicy.Values
	for _, a := range buildpolicy.TeardownActions() {
		switch {
		case strings.HasPrefix(a, "ec2:Describe"):
			reads = append(reads, a)
		case a != actionTerminate:
			removals = append(removals, a)
		}
	}
	// ArnLike, not ...IfExists: an instance without a profile has no key,
	// and is refused.
	inst := tagged()
	inst["ArnLike"] = map[string]iampolicy.Values{buildpolicy.KeyInstanceProfile: {b.profileGlob}}
	return []iampolicy.Statement{
		{Sid: SidReadBuildLeftovers, Effect: iampolicy.EffectAllow, Action: reads, Resource: iampolicy.Values{"*"}, Condition: read},
		{Sid: SidTerminateBuildInstances, Effect: iampolicy.EffectAllow, Action: iampolicy.Values{actionTerminate}, Resource: iampolicy.Values{arn(kindInstance)}, Condition: inst},
		{Sid: SidRemoveBuildLeftovers, Effect: iampolicy.EffectAllow, Action: removals, Resource: res, Condition: tagged()},
	}
}

const (
	kindInstance    = "instance"
	actionTerminate = "ec2:TerminateInstances"
)

// permissionDenials keep every role's boundary and trust, the boundary
// policy itself, and roles without the boundary out of reach.
func (b *Bootstrap) permissionDenials() []iampolicy.Statement {
	return []iampolicy.Statement{
		{
			Sid: SidDenyBoundaryRemoval, Effect: iampolicy.EffectDeny,
			Action:   iampolicy.Values{"iam:DeleteRolePermissionsBoundary", "iam:PutRolePermissionsBoundary"},
			Resource: iampolicy.Values{"*"},
		},
		{
			// Run roles are created with their final trust policy and never
			// updated; no role's trust may be changed through this role.
			Sid: SidDenyTrustChanges, Effect: iampolicy.EffectDeny,
			Action: iampolicy.Values{"iam:UpdateAssumeRolePolicy"}, Resource: iampolicy.Values{"*"},
		},
		{
			Sid: SidDenyBoundaryPolicyChange, Effect: iampolicy.EffectDeny,
			Action: iampolicy.Values{
				"iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion",
			},
			Resource: iampolicy.Values{b.BoundaryARN},
		},
		{
			// StringNotEquals is also true when the request carries no
			// boundary at all (a negated operator on a missing key), so
			// this denies CreateRole without a boundary, too. Do not turn
			// it into ...IfExists or a Null test.
			Sid: SidDenyWithoutBoundary, Effect: iampolicy.EffectDeny,
			Action: iampolicy.Values{"iam:CreateRole", "iam:PutRolePolicy"}, Resource: iampolicy.Values{"*"},
			Condition: iampolicy.Condition{"StringNotEquals": {KeyPermissionsBoundary: {b.BoundaryARN}}},
		},
	}
}

// boundaryPolicy is the ceiling of every run role: the catalogue's
// actions, those on instances, sessions, keys, snapshots and the run's
// roles and profiles bound as below, the instance role's actions, and,
// with regions, a Deny outside them.
func (b *Bootstrap) boundaryPolicy(catalogue, instance []string) iampolicy.Document {
	// Teardown acts as the build role: the boundary lets it remove the
	// run's leftovers (the build role's own policy binds them to the run).
	build, guarded, kms := boundaryActions(slices.Concat(catalogue, buildpolicy.TeardownActions()))
	stmts := slices.Concat(b.buildGrants(build, guarded), b.keyAndRoleGrants(kms))
	if len(instance) > 0 {
		stmts = append(stmts, iampolicy.Statement{
			Sid: SidBoundaryInstance, Effect: iampolicy.EffectAllow,
			Action: instance, Resource: iampolicy.Values{"*"},
		})
	}
	if len(b.regions) > 0 {
		// One Deny rather than a condition on each statement: shorter,
		// and it holds for whatever else the boundary allows.
		stmts = append(stmts, iampolicy.Statement{
			Sid: SidBoundaryDenyOutsideRegions, Effect: iampolicy.EffectDeny,
			Action:    iampolicy.Values{"ec2:*", "ec2-instance-connect:*", "kms:*", "ssm:*"},
			Resource:  iampolicy.Values{"*"},
			Condition: iampolicy.Condition{"StringNotEquals": {iampolicy.KeyRequestedRegion: slices.Clone(b.regions)}},
		})
	}
	if len(b.instanceTypes) > 0 {
		// Only the instance resource carries the type, and it always does:
		// a launch without the key is denied too.
		stmts = append(stmts, iampolicy.Statement{
			Sid: SidBoundaryDenyOtherInstanceTypes, Effect: iampolicy.EffectDeny,
			Action:    iampolicy.Values{"ec2:RunInstances"},
			Resource:  iampolicy.Values{fmt.Sprintf("arn:%s:ec2:*:*:instance/*", b.partition)},
			Condition: iampolicy.Condition{"StringNotLike": {buildpolicy.KeyInstanceType: slices.Clone(b.instanceTypes)}},
		})
	}
	// Packer re-tags its own resources with the same values, which passes;
	// removing the run's id or expiry does not.
	stmts = append(stmts, keepRunTags("ec2:CreateTags")...)
	stmts = append(stmts, buildpolicy.RunTagRemovalDenials()...)
	return iampolicy.Document{Version: iampolicy.Version, Statement: stmts}
}

// boundaryActions sorts the catalogue into the generic statement's
// actions (build), those bound to a run's instance profile (guarded) and
// the KMS actions but CreateGrant (kms).
func boundaryActions(catalogue []string) (build, guarded, kms iampolicy.Values) {
	// Actions with a statement of their own (and PassRole and
	// GetInstanceProfile, which must never arrive on "*") leave the
	// generic statement.
	guarded = buildpolicy.ProfileGuardedActions()
	own := append([]string{iampolicy.ActionPassRole, iampolicy.ActionGetInstanceProfile, "ssm:StartSession", "ssm:TerminateSession", "ec2:ModifySnapshotAttribute"}, guarded...)
	for _, a := range catalogue {
		switch {
		case slices.ContainsFunc(own, func(o string) bool { return strings.EqualFold(o, a) }):
		case strings.HasPrefix(strings.ToLower(a), "kms:"):
			if !strings.EqualFold(a, "kms:CreateGrant") {
				kms = appendFold(kms, a)
			}
		default:
			build = appendFold(build, a)
		}
	}
	sortFold(build)
	sortFold(kms)
	return build, guarded, kms
}

// buildGrants are the boundary's EC2 and Session Manager statements.
func (b *Bootstrap) buildGrants(build, guarded iampolicy.Values) []iampolicy.Statement {
	p := b.partition
	return []iampolicy.Statement{
		{
			// A ceiling, not a grant: the run role's own policy binds
			// resources and, unless regions are given here, the region.
			Sid: SidBoundaryBuild, Effect: iampolicy.EffectAllow,
			Action: build, Resource: iampolicy.Values{"*"},
		},
		{
			// The key is present on instance resources only: an instance
			// with a profile other than a run's is out of reach.
			Sid: SidBoundaryBuildInstances, Effect: iampolicy.EffectAllow,
			Action: guarded, Resource: iampolicy.Values{"*"},
			Condition: iampolicy.Condition{"ArnLikeIfExists": {buildpolicy.KeyInstanceProfile: {b.profileGlob}}},
		},
		{
			// The document check on every StartSession statement (AWS's
			// form, BoolIfExists): Session Manager then requires access to
			// the session document, also the default shell document when
			// the caller names none, and only port forwarding is granted.
			Sid: SidBoundarySessions, Effect: iampolicy.EffectAllow,
			Action: iampolicy.Values{"ssm:StartSession"}, Resource: iampolicy.Values{fmt.Sprintf("arn:%s:ec2:*:%s:instance/*", p, b.accountID)},
			Condition: buildpolicy.SessionDocumentCheck(),
		},
		{
			Sid: SidBoundarySessionDocument, Effect: iampolicy.EffectAllow,
			Action: iampolicy.Values{"ssm:StartSession"}, Resource: iampolicy.Values{buildpolicy.PortForwardingDocument(p)},
			Condition: buildpolicy.SessionDocumentCheck(),
		},
		{
			Sid: SidBoundaryEndSessions, Effect: iampolicy.EffectAllow,
			Action: iampolicy.Values{"ssm:TerminateSession"}, Resource: iampolicy.Values{fmt.Sprintf("arn:%s:ssm:*:%s:session/*", p, b.accountID)},
			Condition: iampolicy.Condition{iampolicy.OpStringEquals: {buildpolicy.KeySessionOwner: {"${aws:userid}"}}},
		},
	}
}

// keyAndRoleGrants are the boundary's KMS, snapshot sharing, PassRole and
// instance profile statements.
func (b *Bootstrap) keyAndRoleGrants(kms iampolicy.Values) []iampolicy.Statement {
	p := b.partition
	via := iampolicy.Condition{"StringLike": {buildpolicy.KeyViaService: {"ec2.*." + awsfacts.DNSSuffix(p)}}}
	if len(b.regions) > 0 {
		via = iampolicy.Condition{iampolicy.OpStringEquals: {buildpolicy.KeyViaService: buildpolicy.ViaEC2(p, b.regions)}}
	}
	grant := iampolicy.Condition{}
	for op, keys := range via {
		grant[op] = maps.Clone(keys)
	}
	grant["Bool"] = map[string]iampolicy.Values{buildpolicy.KeyGrantIsForAWSResource: {"true"}}
	share := iampolicy.Condition{"Null": {buildpolicy.KeyAddGroup: {"true"}}}
	if len(b.shareAccounts) > 0 {
		share["ForAllValues:StringEquals"] = map[string]iampolicy.Values{buildpolicy.KeyAddUserID: slices.Clone(b.shareAccounts)}
	} else {
		share["Null"][buildpolicy.KeyAddUserID] = iampolicy.Values{"true"}
	}
	return []iampolicy.Statement{
		{
			// Only EC2 acting for the build uses a key: never a direct
			// Decrypt or Encrypt.
			Sid: SidBoundaryKeysViaEC2, Effect: iampolicy.EffectAllow,
			Action: kms, Resource: iampolicy.Values{"*"}, Condition: via,
		},
		{
			Sid: SidBoundaryGrantsForEC2, Effect: iampolicy.EffectAllow,
			Action: iampolicy.Values{"kms:CreateGrant"}, Resource: iampolicy.Values{"*"}, Condition: grant,
		},
		{
			Sid: SidBoundaryShareSnapshots, Effect: iampolicy.EffectAllow,
			Action: iampolicy.Values{"ec2:ModifySnapshotAttribute"}, Resource: iampolicy.Values{"*"}, Condition: share,
		},
		{
			Sid: SidBoundaryPassRunRoles, Effect: iampolicy.EffectAllow,
			Action: iampolicy.Values{iampolicy.ActionPassRole}, Resource: iampolicy.Values{b.roleARNGlob},
			Condition: iampolicy.Condition{iampolicy.OpStringEquals: {iampolicy.KeyPassedToService: {awsfacts.ServicePrincipal(b.partition, "ec2")}}},
		},
		{
			Sid: SidBoundaryReadRunProfiles, Effect: iampolicy.EffectAllow,
			Action: iampolicy.Values{iampolicy.ActionGetInstanceProfile}, Resource: iampolicy.Values{b.profileGlob},
		},
	}
}

// keepRunTags denies actions that set buildrole:run-id or
// buildrole:expires-at on a resource that already carries a different
// value: a rewritten expiry hides a resource from the sweep, a rewritten
// run id moves it into another run. Setting the same value (a re-tag) and
// tagging a new resource pass. One statement per key: the keys of one
// condition block are ANDed.
func keepRunTags(actions ...string) []iampolicy.Statement {
	var out []iampolicy.Statement
	for sid, key := range map[string]string{SidDenyRunIDRewrite: run.TagRunID, SidDenyExpiryRewrite: run.TagExpiresAt} {
		out = append(out, iampolicy.Statement{
			Sid: sid, Effect: iampolicy.EffectDeny, Action: actions, Resource: iampolicy.Values{"*"},
			Condition: iampolicy.Condition{
				"Null":            {"aws:ResourceTag/" + key: {"false"}, "aws:RequestTag/" + key: {"false"}},
				"StringNotEquals": {"aws:RequestTag/" + key: {"${aws:ResourceTag/" + key + "}"}},
			},
		})
	}
	slices.SortFunc(out, func(a, b iampolicy.Statement) int { return strings.Compare(a.Sid, b.Sid) })
	return out
}

func appendFold(vs iampolicy.Values, a string) iampolicy.Values {
	if slices.ContainsFunc(vs, func(o string) bool { return strings.EqualFold(o, a) }) {
		return vs
	}
	return append(vs, a)
}

func sortFold(vs iampolicy.Values) {
	slices.SortFunc(vs, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
}

func sortedUnique(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}
