package ec2

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"sort"
	"strings"
	"time"
)

func groupFields(g *SecurityGroup, owner string) fields {
	return tagFields(g.Tags, func(n string) []string {
		return map[string][]string{"group-id": {g.ID}, "group-name": {g.Name}, "vpc-id": {g.VpcID}, "description": {g.Description}, "owner-id": {owner}}[n]
	})
}

func describeSecurityGroups(c *Cloud, q query, _ Env) ([]node, *apiErr) {
	ids, names := q.list("GroupId"), q.list("GroupName")
	for _, id := range ids {
		if g := c.groups[id]; g == nil || g.Region != q.region {
			return nil, fail("InvalidGroup.NotFound", "The security group '%s' does not exist", id)
		}
	}
	v := c.region(q.region)
	for _, n := range names {
		if c.groupByName(q.region, v.id, n) == nil {
			return nil, fail("InvalidGroup.NotFound", "The security group '%s' does not exist in default VPC '%s'", n, v.id)
		}
	}
	var groups []*SecurityGroup
	for _, g := range c.groups {
		if g.Region != q.region || (len(ids) > 0 && !contains(ids, g.ID)) || (len(names) > 0 && (!contains(names, g.Name) || g.VpcID != v.id)) {
			continue
		}
		ok, e := match(q.filters(), groupFields(g, c.account))
		if e != nil {
			return nil, e
		}
		if ok {
			groups = append(groups, g)
		}
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i].ID < groups[j].ID })
	var items []node
	for _, g := range groups {
		var perms []node
		for _, p := range g.Ingress {
			var ranges []node
			for _, r := range p.CIDRs {
				ranges = append(ranges, item(tx("cidrIp", r)))
			}
			perms = append(perms, item(tx("ipProtocol", p.Protocol), num("fromPort", p.FromPort), num("toPort", p.ToPort), set("ipRanges", ranges), set("groups", nil)))
		}
		items = append(items, item(tx("ownerId", c.account), tx("groupId", g.ID), tx("groupName", g.Name), tx("groupDescription", g.Description),
			tx("vpcId", g.VpcID), set("ipPermissions", perms),
			set("ipPermissionsEgress", []node{item(tx("ipProtocol", "-1"), set("ipRanges", []node{item(tx("cidrIp", "0.0.0.0/0"))}), set("groups", nil))}),
			tagSet(g.Tags)))
	}
	items, next, e := page(q, items)
	if e != nil {
		return nil, e
	}
	return append([]node{set("securityGroupInfo", items)}, next...), nil
}

// deleteSecurityGroup refuses while any instance not yet terminated
// (shutting-down included) uses the group, as EC2 does.
func deleteSecurityGroup(c *Cloud, q query, _ Env) ([]node, *apiErr) {
	g, e := c.group(q)
	if e != nil {
		return nil, e
	}
	if g.Name == "default" {
		return nil, fail("CannotDelete", "the specified group: \"%s\" name: \"default\" cannot be deleted by a user", g.ID)
	}
	for _, in := range c.instances {
		if in.State != "terminated" && contains(in.SecurityGroupIDs, g.ID) {
			return nil, fail("DependencyViolation", "resource %s has a dependent object", g.ID)
		}
	}
	delete(c.groups, g.ID)
	return []node{bl("return", true), tx("groupId", g.ID)}, nil
}

func (c *Cloud) keyByName(region, name string) *KeyPair {
	for _, k := range c.keys {
		if k.Region == region && k.Name == name {
			return k
		}
	}
	return nil
}

func createKeyChecks(c *Cloud, q query, _ Env) ([]Check, *apiErr) {
	specs := q.tagSpecs()
	ch := c.creating("CreateKeyPair", q.region, "key-pair", specs["key-pair"])
	ch.Resource = c.arn(q.region, "key-pair", q.Get("KeyName"))
	// Its tags on create name the same key pair (its ARN is its name).
	tags := c.tagOnCreate("CreateKeyPair", q.region, specs)
	for i := range tags {
		if tags[i].Resource == c.arn(q.region, "key-pair", "*") {
			tags[i].Resource = ch.Resource
		}
	}
	return append([]Check{ch}, tags...), nil
}

