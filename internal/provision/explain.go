package provision

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aws/smithy-go"

	"github.com/buildrole/buildrole/internal/accountsetup"
	"github.com/buildrole/buildrole/internal/iampolicy"
)

// deniedCodes are the error codes AWS uses for a missing permission.
var deniedCodes = []string{"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess"}

// Denial is one call refused for lack of permission.
type Denial struct {
	Action  string // e.g. iam:CreateRole
	Context string // what buildrole was doing: `create role "buildrole-..."`
	Sid     string // the `buildrole bootstrap` statement that grants it; "" if none does
	Grant   string // that statement's action and resources, for the message
	Also    []Denial
}

// alsoNeeds are the permissions IAM checks inside another call: tags on
// create need Tag*, and adding a role to a profile needs PassRole on it.
var alsoNeeds = map[string]string{
	"iam:CreateRole":               "iam:TagRole",
	"iam:CreateInstanceProfile":    "iam:TagInstanceProfile",
	"iam:AddRoleToInstanceProfile": "iam:PassRole",
}

// Denials finds every call in err that AWS refused for lack of permission.
func Denials(err error) []Denial {
	var out []Denial
	walkDenials(err, "", &out)
	return out
}

func walkDenials(err error, context string, out *[]Denial) {
	if err == nil {
		return
	}
	if multi, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range multi.Unwrap() {
			walkDenials(e, "", out)
		}
		return
	}
	if context == "" {
		context, _, _ = strings.Cut(err.Error(), ": operation error")
	}
	if oe, ok := err.(*smithy.OperationError); ok {
		// A refused web identity is a trust-policy mismatch, explained
		// where the token's sub and aud are known.
		if isCode(oe, deniedCodes...) && oe.Operation() != "AssumeRoleWithWebIdentity" {
			*out = append(*out, newDenial(strings.ToLower(oe.Service())+":"+oe.Operation(), context))
		}
		return
	}
	walkDenials(errors.Unwrap(err), context, out)
}

// bootstrapPolicy is the default `buildrole bootstrap` permission policy,
// with chain mode so that sts:AssumeRole is covered too.
var bootstrapPolicy = func() *accountsetup.Bootstrap {
	b, err := accountsetup.NewBootstrap(accountsetup.BootstrapParams{AccountID: "111111111111", Repository: "ORG/REPO", ChainMode: true})
	if err != nil {
		return nil
	}
	return b
}()

func newDenial(action, context string) Denial {
	d := grantFor(action, context)
	if also, ok := alsoNeeds[action]; ok {
		d.Also = append(d.Also, grantFor(also, context))
	}
	return d
}

func grantFor(action, context string) Denial {
	d := Denial{Action: action, Context: context}
	if bootstrapPolicy == nil {
		return d
	}
	for _, st := range bootstrapPolicy.Permissions.Statement {
		if st.Effect != iampolicy.EffectAllow {
			continue
		}
		for _, a := range st.Action {
			if strings.EqualFold(a, action) {
				d.Sid = st.Sid
				res := strings.ReplaceAll(strings.Join(st.Resource, ", "), "111111111111", "ACCOUNT")
				d.Grant = fmt.Sprintf("%s on %s", action, res)
				return d
			}
		}
	}
	return d
}

// String is the message a user acts on.
func (d Denial) String() string {
	if d.Sid == "" {
		return fmt.Sprintf("%s was denied (%s): the bootstrap role's policy must allow %s", d.Action, d.Context, d.Action)
	}
	msg := fmt.Sprintf("%s was denied (%s): the bootstrap role lacks statement %q of `buildrole bootstrap` output, which allows %s (with its conditions: the path, the buildrole:managed tag, the permissions boundary); re-apply that output or add the statement",
		d.Action, d.Context, d.Sid, d.Grant)
	for _, a := range d.Also {
		msg += fmt.Sprintf("; IAM also checks %s in this call (statement %q)", a.Action, a.Sid)
	}
	return msg
}

// Explain returns err's denials as lines to add to an error message; "" if
// none.
func Explain(err error) string {
	var lines []string
	seen := map[string]bool{}
	for _, d := range Denials(err) {
		if s := d.String(); !seen[s] {
			seen[s] = true
			lines = append(lines, s)
		}
	}
	return strings.Join(lines, "\n")
}
