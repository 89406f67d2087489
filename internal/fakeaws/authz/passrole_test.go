package authz

import (
	"net/url"
	"strings"
	"testing"
)

type tagDir struct{}

func (tagDir) Partition() string { return "aws" }
func (tagDir) Account() string   { return "123456789012" }
func (tagDir) Role(name string) (Entity, bool) {
	return Entity{ARN: "arn:aws:iam::123456789012:role/buildrole/" + name, Tags: [][2]string{{"buildrole:managed", "true"}}}, true
}
func (tagDir) Profile(name string) (Entity, bool) {
	return Entity{ARN: "arn:aws:iam::123456789012:instance-profile/buildrole/" + name, Tags: [][2]string{{"buildrole:managed", "true"}}}, true
}

// IAM documents that iam:PassRole cannot be limited by the role's
// tags (aws:ResourceTag/...): "You cannot limit permissions to pass a role
// based on tags attached to the role using the ResourceTag/key-name
// condition key" (IAM User Guide, id_roles_use_passrole). The fake sends
// them, so an Allow on PassRole conditioned on the role's tags passes every
// test here and is refused by AWS.
func TestPassRoleCarriesNoResourceTags(t *testing.T) {
	p := url.Values{"InstanceProfileName": {"p"}, "RoleName": {"r"}}
	for _, c := range Checks("AddRoleToInstanceProfile", p, tagDir{}) {
		if c.Action != "iam:PassRole" {
			continue
		}
		for k := range c.Context {
			if strings.HasPrefix(strings.ToLower(k), "aws:resourcetag/") {
				t.Errorf("iam:PassRole check carries %s", k)
			}
		}
	}
}
