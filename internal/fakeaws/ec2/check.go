package ec2

import (
	"sort"
	"strings"
)

// arn of an EC2 resource; images and snapshots have no account.
func (c *Cloud) arn(region, kind, id string) string {
	acct := c.account
	if kind == "image" || kind == "snapshot" {
		acct = ""
	}
	return "arn:" + c.partition + ":ec2:" + region + ":" + acct + ":" + kind + "/" + id
}

// on is a check of action on an existing resource: its tags are
// aws:ResourceTag and ec2:ResourceTag.
func (c *Cloud) on(action, region, kind, id string, tags Tags) Check {
	ch := Check{Action: "ec2:" + action, Resource: c.arn(region, kind, id), Context: map[string][]string{}}
	for k, v := range tags {
		ch.Context["aws:ResourceTag/"+k] = []string{v}
		ch.Context["ec2:ResourceTag/"+k] = []string{v}
	}
	return ch
}

// creating is a check of action on a resource it creates (ARN ending
// "/*"), with the tags the request gives it.
func (c *Cloud) creating(action, region, kind string, tags Tags) Check {
	ch := Check{Action: "ec2:" + action, Resource: c.arn(region, kind, "*"), Context: map[string][]string{}}
	requestTags(ch, tags)
	return ch
}

func requestTags(ch Check, tags Tags) {
	var keys []string
	for k, v := range tags {
		ch.Context["aws:RequestTag/"+k] = []string{v}
		keys = append(keys, k)
	}
	if len(keys) > 0 {
		sort.Strings(keys)
		ch.Context["aws:TagKeys"] = keys
	}
}

// tagOnCreate is the ec2:CreateTags EC2 authorizes for tags given to a
// creating call, with ec2:CreateAction naming that call.
func (c *Cloud) tagOnCreate(action, region string, specs map[string]Tags) []Check {
	var out []Check
	for _, kind := range sortedKeys(specs) {
		ch := c.creating("CreateTags", region, kind, specs[kind])
		ch.Context["ec2:CreateAction"] = []string{action}
		out = append(out, ch)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// instanceCheck is action on an instance: its tags, type and profile.
func (c *Cloud) instanceCheck(action string, in *Instance) Check {
	ch := c.on(action, in.Region, "instance", in.ID, in.Tags)
	ch.Context["ec2:InstanceType"] = []string{in.InstanceType}
	if in.InstanceProfileARN != "" {
		ch.Context["ec2:InstanceProfile"] = []string{in.InstanceProfileARN}
	}
	return ch
}

// imageOwner is ec2:Owner: "amazon" for Amazon's images, else the
// owner's account id.
func imageOwner(im *Image) string {
	if im.OwnerAlias != "" {
		return im.OwnerAlias
	}
	return im.Owner
}

// kindOf maps an id's prefix to the resource type in its ARN.
func kindOf(id string) string {
	p, _, _ := strings.Cut(id, "-")
	return map[string]string{
		"i": "instance", "vol": "volume", "sg": "security-group", "key": "key-pair", "ami": "image",
		"snap": "snapshot", "vpc": "vpc", "subnet": "subnet",
	}[p]
}
