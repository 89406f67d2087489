package authz

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// Check is one authorization IAM makes for a call: an action on a
// resource, with the request's condition keys.
type Check struct {
	Action   string
	Resource string // ARN, or "*"
	Label    string // the resource as IAM's message names it
	Context  map[string][]string
}

// Entity is a role or instance profile the account holds.
type Entity struct {
	ARN      string
	Tags     [][2]string // key, value
	Boundary string      // a role's permissions boundary
}

// Directory is what authorization reads of the account.
type Directory interface {
	Partition() string
	Account() string
	Role(name string) (Entity, bool)
	Profile(name string) (Entity, bool)
}

// boundaryKeyActions carry iam:PermissionsBoundary: the requested boundary
// for CreateRole and PutRolePermissionsBoundary, the role's own for the
// others (Service Authorization Reference, IAM).
var boundaryKeyActions = []string{
	"CreateRole", "PutRolePermissionsBoundary", "DeleteRolePermissionsBoundary",
	"AttachRolePolicy", "DetachRolePolicy", "PutRolePolicy", "DeleteRolePolicy",
}

// roleCheck is an action on a role. A role that does not exist is known to
// IAM only by name: its ARN then has no path, as IAM's messages show ("on
// resource: role NAME").
func roleCheck(d Directory, action, name, path string) Check {
	return entityCheck(d, action, "role", name, path, d.Role, action == "CreateRole")
}

func profileCheck(d Directory, action, name, path string) Check {
	return entityCheck(d, action, "instance-profile", name, path, d.Profile, action == "CreateInstanceProfile")
}

// entityCheck authorizes action on a role or profile: an existing one by
// its ARN and tags, a new or unknown one by the ARN its name and path make.
func entityCheck(d Directory, action, kind, name, path string, lookup func(string) (Entity, bool), creating bool) Check {
	c := Check{Action: "iam:" + action, Context: map[string][]string{}}
	if e, ok := lookup(name); ok && !creating {
		c.Resource, c.Label = e.ARN, e.ARN
		for _, t := range e.Tags {
			c.Context["aws:ResourceTag/"+t[0]] = []string{t[1]}
		}
		if e.Boundary != "" && slices.Contains(boundaryKeyActions, action) {
			c.Context["iam:PermissionsBoundary"] = []string{e.Boundary}
		}
		return c
	}
	if path == "" {
		path = "/"
	}
	c.Resource = fmt.Sprintf("arn:%s:iam::%s:%s%s%s", d.Partition(), d.Account(), kind, path, name)
	c.Label = kind + " " + name
	if creating {
		c.Label = c.Resource
	}
	return c
}

// requestTags adds aws:RequestTag/* and aws:TagKeys for the Tags.member.N
// parameters of a call.
func requestTags(c Check, params url.Values) (Check, bool) {
	var keys []string
	for i := 1; ; i++ {
		k, ok := params[fmt.Sprintf("Tags.member.%d.Key", i)]
		if !ok {
			break
		}
		keys = append(keys, k[0])
		c.Context["aws:RequestTag/"+k[0]] = []string{params.Get(fmt.Sprintf("Tags.member.%d.Value", i))}
	}
	if len(keys) > 0 {
		c.Context["aws:TagKeys"] = keys
	}
	return c, len(keys) > 0
}

func withCtx(c Check, key, value string) Check {
	if value != "" {
		c.Context[key] = []string{value}
	}
	return c
}

