package run

// TrustMode says who may assume the build role.
type TrustMode string

const (
	// TrustWebIdentity: this job's GitHub OIDC token, by its exact sub
	// and aud.
	TrustWebIdentity TrustMode = "web-identity"
	// TrustChain: the bootstrap session (role chaining), for runners
	// without OIDC.
	TrustChain TrustMode = "chain"
)

// GitHubOIDCHost is the provider name of github.com's issuer.
const GitHubOIDCHost = "token.actions.githubusercontent.com"

// Trust says who may assume the build role.
type Trust struct {
	// Web identity: the OIDC provider, the prefix of its condition keys
	// (HOST/PATH of the token's iss; default GitHubOIDCHost), and the
	// token's aud and sub.
	ProviderARN string `json:"provider_arn,omitempty"`
	Issuer      string `json:"issuer,omitempty"`
	Audience    string `json:"audience,omitempty"`
	Subject     string `json:"subject,omitempty"`
	// Chain: the bootstrap session's principal.
	PrincipalARN string `json:"principal_arn,omitempty"`
}

// Mode says which of the two the trust is.
func (t Trust) Mode() TrustMode {
	if t.PrincipalARN != "" {
		return TrustChain
	}
	return TrustWebIdentity
}
