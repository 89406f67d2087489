package accountsetup

import (
	"fmt"
	"strings"

	"github.com/buildrole/buildrole/internal/iampolicy"
)

// RunContext is what an explanation knows of the run whose call was
// denied: enough to write the bootstrap role's permission policy as
// `buildrole bootstrap` writes it for that account.
type RunContext struct {
	Partition  string
	AccountID  string
	Path       string
	NamePrefix string
}

// Grant is the statement of the bootstrap role's permission policy that
// allows one action.
type Grant struct {
	Action    string
	Sid       string // "" when no statement allows it
	Resources []string
}

// alsoChecks are the permissions IAM checks inside another call: tags on
// create need Tag*, and adding a role to a profile needs PassRole on it.
var alsoChecks = map[string]string{
	"iam:CreateRole":               "iam:TagRole",
	"iam:CreateInstanceProfile":    "iam:TagInstanceProfile",
	"iam:AddRoleToInstanceProfile": iampolicy.ActionPassRole,
}

// GrantsFor names the statements of the bootstrap role's permission policy
// that allow action, and those IAM also checks inside that call. The policy
// is generated for rc with role chaining on, so that sts:AssumeRole is
// covered too; the trust, which names repositories, plays no part in it.
func GrantsFor(rc RunContext, action string) []Grant {
	perms := runPermissions(rc)
	out := []Grant{grantIn(perms, action)}
	if also, ok := alsoChecks[action]; ok {
		out = append(out, grantIn(perms, also))
	}
	return out
}

// runPermissions is the permission policy of the bootstrap for rc; the
// repository only shapes the trust policy, so any valid one serves.
func runPermissions(rc RunContext) iampolicy.Document {
	b, err := NewBootstrap(BootstrapParams{
		Partition: rc.Partition, AccountID: rc.AccountID, Path: rc.Path, NamePrefix: rc.NamePrefix,
		Repository: "any/repository", ChainMode: true,
	})
	if err != nil {
		return iampolicy.Document{}
	}
	return b.Permissions
}

func grantIn(doc iampolicy.Document, action string) Grant {
	for _, st := range doc.Statement {
		if st.Effect != iampolicy.EffectAllow {
			continue
		}
		for _, a := range st.Action {
			if strings.EqualFold(a, action) {
				return Grant{Action: action, Sid: st.Sid, Resources: st.Resource}
			}
		}
	}
	return Grant{Action: action}
}

// String says what the grant allows, for messages.
func (g Grant) String() string {
	if g.Sid == "" {
		return g.Action
	}
	return fmt.Sprintf("%s on %s", g.Action, strings.Join(g.Resources, ", "))
}
