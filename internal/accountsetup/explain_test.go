package accountsetup

import (
	"strings"
	"testing"
)

// Every call up, down and sweep make has its statement, whatever path,
// prefix and account the run has, and the resources are the run's own only
// when the account and prefix are known.
func TestGrantsForNamesTheStatement(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		rc    RunContext
		exact bool
	}{
		{"default", RunContext{Partition: "aws", AccountID: "123456789012", Path: "/buildrole/", NamePrefix: "buildrole"}, true},
		{"path /", RunContext{Partition: "aws", AccountID: "123456789012", Path: "/", NamePrefix: "buildrole"}, true},
		{"custom prefix", RunContext{Partition: "aws", AccountID: "123456789012", Path: "/ci/", NamePrefix: "img"}, true},
		{"account unknown", RunContext{Partition: "aws", Path: "/buildrole/", NamePrefix: "buildrole"}, false},
		{"prefix unknown", RunContext{Partition: "aws", AccountID: "123456789012", Path: "/buildrole/"}, false},
		{"china", RunContext{Partition: "aws-cn", AccountID: "123456789012", Path: "/buildrole/", NamePrefix: "buildrole"}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			for action, sid := range map[string]string{
				"iam:CreateRole":               SidCreateRunRoles,
				"iam:DeleteRole":               SidDeleteRunRoles,
				"iam:GetInstanceProfile":       SidReadRunProfiles,
				"iam:AddRoleToInstanceProfile": SidManageRunProfiles,
				"sts:AssumeRole":               SidAssumeRunRoles,
			} {
				g := GrantsFor(c.rc, action)
				if g[0].Sid != sid {
					t.Errorf("%s: statement %q, want %q", action, g[0].Sid, sid)
				}
				switch {
				case c.exact && (len(g[0].Resources) == 0 || !strings.Contains(g[0].String(), c.rc.AccountID)):
					t.Errorf("%s: %q does not name the run's account", action, g[0])
				case !c.exact && len(g[0].Resources) > 0:
					t.Errorf("%s: resources %v shown without the run's account and prefix", action, g[0].Resources)
				case !c.exact && g[0].String() != action:
					t.Errorf("%s: without resources the grant reads %q, want the action alone", action, g[0])
				}
			}
			if g := GrantsFor(c.rc, "iam:CreateRole"); len(g) != 2 || g[1].Action != "iam:TagRole" || g[1].Sid == "" {
				t.Errorf("CreateRole's tag check: %+v", g)
			}
		})
	}
}
