package fakeaws

import (
	"strings"

	"github.com/buildrole/buildrole/internal/fakeaws/authz"
)

// checkTrustPolicy validates a role trust policy the way CreateRole and
// UpdateAssumeRolePolicy do.
func (s *Server) checkTrustPolicy(doc string) *apiError {
	if doc == "" {
		var v validation
		v.add("assumeRolePolicyDocument", nil, "not be null")
		return v.err()
	}
	p, m := authz.Parse(doc)
	if m != nil {
		return errMalformed(m.Message)
	}
	// IAM reports this quota as LimitExceeded, not MalformedPolicyDocument.
	if policySize(doc) > maxTrustPolicy {
		return newErr("LimitExceeded", "Cannot exceed quota for ACLSizePerRole: %d", maxTrustPolicy)
	}
	for _, st := range p.Statement {
		if st.Has("Resource") || st.Has("NotResource") {
			return errMalformed("Has prohibited field Resource")
		}
		if st.Principal.Empty() && st.NotPrincipal == nil {
			return errMalformed("Missing required field Principal")
		}
		for _, a := range append(append(authz.List{}, st.Action...), st.NotAction...) {
			if a != "*" && !strings.HasPrefix(strings.ToLower(a), "sts:") {
				return errMalformed("AssumeRole policy may only specify STS AssumeRole actions.")
			}
		}
		for typ, vals := range st.Principal.ByType {
			if typ != "AWS" {
				continue
			}
			for _, v := range vals {
				if e := s.checkAWSPrincipal(v); e != nil {
					return e
				}
			}
		}
	}
	return nil
}

// checkAWSPrincipal rejects role ARNs of this account that do not exist, as
// IAM does ("Invalid principal in policy").
func (s *Server) checkAWSPrincipal(v string) *apiError {
	prefix := "arn:" + s.Partition + ":iam::" + s.AccountID + ":role/"
	if !strings.HasPrefix(v, prefix) {
		return nil
	}
	name := v[strings.LastIndex(v, "/")+1:]
	if r := s.roles[strings.ToLower(name)]; r == nil || r.arn != v {
		return errMalformed(`Invalid principal in policy: "AWS":"` + v + `"`)
	}
	return nil
}

// checkPermissionPolicy validates an identity-based (inline) policy.
func checkPermissionPolicy(doc string) *apiError {
	if doc == "" {
		var v validation
		v.add("policyDocument", nil, "not be null")
		return v.err()
	}
	p, m := authz.Parse(doc)
	if m != nil {
		return errMalformed(m.Message)
	}
	for _, st := range p.Statement {
		if st.Has("Principal") || st.Has("NotPrincipal") {
			return errMalformed("Policy document should not specify a principal.")
		}
		if len(st.Resource) == 0 && len(st.NotResource) == 0 {
			return errMalformed("Policy statement must contain resources.")
		}
	}
	return nil
}