// Checks lists what IAM authorizes for one call: usually one check,
// plus TagRole for tags given at creation and PassRole for adding a role
// to an instance profile.
func Checks(action string, p url.Values, d Directory) []Check {
	switch action {
	case "CreateRole":
		c := withCtx(roleCheck(d, action, p.Get("RoleName"), p.Get("Path")), "iam:PermissionsBoundary", p.Get("PermissionsBoundary"))
		c, tagged := requestTags(c, p)
		out := []Check{c}
		if tagged {
			t, _ := requestTags(roleCheck(d, "TagRole", p.Get("RoleName"), p.Get("Path")), p)
			t.Resource, t.Label = c.Resource, c.Resource
			out = append(out, t)
		}
		return out
	case "TagRole":
		c, _ := requestTags(roleCheck(d, action, p.Get("RoleName"), ""), p)
		return []Check{c}
	case "UntagRole":
		c := roleCheck(d, action, p.Get("RoleName"), "")
		c.Context["aws:TagKeys"] = p["TagKeys.member.1"]
		return []Check{c}
	case "PutRolePermissionsBoundary":
		return []Check{withCtx(roleCheck(d, action, p.Get("RoleName"), ""), "iam:PermissionsBoundary", p.Get("PermissionsBoundary"))}
	case "AttachRolePolicy", "DetachRolePolicy":
		return []Check{withCtx(roleCheck(d, action, p.Get("RoleName"), ""), "iam:PolicyARN", p.Get("PolicyArn"))}
	case "CreateInstanceProfile":
		c, tagged := requestTags(profileCheck(d, action, p.Get("InstanceProfileName"), p.Get("Path")), p)
		out := []Check{c}
		if tagged {
			t, _ := requestTags(profileCheck(d, "TagInstanceProfile", p.Get("InstanceProfileName"), p.Get("Path")), p)
			t.Resource, t.Label = c.Resource, c.Resource
			out = append(out, t)
		}
		return out
	case "TagInstanceProfile":
		c, _ := requestTags(profileCheck(d, action, p.Get("InstanceProfileName"), ""), p)
		return []Check{c}
	case "AddRoleToInstanceProfile":
		// The caller must be allowed to pass the role (IAM API reference);
		// the role goes to EC2 through the profile.
		pass := roleCheck(d, "PassRole", p.Get("RoleName"), "")
		// PassRole cannot be conditioned on the role's tags (IAM User
		// Guide, passing a role): the check carries none.
		for k := range pass.Context {
			if strings.HasPrefix(k, "aws:ResourceTag/") {
				delete(pass.Context, k)
			}
		}
		// The API reference names the associated resource of this check;
		// AWS does not say it carries iam:PassedToService, so it has none.
		pass.Context["iam:AssociatedResourceARN"] = []string{fmt.Sprintf("arn:%s:ec2:*:%s:instance/*", d.Partition(), d.Account())}
		return []Check{profileCheck(d, action, p.Get("InstanceProfileName"), ""), pass}
	case "RemoveRoleFromInstanceProfile", "GetInstanceProfile", "DeleteInstanceProfile", "ListInstanceProfileTags", "UntagInstanceProfile":
		return []Check{profileCheck(d, action, p.Get("InstanceProfileName"), "")}
	case "ListRoles", "ListInstanceProfiles", "ListOpenIDConnectProviders":
		return []Check{{Action: "iam:" + action, Resource: "*", Label: "*"}}
	case "CreateOpenIDConnectProvider", "GetOpenIDConnectProvider", "DeleteOpenIDConnectProvider", "AddClientIDToOpenIDConnectProvider":
		arn := p.Get("OpenIDConnectProviderArn")
		if arn == "" {
			u := strings.TrimPrefix(p.Get("Url"), "https://")
			arn = fmt.Sprintf("arn:%s:iam::%s:oidc-provider/%s", d.Partition(), d.Account(), u)
		}
		return []Check{{Action: "iam:" + action, Resource: arn, Label: arn}}
	case "AssumeRole":
		arn := p.Get("RoleArn")
		return []Check{{Action: "sts:AssumeRole", Resource: arn, Label: arn, Context: map[string][]string{"sts:RoleSessionName": {p.Get("RoleSessionName")}}}}
	}
	if p.Get("RoleName") != "" {
		return []Check{roleCheck(d, action, p.Get("RoleName"), "")}
	}
	return []Check{{Action: "iam:" + action, Resource: "*", Label: "*"}}
}
