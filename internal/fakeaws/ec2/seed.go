package ec2

import (
	"maps"
	"slices"
	"time"
)

// Regions are the regions DescribeRegions lists and calls may be made in.
var Regions = []string{
	"us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "eu-west-1", "eu-west-2",
	"eu-central-1", "eu-north-1", "ap-southeast-1", "ap-southeast-2", "ap-northeast-1", "ap-south-1", "sa-east-1",
}

// vpc is a region's default VPC, its subnets (one per zone) and its
// default security group.
type vpc struct {
	id, cidr, group string
	subnets         []subnet
}

type subnet struct{ id, az, cidr string }

// region returns the region's default VPC, made on first use. c.mu is held.
func (c *Cloud) region(r string) *vpc {
	if v := c.vpcs[r]; v != nil {
		return v
	}
	v := &vpc{id: newID("vpc"), cidr: "172.31.0.0/16"}
	for i, z := range []string{"a", "b", "c"} {
		v.subnets = append(v.subnets, subnet{id: newID("subnet"), az: r + z, cidr: []string{"172.31.0.0/20", "172.31.16.0/20", "172.31.32.0/20"}[i]})
	}
	g := &SecurityGroup{ID: newID("sg"), Region: r, Name: "default", Description: "default VPC security group", VpcID: v.id, Tags: Tags{}}
	c.groups[g.ID] = g
	v.group = g.ID
	c.vpcs[r] = v
	return v
}

func orRegion(r string) string {
	if r == "" {
		return "us-east-1"
	}
	return r
}

// SeedImage adds an available AMI with a root snapshot, e.g. a source
// image. Defaults: region us-east-1, owner Canonical's account
// (099720109477), root /dev/sda1 of 8 GiB, architecture x86_64.
func (c *Cloud) SeedImage(im Image) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	im.Region = orRegion(im.Region)
	if im.ID == "" {
		im.ID = newID("ami")
	}
	if im.Owner == "" {
		im.Owner = "099720109477"
	}
	if im.Architecture == "" {
		im.Architecture = "x86_64"
	}
	if im.RootDeviceName == "" {
		im.RootDeviceName = "/dev/sda1"
	}
	if im.Name == "" {
		im.Name = "source-" + im.ID
	}
	if im.Created.IsZero() {
		im.Created = c.now()
	}
	im.State, im.Tags = "available", maps.Clone(im.Tags)
	if len(im.Devices) == 0 {
		snap := &Snapshot{ID: newID("snap"), Region: im.Region, State: "completed", Owner: im.Owner, SizeGiB: 8, Tags: Tags{}}
		c.snapshots[snap.ID] = snap
		im.Devices = []Device{{Name: im.RootDeviceName, SnapshotID: snap.ID, SizeGiB: 8, DeleteOnTermination: true}}
	}
	im.Devices = slices.Clone(im.Devices)
	c.images[im.ID] = &im
	return im.ID
}

// SeedInstance adds an instance (default running, in the default VPC's
// first subnet and default group) with a root volume that goes with it.
func (c *Cloud) SeedInstance(in Instance) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	in.Region = orRegion(in.Region)
	v := c.region(in.Region)
	if in.ID == "" {
		in.ID = newID("i")
	}
	if in.State == "" {
		in.State = "running"
	}
	if in.InstanceType == "" {
		in.InstanceType = "t3.micro"
	}
	if in.SubnetID == "" {
		in.SubnetID, in.AZ = v.subnets[0].id, v.subnets[0].az
	}
	if in.VpcID == "" {
		in.VpcID = v.id
	}
	if len(in.SecurityGroupIDs) == 0 {
		in.SecurityGroupIDs = []string{v.group}
	}
	if in.LaunchTime.IsZero() {
		in.LaunchTime = c.now()
	}
	in.reservation, in.Tags = newID("r"), maps.Clone(in.Tags)
	c.instances[in.ID] = &in
	if in.State != "terminated" {
		vol := &Volume{ID: newID("vol"), Region: in.Region, AZ: in.AZ, State: "in-use", VolumeType: "gp2", SizeGiB: 8,
			InstanceID: in.ID, Device: "/dev/sda1", DeleteOnTermination: true, Tags: Tags{}}
		c.volumes[vol.ID] = vol
	} else {
		in.gone = in.LaunchTime.Add(c.delays.TerminatedVisible)
	}
	return in.ID
}

// SeedSecurityGroup adds a security group (default: the region's default
// VPC).
func (c *Cloud) SeedSecurityGroup(g SecurityGroup) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	g.Region = orRegion(g.Region)
	if g.VpcID == "" {
		g.VpcID = c.region(g.Region).id
	}
	if g.ID == "" {
		g.ID = newID("sg")
	}
	g.Tags, g.Ingress = maps.Clone(g.Tags), slices.Clone(g.Ingress)
	if g.Tags == nil {
		g.Tags = Tags{} // taggable: tagsOf's nil means no such group
	}
	c.groups[g.ID] = &g
	return g.ID
}

// SeedKeyPair adds a key pair and returns its id.
func (c *Cloud) SeedKeyPair(k KeyPair) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	k.Region = orRegion(k.Region)
	if k.ID == "" {
		k.ID = newID("key")
	}
	if k.Fingerprint == "" {
		k.Fingerprint = "1f:51:ae:28:bf:89:e9:d8:1f:25:5d:37:2d:7d:b8:ca:9f:f5:f1:6f"
	}
	if k.CreateTime.IsZero() {
		k.CreateTime = time.Now().UTC()
	}
	if k.Tags = maps.Clone(k.Tags); k.Tags == nil {
		k.Tags = Tags{}
	}
	c.keys[k.ID] = &k
	return k.ID
}

// SeedVolume adds a volume (default available, 8 GiB gp2, in the region's
// first zone).
func (c *Cloud) SeedVolume(v Volume) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	v.Region = orRegion(v.Region)
	if v.ID == "" {
		v.ID = newID("vol")
	}
	if v.AZ == "" {
		v.AZ = c.region(v.Region).subnets[0].az
	}
	if v.SizeGiB == 0 {
		v.SizeGiB = 8
	}
	if v.VolumeType == "" {
		v.VolumeType = "gp2"
	}
	v.State = "available"
	if v.InstanceID != "" {
		v.State = "in-use"
	}
	if v.Tags = maps.Clone(v.Tags); v.Tags == nil {
		v.Tags = Tags{}
	}
	c.volumes[v.ID] = &v
	return v.ID
}
