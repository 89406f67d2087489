package ec2

import (
	"maps"
	"sort"
	"strconv"
)

var storageActions = map[string]action{
	"DescribeImages":       {do: describeImages},
	"CreateImage":          {checks: createImageChecks, do: createImage},
	"DeregisterImage":      {checks: idCheck("DeregisterImage", "ImageId"), do: deregisterImage},
	"ModifyImageAttribute": {checks: idCheck("ModifyImageAttribute", "ImageId"), do: modifyImageAttribute},
	"DescribeSnapshots":    {do: describeSnapshots},
	"DeleteSnapshot":       {checks: idCheck("DeleteSnapshot", "SnapshotId"), do: deleteSnapshot},
	"DescribeVolumes":      {do: describeVolumes},
	"DetachVolume":         {checks: idCheck("DetachVolume", "VolumeId"), do: detachVolume},
	"DeleteVolume":         {checks: idCheck("DeleteVolume", "VolumeId"), do: deleteVolume},
	"CreateTags":           {checks: tagChecks("CreateTags"), do: createTags},
	"DeleteTags":           {checks: tagChecks("DeleteTags"), do: deleteTags},
	"DescribeTags":         {do: describeTags},
}

// idCheck authorizes action on the one resource param names, with its
// tags when it exists.
func idCheck(action, param string) func(c *Cloud, q query, _ Env) ([]Check, *apiErr) {
	return func(c *Cloud, q query, _ Env) ([]Check, *apiErr) {
		id := q.Get(param)
		if id == "" {
			return nil, fail("MissingParameter", "The request must contain the parameter %s", param)
		}
		return []Check{c.on(action, q.region, kindOf(id), id, c.tagsOf(q.region, id))}, nil
	}
}

// tagsOf is the tags of any resource by id; nil when it does not exist.
func (c *Cloud) tagsOf(region, id string) Tags {
	switch kindOf(id) {
	case "instance":
		if r := c.instances[id]; r != nil && r.Region == region {
			return r.Tags
		}
	case "volume":
		if r := c.volumes[id]; r != nil && r.Region == region {
			return r.Tags
		}
	case "security-group":
		if r := c.groups[id]; r != nil && r.Region == region {
			return r.Tags
		}
	case "key-pair":
		if r := c.keys[id]; r != nil && r.Region == region {
			return r.Tags
		}
	case "image":
		if r := c.images[id]; r != nil && r.Region == region {
			return r.Tags
		}
	case "snapshot":
		if r := c.snapshots[id]; r != nil && r.Region == region {
			return r.Tags
		}
	}
	return nil
}

func imageFields(c *Cloud, im *Image) fields {
	return tagFields(im.Tags, func(n string) []string {
		var snaps []string
		for _, d := range im.Devices {
			snaps = append(snaps, d.SnapshotID)
		}
		return map[string][]string{"image-id": {im.ID}, "name": {im.Name}, "owner-id": {im.Owner}, "owner-alias": {im.OwnerAlias},
			"state": {im.State}, "architecture": {im.Architecture}, "root-device-type": {"ebs"}, "root-device-name": {im.RootDeviceName},
			"virtualization-type": {"hvm"}, "image-type": {"machine"}, "is-public": {strconv.FormatBool(im.Owner != c.account)},
			"hypervisor": {"xen"}, "ena-support": {"true"}, "description": {im.Description}, "block-device-mapping.snapshot-id": snaps}[n]
	})
}

// ownerMatches reads Owner.N: self, amazon, an account id.
func (c *Cloud) ownerMatches(owners []string, owner, alias string) bool {
	if len(owners) == 0 {
		return true
	}
	for _, o := range owners {
		if o == owner || (o == "self" && owner == c.account) || (alias != "" && o == alias) {
			return true
		}
	}
	return false
}

