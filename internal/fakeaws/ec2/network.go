package ec2

import (
	"fmt"
	"strings"
)

var networkActions = map[string]action{
	"DescribeRegions":               {do: describeRegions},
	"DescribeAvailabilityZones":     {do: describeZones},
	"DescribeVpcs":                  {do: describeVpcs},
	"DescribeSubnets":               {do: describeSubnets},
	"CreateSecurityGroup":           {checks: createGroupChecks, do: createSecurityGroup},
	"AuthorizeSecurityGroupIngress": {checks: groupChecks("AuthorizeSecurityGroupIngress"), do: authorizeIngress},
	"DescribeSecurityGroups":        {do: describeSecurityGroups},
	"DeleteSecurityGroup":           {checks: groupChecks("DeleteSecurityGroup"), do: deleteSecurityGroup},
	"CreateKeyPair":                 {checks: createKeyChecks, do: createKeyPair},
	"DescribeKeyPairs":              {do: describeKeyPairs},
	"DeleteKeyPair":                 {checks: deleteKeyChecks, do: deleteKeyPair},
}

func describeRegions(_ *Cloud, q query, _ Env) ([]node, *apiErr) {
	names := q.list("RegionName")
	var items []node
	for _, r := range Regions {
		if len(names) > 0 && !contains(names, r) {
			continue
		}
		ok, e := match(q.filters(), tagFields(nil, func(n string) []string {
			switch n {
			case "region-name":
				return []string{r}
			case "endpoint":
				return []string{"ec2." + r + ".amazonaws.com"}
			case "opt-in-status":
				return []string{"opt-in-not-required"}
			}
			return nil
		}))
		if e != nil {
			return nil, e
		}
		if ok {
			items = append(items, item(tx("regionName", r), tx("regionEndpoint", "ec2."+r+".amazonaws.com"), tx("optInStatus", "opt-in-not-required")))
		}
	}
	return []node{set("regionInfo", items)}, nil
}

func describeZones(c *Cloud, q query, _ Env) ([]node, *apiErr) {
	var items []node
	for i, s := range c.region(q.region).subnets {
		items = append(items, item(tx("zoneName", s.az), tx("zoneState", "available"), tx("regionName", q.region),
			tx("zoneId", fmt.Sprintf("use1-az%d", i+1)), tx("zoneType", "availability-zone")))
	}
	return []node{set("availabilityZoneInfo", items)}, nil
}

func describeVpcs(c *Cloud, q query, _ Env) ([]node, *apiErr) {
	v := c.region(q.region)
	ids := q.list("VpcId")
	if len(ids) > 0 && (len(ids) > 1 || ids[0] != v.id) {
		return nil, notFound("InvalidVpcID.NotFound", "vpc ID", ids)
	}
	ok, e := match(q.filters(), tagFields(nil, func(n string) []string {
		switch n {
		case "vpc-id":
			return []string{v.id}
		case "isDefault", "is-default":
			return []string{"true"}
		case "state":
			return []string{"available"}
		case "cidr", "cidr-block-association.cidr-block":
			return []string{v.cidr}
		case "owner-id":
			return []string{c.account}
		}
		return nil
	}))
	if e != nil {
		return nil, e
	}
	if !ok {
		return []node{set("vpcSet", nil)}, nil
	}
	return []node{set("vpcSet", []node{item(tx("vpcId", v.id), tx("ownerId", c.account), tx("state", "available"),
		tx("cidrBlock", v.cidr), tx("dhcpOptionsId", "dopt-0f1e2d3c"), tx("instanceTenancy", "default"), bl("isDefault", true), tagSet(nil))})}, nil
}

func describeSubnets(c *Cloud, q query, _ Env) ([]node, *apiErr) {
	v := c.region(q.region)
	ids := q.list("SubnetId")
	for _, id := range ids {
		found := false
		for _, s := range v.subnets {
			found = found || s.id == id
		}
		if !found {
			return nil, fail("InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", id)
		}
	}
	var items []node
	for _, s := range v.subnets {
		if len(ids) > 0 && !contains(ids, s.id) {
			continue
		}
		ok, e := match(q.filters(), tagFields(nil, func(n string) []string {
			return map[string][]string{"subnet-id": {s.id}, "vpc-id": {v.id}, "availability-zone": {s.az}, "availabilityZone": {s.az},
				"default-for-az": {"true"}, "defaultForAz": {"true"}, "state": {"available"}, "cidr-block": {s.cidr}, "owner-id": {c.account}}[n]
		}))
		if e != nil {
			return nil, e
		}
		if ok {
			items = append(items, item(tx("subnetId", s.id), tx("subnetArn", c.arn(q.region, "subnet", s.id)), tx("state", "available"),
				tx("ownerId", c.account), tx("vpcId", v.id), tx("cidrBlock", s.cidr), num("availableIpAddressCount", 4091),
				tx("availabilityZone", s.az), bl("defaultForAz", true), bl("mapPublicIpOnLaunch", true), tagSet(nil)))
		}
	}
	return []node{set("subnetSet", items)}, nil
}

func (c *Cloud) groupByName(region, vpcID, name string) *SecurityGroup {
	for _, g := range c.groups {
		if g.Region == region && g.VpcID == vpcID && g.Name == name {
			return g
		}
	}
	return nil
}

