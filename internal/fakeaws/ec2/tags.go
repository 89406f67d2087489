package ec2

import "sort"

// tagChecks authorizes action on each resource, with its current tags
// and the request's.
func tagChecks(action string) func(c *Cloud, q query, _ Env) ([]Check, *apiErr) {
	return func(c *Cloud, q query, _ Env) ([]Check, *apiErr) {
		ids := q.list("ResourceId")
		if len(ids) == 0 {
			return nil, fail("MissingParameter", "The request must contain the parameter resourceIdSet")
		}
		var out []Check
		for _, id := range ids {
			if kindOf(id) == "" {
				return nil, fail("InvalidID", "The ID '%s' is not valid", id)
			}
			ch := c.on(action, q.region, kindOf(id), id, c.tagsOf(q.region, id))
			requestTags(ch, q.tags("Tag"))
			out = append(out, ch)
		}
		return out, nil
	}
}

var notFoundCodes = map[string][2]string{
	"instance": {"InvalidInstanceID.NotFound", "The instance ID '%s' does not exist"}, "volume": {"InvalidVolume.NotFound", "The volume '%s' does not exist."},
	"security-group": {"InvalidGroup.NotFound", "The security group '%s' does not exist"}, "key-pair": {"InvalidKeyPair.NotFound", "The key pair '%s' does not exist"},
	"image": {"InvalidAMIID.NotFound", "The image id '[%s]' does not exist"}, "snapshot": {"InvalidSnapshot.NotFound", "The snapshot '%s' does not exist."},
	"vpc": {"InvalidVpcID.NotFound", "The vpc ID '%s' does not exist"}, "subnet": {"InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist"},
}

// resourceTags returns each named resource's tags to change.
func (c *Cloud) resourceTags(q query) ([]Tags, *apiErr) {
	var out []Tags
	for _, id := range q.list("ResourceId") {
		t := c.tagsOf(q.region, id)
		if t == nil {
			nf := notFoundCodes[kindOf(id)]
			return nil, fail(nf[0], nf[1], id)
		}
		out = append(out, t)
	}
	return out, nil
}

func createTags(c *Cloud, q query, _ Env) ([]node, *apiErr) {
	all, e := c.resourceTags(q)
	if e != nil {
		return nil, e
	}
	for _, t := range all {
		for k, v := range q.tags("Tag") {
			t[k] = v
		}
	}
	return []node{bl("return", true)}, nil
}

func deleteTags(c *Cloud, q query, _ Env) ([]node, *apiErr) {
	all, e := c.resourceTags(q)
	if e != nil {
		return nil, e
	}
	for _, t := range all {
		for _, p := range q.prefixes("Tag") {
			k := q.Get(p + ".Key")
			if v, given := q.Values[p+".Value"]; !given || t[k] == v[0] {
				delete(t, k)
			}
		}
	}
	return []node{bl("return", true)}, nil
}

func describeTags(c *Cloud, q query, _ Env) ([]node, *apiErr) {
	type row struct{ id, kind, key, value string }
	var rows []row
	add := func(id string, t Tags) {
		for k, v := range t {
			rows = append(rows, row{id, kindOf(id), k, v})
		}
	}
	for id, r := range c.instances {
		if r.Region == q.region {
			add(id, r.Tags)
		}
	}
	for _, kind := range []string{"volume", "security-group", "key-pair", "image", "snapshot"} {
		for _, id := range c.idsOf(kind, q.region) {
			add(id, c.tagsOf(q.region, id))
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].id+rows[i].key < rows[j].id+rows[j].key })
	var items []node
	for _, r := range rows {
		ok, e := match(q.filters(), tagFields(nil, func(n string) []string {
			return map[string][]string{"resource-id": {r.id}, "resource-type": {r.kind}, "key": {r.key}, "value": {r.value}}[n]
		}))
		if e != nil {
			return nil, e
		}
		if ok {
			items = append(items, item(tx("resourceId", r.id), tx("resourceType", r.kind), tx("key", r.key), tx("value", r.value)))
		}
	}
	items, next, e := page(q, items)
	if e != nil {
		return nil, e
	}
	return append([]node{set("tagSet", items)}, next...), nil
}

func (c *Cloud) idsOf(kind, region string) []string {
	var out []string
	collect := func(id, r string) {
		if r == region {
			out = append(out, id)
		}
	}
	switch kind {
	case "volume":
		for id, r := range c.volumes {
			collect(id, r.Region)
		}
	case "security-group":
		for id, r := range c.groups {
			collect(id, r.Region)
		}
	case "key-pair":
		for id, r := range c.keys {
			collect(id, r.Region)
		}
	case "image":
		for id, r := range c.images {
			collect(id, r.Region)
		}
	case "snapshot":
		for id, r := range c.snapshots {
			collect(id, r.Region)
		}
	}
	return out
}