func describeImages(c *Cloud, q query, _ Env) ([]node, *apiErr) {
	ids := q.list("ImageId")
	if e := malformed("InvalidAMIID.Malformed", "ami", ids); e != nil {
		return nil, e
	}
	var missing []string
	for _, id := range ids {
		if im := c.images[id]; im == nil || im.Region != q.region {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return nil, fail("InvalidAMIID.NotFound", "The image id '%v' does not exist", missing)
	}
	var ims []*Image
	for _, im := range c.images {
		if im.Region != q.region || (len(ids) > 0 && !contains(ids, im.ID)) || !c.ownerMatches(q.list("Owner"), im.Owner, im.OwnerAlias) {
			continue
		}
		ok, e := match(q.filters(), imageFields(c, im))
		if e != nil {
			return nil, e
		}
		if ok {
			ims = append(ims, im)
		}
	}
	sort.Slice(ims, func(i, j int) bool { return ims[i].ID < ims[j].ID })
	var items []node
	for _, im := range ims {
		items = append(items, c.imageNode(im))
	}
	items, next, e := page(q, items)
	if e != nil {
		return nil, e
	}
	return append([]node{set("imagesSet", items)}, next...), nil
}

func (c *Cloud) imageNode(im *Image) node {
	var devs []node
	for _, d := range im.Devices {
		devs = append(devs, item(tx("deviceName", d.Name), el("ebs", tx("snapshotId", d.SnapshotID), num("volumeSize", d.SizeGiB),
			bl("deleteOnTermination", d.DeleteOnTermination), tx("volumeType", "gp2"), bl("encrypted", false))))
	}
	kids := []node{tx("imageId", im.ID), tx("imageLocation", im.Owner+"/"+im.Name), tx("imageState", im.State), tx("imageOwnerId", im.Owner),
		tm("creationDate", im.Created), bl("isPublic", im.Owner != c.account), tx("architecture", im.Architecture), tx("imageType", "machine"),
		tx("name", im.Name), tx("description", im.Description), tx("rootDeviceType", "ebs"), tx("rootDeviceName", im.RootDeviceName),
		set("blockDeviceMapping", devs), tx("virtualizationType", "hvm"), tx("hypervisor", "xen"), bl("enaSupport", true),
		tx("platformDetails", "Linux/UNIX"), tx("usageOperation", "RunInstances"), tagSet(im.Tags)}
	if im.OwnerAlias != "" {
		kids = append(kids, tx("imageOwnerAlias", im.OwnerAlias))
	}
	return item(kids...)
}

// createImageChecks: the instance, and the new image and snapshots with
// the tags the request gives them.
func createImageChecks(c *Cloud, q query, _ Env) ([]Check, *apiErr) {
	id := q.Get("InstanceId")
	in := c.instances[id]
	if in == nil || in.Region != q.region {
		return nil, notFound("InvalidInstanceID.NotFound", "instance ID", []string{id})
	}
	specs := q.tagSpecs()
	return append([]Check{c.instanceCheck("CreateImage", in), c.creating("CreateImage", q.region, "image", specs["image"]),
		c.creating("CreateImage", q.region, "snapshot", specs["snapshot"])}, c.tagOnCreate("CreateImage", q.region, specs)...), nil
}

func createImage(c *Cloud, q query, _ Env) ([]node, *apiErr) {
	in := c.instances[q.Get("InstanceId")]
	name := q.Get("Name")
	switch {
	case name == "":
		return nil, fail("MissingParameter", "The request must contain the parameter Name")
	case in.State != "running" && in.State != "stopped":
		return nil, fail("IncorrectInstanceState", "The instance '%s' is not in a state from which it can be imaged.", in.ID)
	}
	for _, im := range c.images {
		if im.Region == q.region && im.Owner == c.account && im.Name == name {
			return nil, fail("InvalidAMIName.Duplicate", "AMI name %s is already in use by AMI %s", name, im.ID)
		}
	}
	specs, now := q.tagSpecs(), c.now()
	im := &Image{ID: newID("ami"), Region: q.region, Name: name, Owner: c.account, State: "pending", Description: q.Get("Description"),
		Architecture: "x86_64", RootDeviceName: "/dev/sda1", Tags: maps.Clone(specs["image"]), Created: now, due: now.Add(c.delays.ImagePending)}
	if im.Tags == nil {
		im.Tags = Tags{}
	}
	for _, v := range c.volumesOf(in.ID) {
		s := &Snapshot{ID: newID("snap"), Region: q.region, VolumeID: v.ID, State: "pending", Owner: c.account, SizeGiB: v.SizeGiB,
			Description: "Created by CreateImage(" + in.ID + ") for " + im.ID, Tags: maps.Clone(specs["snapshot"]), due: im.due}
		if s.Tags == nil {
			s.Tags = Tags{}
		}
		c.snapshots[s.ID] = s
		im.Devices = append(im.Devices, Device{Name: v.Device, SnapshotID: s.ID, SizeGiB: v.SizeGiB, DeleteOnTermination: true})
	}
	c.images[im.ID] = im
	return []node{tx("imageId", im.ID)}, nil
}

func (c *Cloud) image(q query) (*Image, *apiErr) {
	id := q.Get("ImageId")
	if e := malformed("InvalidAMIID.Malformed", "ami", []string{id}); e != nil {
		return nil, e
	}
	im := c.images[id]
	if im == nil || im.Region != q.region {
		return nil, fail("InvalidAMIID.NotFound", "The image id '[%s]' does not exist", id)
	}
	return im, nil
}

func deregisterImage(c *Cloud, q query, _ Env) ([]node, *apiErr) {
	im, e := c.image(q)
	if e != nil {
		return nil, e
	}
	if im.Owner != c.account {
		return nil, fail("AuthFailure", "Not authorized for image:%s", im.ID)
	}
	delete(c.images, im.ID)
	return []node{bl("return", true)}, nil
}

func modifyImageAttribute(c *Cloud, q query, _ Env) ([]node, *apiErr) {
	if _, e := c.image(q); e != nil {
		return nil, e
	}
	return []node{bl("return", true)}, nil
}
