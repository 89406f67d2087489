package iampolicy

import (
	"fmt"
	"regexp"
	"strings"
)

// Condition keys, operators and actions that buildrole's documents name.
const (
	KeyRequestedRegion = "aws:RequestedRegion"
	KeySourceIP        = "aws:SourceIp"
	KeyPassedToService = "iam:PassedToService"
	OpStringEquals     = "StringEquals"
	// PrefixRequestTag and PrefixResourceTag start the condition keys of
	// a tag in the request and on the resource: PrefixRequestTag + KEY.
	PrefixRequestTag                = "aws:RequestTag/"
	PrefixResourceTag               = "aws:ResourceTag/"
	OpIPAddress                     = "IpAddress"
	ActionPassRole                  = "iam:PassRole"
	ActionGetInstanceProfile        = "iam:GetInstanceProfile"
	ActionAssumeRole                = "sts:AssumeRole"
	ActionAssumeRoleWithWebIdentity = "sts:AssumeRoleWithWebIdentity"
)

// GitHubIssuer is the issuer of GitHub Actions' OIDC tokens on github.com.
// GitHub Enterprise Server issues as https://HOST/_services/token, and an
// enterprise with its own issuer as https://token.actions.githubusercontent.com/ENTERPRISE.
const GitHubIssuer = "https://token.actions.githubusercontent.com"

var issuerPart = regexp.MustCompile(`^[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~-]+)*$`)

// OIDCProviderName is how IAM names the OIDC provider for an issuer URL:
// the URL without its scheme and trailing slash ("HOST/PATH"). It is both
// the end of the provider's ARN (arn:aws:iam::ACCOUNT:oidc-provider/NAME)
// and the prefix of its condition keys (NAME:sub, NAME:aud). IAM accepts
// only https issuers without query or fragment.
func OIDCProviderName(issuer string) (string, error) {
	rest, ok := strings.CutPrefix(issuer, "https://")
	rest = strings.TrimSuffix(rest, "/")
	if !ok || !issuerPart.MatchString(rest) || len(rest) > 255 {
		return "", fmt.Errorf("%q is not an OIDC issuer URL like %s (https, a host and an optional path, no query)", issuer, GitHubIssuer)
	}
	return rest, nil
}
