package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aws/smithy-go"

	"github.com/buildrole/buildrole/internal/accountsetup"
	"github.com/buildrole/buildrole/internal/awsfacts"
	"github.com/buildrole/buildrole/internal/stsauth"
)

// denial is one call AWS refused for lack of permission.
type denial struct {
	action  string // e.g. iam:CreateRole
	context string // what buildrole was doing: `create role "buildrole-..."`
}

// denials finds every call in err that AWS refused for lack of
// permission. A refused web identity is a trust-policy mismatch, explained
// where the token's sub and aud are known.
func denials(err error) []denial {
	var out []denial
	walkDenials(err, "", &out)
	return out
}

func walkDenials(err error, context string, out *[]denial) {
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
		// The outermost wrapper's words: what buildrole was doing.
		context, _, _ = strings.Cut(err.Error(), ": operation error")
	}
	// The operation itself, not one found deeper: a joined error holds
	// several.
	if oe, ok := err.(*smithy.OperationError); ok {
		var ae smithy.APIError
		if errors.As(oe, &ae) && awsfacts.IsDenied(ae.ErrorCode()) && oe.Operation() != "AssumeRoleWithWebIdentity" {
			*out = append(*out, denial{action: strings.ToLower(oe.Service()) + ":" + oe.Operation(), context: context})
		}
		return
	}
	walkDenials(errors.Unwrap(err), context, out)
}

// deniedAction reports whether AWS refused action somewhere in err.
func deniedAction(err error, action string) bool {
	for _, d := range denials(err) {
		if strings.EqualFold(d.action, action) {
			return true
		}
	}
	return false
}

// explain returns err's denials as lines to add to an error message, each
// naming the `buildrole bootstrap` statement that grants the call; "" if
// none.
func explain(err error, rc accountsetup.RunContext) string {
	var lines []string
	seen := map[string]bool{}
	for _, d := range denials(err) {
		if s := d.message(rc); !seen[s] {
			seen[s] = true
			lines = append(lines, s)
		}
	}
	return strings.Join(lines, "\n")
}

func (d denial) message(rc accountsetup.RunContext) string {
	grants := accountsetup.GrantsFor(rc, d.action)
	g := grants[0]
	if g.Sid == "" {
		return fmt.Sprintf("%s was denied (%s): the bootstrap role's policy must allow %s", d.action, d.context, d.action)
	}
	msg := fmt.Sprintf("%s was denied (%s): the bootstrap role lacks statement %q of `buildrole bootstrap` output, which allows %s (with its conditions: the path, the buildrole:managed tag, the permissions boundary); re-apply that output or add the statement",
		d.action, d.context, g.Sid, g)
	for _, a := range grants[1:] {
		msg += fmt.Sprintf("; IAM also checks %s in this call (statement %q)", a.Action, a.Sid)
	}
	return msg
}

// withExplanation adds, for each call AWS refused for lack of permission,
// the action and the `buildrole bootstrap` statement that grants it; for a
// network failure not yet explained, the cause and what to check.
func withExplanation(err error, rc accountsetup.RunContext) error {
	if why := explain(err, rc); why != "" {
		return fmt.Errorf("%w\n%s", err, why)
	}
	var known *stsauth.UnreachableError
	if cause, ok := stsauth.Unreachable(err); ok && !errors.As(err, &known) {
		return fmt.Errorf("%w\ncannot reach AWS: %s; check the network, --endpoint-url / AWS_ENDPOINT_URL, and HTTPS_PROXY / NO_PROXY", err, cause)
	}
	return err
}
