package accountsetup

import (
	"fmt"
	"strings"

	"github.com/buildrole/buildrole/internal/iampolicy"
)

// RunContext is what an explanation knows of the run whose call was
// denied: enough to write the bootstrap role's permission policy as
// `buildrole bootstrap` writes it for that account. Without the account or
// the name prefix, grants name their statement but not its resources.
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
	perms, exact := runPermissions(rc)
	out := []Grant{grantIn(perms, action)}
	if also, ok := alsoChecks[action]; ok {
		out = append(out, grantIn(perms, also))
	}
	if !exact {
		for i := range out {
			out[i].Resources = nil
		}
	}
	return out
}

// explainAccount stands in for an account not known yet: its ARNs are
// never shown.
const explainAccount = "000000000000"

// runPermissions is the permission policy of the bootstrap for rc, and
// whether its resources are rc's own. The repository and the bootstrap
// role's name shape only the trust and the policy's name: a role name that
// no prefix's pattern covers keeps any path valid.
func runPermissions(rc RunContext) (iampolicy.Document, bool) {
	p := BootstrapParams{
		Partition: rc.Partition, AccountID: rc.AccountID, Path: rc.Path, NamePrefix: rc.NamePrefix,
		Repository: "any/repository", RoleName: "bootstrap_", ChainMode: true,
	}
	exact := rc.AccountID != "" && rc.NamePrefix != ""
	if rc.AccountID == "" {
		p.AccountID = explainAccount
	}
	b, err := NewBootstrap(p)
	if err != nil {
		// A run whose own inputs passed validation always has a valid
		// bootstrap; fall back to the defaults' statements.
		b, err = NewBootstrap(BootstrapParams{Partition: rc.Partition, AccountID: explainAccount, Repository: "any/repository", ChainMode: true})
		if err != nil {
			return iampolicy.Document{}, false
		}
		exact = false
	}
	return b.Permissions, exact
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
	if g.Sid == "" || len(g.Resources) == 0 {
		return g.Action
	}
	return fmt.Sprintf("%s on %s", g.Action, strings.Join(g.Resources, ", "))
}