// group finds the group a request names by GroupId or, in the default
// VPC, GroupName.
func (c *Cloud) group(q query) (*SecurityGroup, *apiErr) {
	if id := q.Get("GroupId"); id != "" {
		if g := c.groups[id]; g != nil && g.Region == q.region {
			return g, nil
		}
		if e := malformed("InvalidGroupId.Malformed", "sg", []string{id}); e != nil {
			return nil, e
		}
		return nil, fail("InvalidGroup.NotFound", "The security group '%s' does not exist", id)
	}
	name := q.Get("GroupName")
	if name == "" {
		return nil, fail("MissingParameter", "The request must contain the parameter groupName or groupId")
	}
	v := c.region(q.region)
	if g := c.groupByName(q.region, v.id, name); g != nil {
		return g, nil
	}
	return nil, fail("InvalidGroup.NotFound", "The security group '%s' does not exist in default VPC '%s'", name, v.id)
}

func groupChecks(action string) func(c *Cloud, q query, _ Env) ([]Check, *apiErr) {
	return func(c *Cloud, q query, _ Env) ([]Check, *apiErr) {
		g, e := c.group(q)
		if e != nil {
			if id := q.Get("GroupId"); id != "" && e.code == "InvalidGroup.NotFound" {
				return []Check{c.on(action, q.region, "security-group", id, nil)}, nil
			}
			return nil, e
		}
		return []Check{c.on(action, q.region, "security-group", g.ID, g.Tags)}, nil
	}
}

func createGroupChecks(c *Cloud, q query, _ Env) ([]Check, *apiErr) {
	vpcID := q.Get("VpcId")
	if vpcID == "" {
		vpcID = c.region(q.region).id
	}
	specs := q.tagSpecs()
	return append([]Check{c.creating("CreateSecurityGroup", q.region, "security-group", specs["security-group"]),
		c.on("CreateSecurityGroup", q.region, "vpc", vpcID, nil)}, c.tagOnCreate("CreateSecurityGroup", q.region, specs)...), nil
}

func createSecurityGroup(c *Cloud, q query, _ Env) ([]node, *apiErr) {
	name, desc := q.Get("GroupName"), q.Get("GroupDescription")
	switch {
	case name == "":
		return nil, fail("MissingParameter", "The request must contain the parameter groupName")
	case desc == "":
		return nil, fail("MissingParameter", "The request must contain the parameter groupDescription")
	case strings.HasPrefix(name, "sg-"):
		return nil, fail("InvalidParameterValue", "Group names may not be in the format sg-*")
	}
	v := c.region(q.region)
	if id := q.Get("VpcId"); id != "" && id != v.id {
		return nil, fail("InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", id)
	}
	if c.groupByName(q.region, v.id, name) != nil {
		return nil, fail("InvalidGroup.Duplicate", "The security group '%s' already exists for VPC '%s'", name, v.id)
	}
	g := &SecurityGroup{ID: newID("sg"), Region: q.region, Name: name, Description: desc, VpcID: v.id, Tags: q.tagSpecs()["security-group"]}
	if g.Tags == nil {
		g.Tags = Tags{}
	}
	c.groups[g.ID] = g
	return []node{bl("return", true), tx("groupId", g.ID), tagSet(g.Tags)}, nil
}

// permissions reads IpPermissions.N, or the older flat parameters.
func permissions(q query) []Permission {
	var out []Permission
	for _, p := range q.prefixes("IpPermissions") {
		out = append(out, Permission{Protocol: q.Get(p + ".IpProtocol"), FromPort: q.int(p+".FromPort", -1), ToPort: q.int(p+".ToPort", -1), CIDRs: ipRanges(q, p)})
	}
	if len(out) == 0 && q.Get("IpProtocol") != "" {
		out = append(out, Permission{Protocol: q.Get("IpProtocol"), FromPort: q.int("FromPort", -1), ToPort: q.int("ToPort", -1), CIDRs: []string{q.Get("CidrIp")}})
	}
	return out
}

func ipRanges(q query, p string) []string {
	var out []string
	for _, r := range q.prefixes(p + ".IpRanges") {
		out = append(out, q.Get(r+".CidrIp"))
	}
	return out
}

func authorizeIngress(c *Cloud, q query, _ Env) ([]node, *apiErr) {
	g, e := c.group(q)
	if e != nil {
		return nil, e
	}
	perms := permissions(q)
	if len(perms) == 0 {
		return nil, fail("MissingParameter", "The request must contain the parameter ipPermissions")
	}
	for _, p := range perms {
		for _, have := range g.Ingress {
			if have.Protocol == p.Protocol && have.FromPort == p.FromPort && have.ToPort == p.ToPort && strings.Join(have.CIDRs, ",") == strings.Join(p.CIDRs, ",") {
				return nil, fail("InvalidPermission.Duplicate", "the specified rule \"peer: %s, %s, from port: %d, to port: %d, ALLOW\" already exists",
					strings.Join(p.CIDRs, ","), strings.ToUpper(p.Protocol), p.FromPort, p.ToPort)
			}
		}
	}
	g.Ingress = append(g.Ingress, perms...)
	return []node{bl("return", true)}, nil
}
