package iampolicy

import (
	"regexp"
	"strconv"
	"strings"
)

// Request is one authorization question.
type Request struct {
	// Principal is the caller for resource-based (trust) policies, by type:
	// {"AWS": roleARN}, {"Federated": providerARN}, {"Service":
	// "ec2.amazonaws.com"}. Identity policies ignore it.
	Principal map[string]string
	// Action such as "ec2:RunInstances"; matched case-insensitively.
	Action string
	// Resource is an ARN, or "*" for actions without resource-level
	// permissions. Matched case-sensitively.
	Resource string
	// Context holds condition keys (case-insensitive) and their values.
	Context map[string][]string
}

// Decision is the outcome of an evaluation.
type Decision int

// Decisions, weakest first. The zero value denies.
const (
	ImplicitDeny Decision = iota
	Allow
	ExplicitDeny
)

func (d Decision) String() string {
	switch d {
	case ImplicitDeny:
		return "ImplicitDeny"
	case Allow:
		return "Allow"
	case ExplicitDeny:
		return "ExplicitDeny"
	}
	return "Decision(" + strconv.Itoa(int(d)) + ")"
}

// Evaluate decides req against identity policies and an optional
// permissions boundary: an explicit Deny anywhere wins; otherwise the
// request is allowed only when an identity statement allows it and, with a
// boundary, a boundary statement allows it too.
func Evaluate(req Request, identity []Document, boundary *Document) Decision {
	ctx := normalizeContext(req.Context)
	allowed, denied := evalDocs(req, ctx, false, identity...)
	if boundary != nil {
		bAllowed, bDenied := evalDocs(req, ctx, false, *boundary)
		denied = denied || bDenied
		allowed = allowed && bAllowed
	}
	return decide(allowed, denied)
}

// EvaluateTrust decides req against a role's trust policy, a resource-based
// policy: a statement applies only when its Principal (or NotPrincipal)
// matches req.Principal. Statements without Resource apply to the role.
func EvaluateTrust(req Request, trust Document) Decision {
	ctx := normalizeContext(req.Context)
	return decide(evalDocs(req, ctx, true, trust))
}

func decide(allowed, denied bool) Decision {
	switch {
	case denied:
		return ExplicitDeny
	case allowed:
		return Allow
	}
	return ImplicitDeny
}

func evalDocs(req Request, ctx map[string][]string, resourceBased bool, docs ...Document) (allowed, denied bool) {
	for _, d := range docs {
		vars := d.Version == Version
		for _, s := range d.Statement {
			if !s.applies(req, ctx, resourceBased, vars) {
				continue
			}
			switch s.Effect {
			case EffectDeny:
				denied = true
			case EffectAllow:
				allowed = true
			}
		}
	}
	return allowed, denied
}

// applies reports whether s matches req. With vars, policy variables in
// Resource, NotResource and condition values are resolved from ctx.
func (s Statement) applies(req Request, ctx map[string][]string, resourceBased, vars bool) bool {
	resources, notResources, cond := s.Resource, s.NotResource, s.Condition
	if vars {
		resources, notResources = resolveAll(resources, ctx), resolveAll(notResources, ctx)
		cond = cond.resolve(ctx)
	}
	switch {
	case len(s.Action) > 0:
		if !anyMatch(s.Action, req.Action, actionMatch) {
			return false
		}
	case len(s.NotAction) > 0:
		if anyMatch(s.NotAction, req.Action, actionMatch) {
			return false
		}
	default:
		return false
	}
	switch {
	case len(s.Resource) > 0:
		if !anyMatch(resources, req.Resource, ResourceMatch) {
			return false
		}
	case len(s.NotResource) > 0:
		if anyMatch(notResources, req.Resource, ResourceMatch) {
			return false
		}
	case !resourceBased:
		// IAM rejects identity statements without a resource.
		return false
	}
	if resourceBased {
		switch {
		case s.Principal != nil:
			if !s.Principal.matches(req.Principal) {
				return false
			}
		case s.NotPrincipal != nil:
			if s.NotPrincipal.matches(req.Principal) {
				return false
			}
		default:
			return false
		}
	}
	return conditionHolds(cond, ctx)
}

func anyMatch(patterns Values, value string, match func(pattern, value string) bool) bool {
	for _, p := range patterns {
		if match(p, value) {
			return true
		}
	}
	return false
}

func actionMatch(pattern, action string) bool {
	return GlobMatch(strings.ToLower(pattern), strings.ToLower(action))
}

// ResourceMatch matches a resource against a Resource pattern: ARNs part by
// part, anything else as a glob.
func ResourceMatch(pattern, resource string) bool {
	if pattern == "*" {
		return true
	}
	if strings.HasPrefix(pattern, "arn:") && strings.HasPrefix(resource, "arn:") {
		return arnMatch(pattern, resource)
	}
	return GlobMatch(pattern, resource)
}

func normalizeContext(in map[string][]string) map[string][]string {
	out := make(map[string][]string, len(in))
	for k, v := range in {
		k = strings.ToLower(k)
		out[k] = append(out[k], v...)
	}
	return out
}

// matches reports whether any of the caller's identities is in p.
func (p *Principal) matches(caller map[string]string) bool {
	if p.Any {
		return true
	}
	for typ, id := range caller {
		f := p.field(canonicalPrincipalType(typ))
		if f == nil {
			continue
		}
		for _, v := range *f {
			if principalMatch(typ, v, id) {
				return true
			}
		}
	}
	return false
}

func canonicalPrincipalType(typ string) string {
	for _, t := range PrincipalTypes {
		if strings.EqualFold(t, typ) {
			return t
		}
	}
	return typ
}

func principalMatch(typ, pol, id string) bool {
	if pol == "*" || pol == id {
		return true
	}
	switch canonicalPrincipalType(typ) {
	case "Service":
		return strings.EqualFold(pol, id)
	case "AWS":
		return awsPrincipalMatch(pol, id)
	}
	return false
}

var (
	accountID      = regexp.MustCompile(`^[0-9]{12}$`)
	rootARN        = regexp.MustCompile(`^arn:[a-z-]+:iam::([0-9]{12}):root$`)
	roleARN        = regexp.MustCompile(`^arn:([a-z-]+):iam::([0-9]{12}):role/(?:.*/)?([^/]+)$`)
	assumedRoleARN = regexp.MustCompile(`^arn:([a-z-]+):sts::([0-9]{12}):assumed-role/([^/]+)/[^/]+$`)
	anyARNAccount  = regexp.MustCompile(`^arn:[a-z-]+:[a-z0-9-]+:[a-z0-9-]*:([0-9]{12}):`)
)

// awsPrincipalMatch applies IAM's AWS-principal rules beyond equality:
// an account ("123456789012" or its :root ARN) names every principal of the
// account, and a role names its sessions (assumed-role ARNs, which carry the
// role's name but not its path).
func awsPrincipalMatch(pol, id string) bool {
	acct := ""
	if accountID.MatchString(pol) {
		acct = pol
	} else if m := rootARN.FindStringSubmatch(pol); m != nil {
		acct = m[1]
	}
	if acct != "" {
		if accountID.MatchString(id) {
			return id == acct
		}
		m := anyARNAccount.FindStringSubmatch(id)
		return m != nil && m[1] == acct
	}
	r := roleARN.FindStringSubmatch(pol)
	s := assumedRoleARN.FindStringSubmatch(id)
	return r != nil && s != nil && r[1] == s[1] && r[2] == s[2] && r[3] == s[3]
}
