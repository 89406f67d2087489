package ec2

import (
	"maps"
	"slices"
	"strconv"
	"strings"
)

var instanceActions = map[string]action{
	"RunInstances":            {checks: runChecks, do: runInstances},
	"DescribeInstances":       {do: describeInstances},
	"DescribeInstanceStatus":  {do: describeInstanceStatus},
	"StopInstances":           {checks: eachInstance("StopInstances"), do: stopInstances},
	"TerminateInstances":      {checks: eachInstance("TerminateInstances"), do: terminateInstances},
	"ModifyInstanceAttribute": {checks: oneInstance("ModifyInstanceAttribute"), do: modifyInstanceAttribute},
}

var stateCodes = map[string]int{"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48, "stopping": 64, "stopped": 80}

func stateNode(name, s string) node {
	return el(name, num("code", stateCodes[s]), tx("name", s))
}

// launch is what RunInstances was asked, resolved against the account.
type launch struct {
	image      *Image
	subnet     subnet
	vpc        *vpc
	groups     []*SecurityGroup
	key        *KeyPair
	profileARN string
	roleARN    string
	specs      map[string]Tags
}

// resolve reads RunInstances' parameters and finds what they name.
func (c *Cloud) resolve(q query, env Env) (*launch, *apiErr) {
	l := &launch{specs: q.tagSpecs(), vpc: c.region(q.region)}
	im := c.images[q.Get("ImageId")]
	if q.Get("ImageId") == "" {
		return nil, fail("MissingParameter", "The request must contain the parameter ImageId")
	}
	if im == nil || im.Region != q.region {
		return nil, fail("InvalidAMIID.NotFound", "The image id '[%s]' does not exist", q.Get("ImageId"))
	}
	l.image, l.subnet = im, l.vpc.subnets[0]
	if id := q.Get("SubnetId"); id != "" {
		i := slices.IndexFunc(l.vpc.subnets, func(s subnet) bool { return s.id == id })
		if i < 0 {
			return nil, fail("InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", id)
		}
		l.subnet = l.vpc.subnets[i]
	}
	ids := q.list("SecurityGroupId")
	for _, n := range q.list("SecurityGroup") {
		if g := c.groupByName(q.region, l.vpc.id, n); g != nil {
			ids = append(ids, g.ID)
		} else {
			return nil, fail("InvalidGroup.NotFound", "The security group '%s' does not exist in VPC '%s'", n, l.vpc.id)
		}
	}
	if len(ids) == 0 {
		ids = []string{l.vpc.group}
	}
	for _, id := range ids {
		g := c.groups[id]
		if g == nil || g.Region != q.region {
			return nil, fail("InvalidGroup.NotFound", "The security group '%s' does not exist", id)
		}
		l.groups = append(l.groups, g)
	}
	if n := q.Get("KeyName"); n != "" {
		if l.key = c.keyByName(q.region, n); l.key == nil {
			return nil, fail("InvalidKeyPair.NotFound", "The key pair '%s' does not exist", n)
		}
	}
	if p := q.Get("IamInstanceProfile.Name") + q.Get("IamInstanceProfile.Arn"); p != "" {
		arn, role, ok := env.Profile(p)
		if !ok {
			field := "iamInstanceProfile.name"
			if q.Get("IamInstanceProfile.Arn") != "" {
				field = "iamInstanceProfile.arn"
			}
			return nil, fail("InvalidParameterValue", "Value (%s) for parameter %s is invalid. Invalid IAM Instance Profile name", p, field)
		}
		l.profileARN, l.roleARN = arn, role
	}
	return l, nil
}

// runChecks are RunInstances' authorizations (Service Authorization
// Reference): the new instance, volumes and network interface, the
// image, subnet, security groups and key pair it uses, iam:PassRole for
// the profile's role, and CreateTags for TagSpecifications.
func runChecks(c *Cloud, q query, env Env) ([]Check, *apiErr) {
	l, e := c.resolve(q, env)
	if e != nil {
		return nil, e
	}
	r := q.region
	inst := c.creating("RunInstances", r, "instance", l.specs["instance"])
	inst.Context["ec2:InstanceType"] = []string{q.Get("InstanceType")}
	if l.profileARN != "" {
		inst.Context["ec2:InstanceProfile"] = []string{l.profileARN}
	}
	img := c.on("RunInstances", r, "image", l.image.ID, l.image.Tags)
	img.Context["ec2:Owner"] = []string{imageOwner(l.image)}
	out := []Check{inst, c.creating("RunInstances", r, "volume", l.specs["volume"]),
		c.creating("RunInstances", r, "network-interface", l.specs["network-interface"]), img,
		c.on("RunInstances", r, "subnet", l.subnet.id, nil)}
	for _, g := range l.groups {
		out = append(out, c.on("RunInstances", r, "security-group", g.ID, g.Tags))
	}
	if l.key != nil {
		out = append(out, c.on("RunInstances", r, "key-pair", l.key.Name, l.key.Tags))
	}
	if l.roleARN != "" {
		out = append(out, Check{Action: "iam:PassRole", Resource: l.roleARN, Context: map[string][]string{"iam:PassedToService": {"ec2.amazonaws.com"}}})
	}
	return append(out, c.tagOnCreate("RunInstances", r, l.specs)...), nil
}

func runInstances(c *Cloud, q query, env Env) ([]node, *apiErr) {
	l, e := c.resolve(q, env)
	if e != nil {
		return nil, e
	}
	if q.Get("InstanceType") == "" {
		return nil, fail("MissingParameter", "The request must contain the parameter InstanceType")
	}
	n := max(q.int("MaxCount", 1), 1)
	res := newID("r")
	var items []node
	for range n {
		in := &Instance{ID: newID("i"), Region: q.region, AZ: l.subnet.az, ImageID: l.image.ID, InstanceType: q.Get("InstanceType"),
			SubnetID: l.subnet.id, VpcID: l.vpc.id, InstanceProfileARN: l.profileARN, Tags: maps.Clone(l.specs["instance"]),
			LaunchTime: c.now(), reservation: res}
		if in.Tags == nil {
			in.Tags = Tags{}
		}
		if l.key != nil {
			in.KeyName = l.key.Name
		}
		for _, g := range l.groups {
			in.SecurityGroupIDs = append(in.SecurityGroupIDs, g.ID)
		}
		in.move("pending", "running", c.now(), c.delays.Pending)
		c.instances[in.ID] = in
		c.attachLaunchVolumes(q, l, in)
		items = append(items, c.instanceNode(in))
	}
	return []node{tx("reservationId", res), tx("ownerId", c.account), set("groupSet", nil), set("instancesSet", items)}, nil
}

// attachLaunchVolumes makes the image's volumes, as BlockDeviceMapping.N
// changes them, and any new ones it adds.
func (c *Cloud) attachLaunchVolumes(q query, l *launch, in *Instance) {
	devs := map[string]*Device{}
	var order []string
	for _, d := range l.image.Devices {
		d := d
		devs[d.Name], order = &d, append(order, d.Name)
	}
	for _, p := range q.prefixes("BlockDeviceMapping") {
		name := q.Get(p + ".DeviceName")
		if q.Get(p+".NoDevice") != "" {
			delete(devs, name)
			continue
		}
		d := devs[name]
		if d == nil {
			d = &Device{Name: name, SizeGiB: 8, DeleteOnTermination: true}
			devs[name], order = d, append(order, name)
		}
		d.SizeGiB = q.int(p+".Ebs.VolumeSize", d.SizeGiB)
		if v := q.Get(p + ".Ebs.DeleteOnTermination"); v != "" {
			d.DeleteOnTermination = v == "true"
		}
	}
	for _, name := range order {
		d := devs[name]
		if d == nil {
			continue
		}
		v := &Volume{ID: newID("vol"), Region: in.Region, AZ: in.AZ, State: "in-use", SnapshotID: d.SnapshotID, VolumeType: "gp2",
			SizeGiB: d.SizeGiB, InstanceID: in.ID, Device: d.Name, DeleteOnTermination: d.DeleteOnTermination, Tags: maps.Clone(l.specs["volume"])}
		if v.Tags == nil {
			v.Tags = Tags{}
		}
		c.volumes[v.ID] = v
	}
}

func (c *Cloud) instanceNode(in *Instance) node {
	var groups, devices []node
	for _, id := range in.SecurityGroupIDs {
		name := ""
		if g := c.groups[id]; g != nil {
			name = g.Name
		}
		groups = append(groups, item(tx("groupId", id), tx("groupName", name)))
	}
	for _, v := range c.volumesOf(in.ID) {
		status := "attached"
		if v.Detaching {
			status = "detaching"
		}
		devices = append(devices, item(tx("deviceName", v.Device), el("ebs", tx("volumeId", v.ID), tx("status", status),
			tm("attachTime", in.LaunchTime), bl("deleteOnTermination", v.DeleteOnTermination))))
	}
	kids := []node{tx("instanceId", in.ID), tx("imageId", in.ImageID), stateNode("instanceState", in.State),
		tx("privateDnsName", "ip-172-31-0-10.ec2.internal"), tx("dnsName", ""), tx("reason", ""), num("amiLaunchIndex", 0),
		tx("instanceType", in.InstanceType), tm("launchTime", in.LaunchTime),
		el("placement", tx("availabilityZone", in.AZ), tx("groupName", ""), tx("tenancy", "default")),
		el("monitoring", tx("state", "disabled")), tx("subnetId", in.SubnetID), tx("vpcId", in.VpcID),
		tx("privateIpAddress", "172.31.0.10"), set("groupSet", groups), tx("architecture", "x86_64"),
		tx("rootDeviceType", "ebs"), tx("rootDeviceName", "/dev/sda1"), set("blockDeviceMapping", devices),
		tx("virtualizationType", "hvm"), tx("hypervisor", "xen"), bl("ebsOptimized", false), bl("enaSupport", true),
		bl("sourceDestCheck", true), tagSet(in.Tags)}
	if in.KeyName != "" {
		kids = append(kids, tx("keyName", in.KeyName))
	}
	if in.InstanceProfileARN != "" {
		kids = append(kids, el("iamInstanceProfile", tx("arn", in.InstanceProfileARN), tx("id", "AIPA"+strings.ToUpper(in.ID[2:]))))
	}
	return item(kids...)
}

func (c *Cloud) volumesOf(instance string) []*Volume {
	var out []*Volume
	for _, id := range sortedKeys(c.volumes) {
		if v := c.volumes[id]; v.InstanceID == instance {
			out = append(out, v)
		}
	}
	return out
}

func instanceFields(c *Cloud, in *Instance) fields {
	return tagFields(in.Tags, func(name string) []string {
		groupIDs, groupNames := []string{}, []string{}
		for _, id := range in.SecurityGroupIDs {
			groupIDs = append(groupIDs, id)
			if g := c.groups[id]; g != nil {
				groupNames = append(groupNames, g.Name)
			}
		}
		switch name {
		case "instance-id":
			return []string{in.ID}
		case "instance-state-name":
			return []string{in.State}
		case "instance-state-code":
			return []string{strconv.Itoa(stateCodes[in.State])}
		case "key-name":
			return []string{in.KeyName}
		case "image-id":
			return []string{in.ImageID}
		case "instance-type":
			return []string{in.InstanceType}
		case "vpc-id":
			return []string{in.VpcID}
		case "subnet-id":
			return []string{in.SubnetID}
		case "availability-zone":
			return []string{in.AZ}
		case "iam-instance-profile.arn":
			return []string{in.InstanceProfileARN}
		case "instance.group-id", "group-id":
			return groupIDs
		case "instance.group-name", "group-name":
			return groupNames
		case "reservation-id":
			return []string{in.reservation}
		}
		return nil
	})
}
