package ec2

import (
	"strconv"
	"strings"
)

func snapshotFields(s *Snapshot) fields {
	return tagFields(s.Tags, func(n string) []string {
		return map[string][]string{"snapshot-id": {s.ID}, "status": {s.State}, "volume-id": {s.VolumeID}, "owner-id": {s.Owner},
			"volume-size": {strconv.Itoa(s.SizeGiB)}, "description": {s.Description}}[n]
	})
}

func describeSnapshots(c *Cloud, q query, _ Env) ([]node, *apiErr) {
	ids := q.list("SnapshotId")
	for _, id := range ids {
		if s := c.snapshots[id]; s == nil || s.Region != q.region {
			return nil, fail("InvalidSnapshot.NotFound", "The snapshot '%s' does not exist.", id)
		}
	}
	var items []node
	for _, id := range sortedKeys(c.snapshots) {
		s := c.snapshots[id]
		if s.Region != q.region || (len(ids) > 0 && !contains(ids, id)) || !c.ownerMatches(q.list("Owner"), s.Owner, "") {
			continue
		}
		ok, e := match(q.filters(), snapshotFields(s))
		if e != nil {
			return nil, e
		}
		if ok {
			progress := "100%"
			if s.State == "pending" {
				progress = "50%"
			}
			items = append(items, item(tx("snapshotId", s.ID), tx("volumeId", s.VolumeID), tx("status", s.State), tm("startTime", c.now()),
				tx("progress", progress), tx("ownerId", s.Owner), num("volumeSize", s.SizeGiB), tx("description", s.Description),
				bl("encrypted", false), tagSet(s.Tags)))
		}
	}
	items, next, e := page(q, items)
	if e != nil {
		return nil, e
	}
	return append([]node{set("snapshotSet", items)}, next...), nil
}

func deleteSnapshot(c *Cloud, q query, _ Env) ([]node, *apiErr) {
	id := q.Get("SnapshotId")
	s := c.snapshots[id]
	if s == nil || s.Region != q.region {
		return nil, fail("InvalidSnapshot.NotFound", "The snapshot '%s' does not exist.", id)
	}
	for _, im := range c.images {
		for _, d := range im.Devices {
			if d.SnapshotID == id {
				return nil, fail("InvalidSnapshot.InUse", "The snapshot %s is currently in use by %s", id, im.ID)
			}
		}
	}
	delete(c.snapshots, id)
	return []node{bl("return", true)}, nil
}

func volumeFields(v *Volume) fields {
	return tagFields(v.Tags, func(n string) []string {
		attach := map[string][]string{}
		if v.InstanceID != "" {
			status := "attached"
			if v.Detaching {
				status = "detaching"
			}
			attach = map[string][]string{"attachment.instance-id": {v.InstanceID}, "attachment.device": {v.Device}, "attachment.status": {status},
				"attachment.delete-on-termination": {strconv.FormatBool(v.DeleteOnTermination)}}
		}
		if vals, ok := attach[n]; ok {
			return vals
		}
		if strings.HasPrefix(n, "attachment.") {
			return []string{}
		}
		return map[string][]string{"volume-id": {v.ID}, "status": {v.State}, "availability-zone": {v.AZ}, "snapshot-id": {v.SnapshotID},
			"size": {strconv.Itoa(v.SizeGiB)}, "volume-type": {v.VolumeType}, "encrypted": {"false"}}[n]
	})
}

func (c *Cloud) volumeNode(v *Volume) node {
	var att []node
	if v.InstanceID != "" {
		status := "attached"
		if v.Detaching {
			status = "detaching"
		}
		att = append(att, item(tx("volumeId", v.ID), tx("instanceId", v.InstanceID), tx("device", v.Device), tx("status", status),
			tm("attachTime", c.now()), bl("deleteOnTermination", v.DeleteOnTermination)))
	}
	return item(tx("volumeId", v.ID), num("size", v.SizeGiB), tx("snapshotId", v.SnapshotID), tx("availabilityZone", v.AZ),
		tx("status", v.State), tm("createTime", c.now()), set("attachmentSet", att), tx("volumeType", v.VolumeType),
		bl("encrypted", false), bl("multiAttachEnabled", false), tagSet(v.Tags))
}

func describeVolumes(c *Cloud, q query, _ Env) ([]node, *apiErr) {
	ids := q.list("VolumeId")
	if e := malformed("InvalidVolumeID.Malformed", "vol", ids); e != nil {
		return nil, e
	}
	for _, id := range ids {
		if v := c.volumes[id]; v == nil || v.Region != q.region {
			return nil, fail("InvalidVolume.NotFound", "The volume '%s' does not exist.", id)
		}
	}
	var items []node
	for _, id := range sortedKeys(c.volumes) {
		v := c.volumes[id]
		if v.Region != q.region || (len(ids) > 0 && !contains(ids, id)) {
			continue
		}
		ok, e := match(q.filters(), volumeFields(v))
		if e != nil {
			return nil, e
		}
		if ok {
			items = append(items, c.volumeNode(v))
		}
	}
	items, next, e := page(q, items)
	if e != nil {
		return nil, e
	}
	return append([]node{set("volumeSet", items)}, next...), nil
}

func (c *Cloud) volume(q query) (*Volume, *apiErr) {
	id := q.Get("VolumeId")
	if e := malformed("InvalidVolumeID.Malformed", "vol", []string{id}); e != nil {
		return nil, e
	}
	v := c.volumes[id]
	if v == nil || v.Region != q.region {
		return nil, fail("InvalidVolume.NotFound", "The volume '%s' does not exist.", id)
	}
	return v, nil
}

// detachVolume starts a detachment that ends VolumeDetach later; a
// running instance's root volume cannot be detached.
func detachVolume(c *Cloud, q query, _ Env) ([]node, *apiErr) {
	v, e := c.volume(q)
	if e != nil {
		return nil, e
	}
	if v.InstanceID == "" || v.Detaching {
		return nil, fail("IncorrectState", "Volume '%s' is in the '%s' state.", v.ID, v.State)
	}
	if id := q.Get("InstanceId"); id != "" && id != v.InstanceID {
		return nil, fail("InvalidAttachment.NotFound", "The volume %s is not attached to instance %s", v.ID, id)
	}
	if in := c.instances[v.InstanceID]; in != nil && v.Device == "/dev/sda1" && in.State != "stopped" && in.State != "terminated" {
		return nil, fail("IncorrectState", "Unable to detach root volume '%s' from instance '%s'", v.ID, in.ID)
	}
	v.Detaching, v.due = true, c.now().Add(c.delays.VolumeDetach)
	return []node{tx("volumeId", v.ID), tx("instanceId", v.InstanceID), tx("device", v.Device), tx("status", "detaching"), tm("attachTime", c.now())}, nil
}

func deleteVolume(c *Cloud, q query, _ Env) ([]node, *apiErr) {
	v, e := c.volume(q)
	if e != nil {
		return nil, e
	}
	if v.State != "available" {
		return nil, fail("VolumeInUse", "Volume %s is currently attached to %s", v.ID, v.InstanceID)
	}
	delete(c.volumes, v.ID)
	return []node{bl("return", true)}, nil
}