func createKeyPair(c *Cloud, q query, _ Env) ([]node, *apiErr) {
	name := q.Get("KeyName")
	if name == "" {
		return nil, fail("MissingParameter", "The request must contain the parameter KeyName")
	}
	if c.keyByName(q.region, name) != nil {
		return nil, fail("InvalidKeyPair.Duplicate", "The keypair '%s' already exists.", name)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, &apiErr{status: 500, code: "InternalError", message: "An internal error has occurred"}
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	sum := sha1.Sum(der)
	hexes := make([]string, len(sum))
	for i, b := range sum {
		hexes[i] = fmt.Sprintf("%02x", b)
	}
	k := &KeyPair{ID: newID("key"), Region: q.region, Name: name, Fingerprint: strings.Join(hexes, ":"), Tags: q.tagSpecs()["key-pair"], CreateTime: time.Now().UTC()}
	if k.Tags == nil {
		k.Tags = Tags{}
	}
	c.keys[k.ID] = k
	material := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	return []node{tx("keyName", name), tx("keyFingerprint", k.Fingerprint), tx("keyMaterial", string(material)), tx("keyPairId", k.ID), tagSet(k.Tags)}, nil
}

func describeKeyPairs(c *Cloud, q query, _ Env) ([]node, *apiErr) {
	names, ids := q.list("KeyName"), q.list("KeyPairId")
	for _, n := range names {
		if c.keyByName(q.region, n) == nil {
			return nil, fail("InvalidKeyPair.NotFound", "The key pair '%s' does not exist", n)
		}
	}
	for _, id := range ids {
		if k := c.keys[id]; k == nil || k.Region != q.region {
			return nil, fail("InvalidKeyPair.NotFound", "The key pair '%s' does not exist", id)
		}
	}
	var items []node
	for _, id := range sortedKeys(c.keys) {
		k := c.keys[id]
		if k.Region != q.region || (len(names) > 0 && !contains(names, k.Name)) || (len(ids) > 0 && !contains(ids, k.ID)) {
			continue
		}
		ok, e := match(q.filters(), tagFields(k.Tags, func(n string) []string {
			return map[string][]string{"key-name": {k.Name}, "key-pair-id": {k.ID}, "fingerprint": {k.Fingerprint}}[n]
		}))
		if e != nil {
			return nil, e
		}
		if ok {
			items = append(items, item(tx("keyPairId", k.ID), tx("keyName", k.Name), tx("keyFingerprint", k.Fingerprint),
				tx("keyType", "rsa"), tagSet(k.Tags), tm("createTime", k.CreateTime)))
		}
	}
	return []node{set("keySet", items)}, nil
}

func deleteKeyChecks(c *Cloud, q query, _ Env) ([]Check, *apiErr) {
	k := c.namedKey(q)
	if k == nil {
		name := q.Get("KeyName")
		if name == "" {
			name = q.Get("KeyPairId")
		}
		return []Check{c.on("DeleteKeyPair", q.region, "key-pair", name, nil)}, nil
	}
	return []Check{c.on("DeleteKeyPair", q.region, "key-pair", k.Name, k.Tags)}, nil
}

func (c *Cloud) namedKey(q query) *KeyPair {
	if id := q.Get("KeyPairId"); id != "" {
		if k := c.keys[id]; k != nil && k.Region == q.region {
			return k
		}
		return nil
	}
	return c.keyByName(q.region, q.Get("KeyName"))
}

// deleteKeyPair succeeds for a key pair that does not exist, as EC2 does.
func deleteKeyPair(c *Cloud, q query, _ Env) ([]node, *apiErr) {
	if q.Get("KeyName") == "" && q.Get("KeyPairId") == "" {
		return nil, fail("MissingParameter", "The request must contain the parameter KeyName or KeyPairId")
	}
	id := ""
	if k := c.namedKey(q); k != nil {
		delete(c.keys, k.ID)
		id = k.ID
	}
	return []node{bl("return", true), tx("keyPairId", id)}, nil
}
