package ec2

import (
	"sort"
	"time"
)

// selectInstances is the region's instances the request names (all when
// it names none) that pass its filters, oldest first.
func (c *Cloud) selectInstances(q query) ([]*Instance, *apiErr) {
	ids := q.list("InstanceId")
	if e := malformed("InvalidInstanceID.Malformed", "i", ids); e != nil {
		return nil, e
	}
	var missing []string
	for _, id := range ids {
		if in := c.instances[id]; in == nil || in.Region != q.region {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return nil, notFound("InvalidInstanceID.NotFound", "instance ID", missing)
	}
	// A filter EC2 does not know is refused even when nothing would match.
	if _, e := match(q.filters(), instanceFields(c, &Instance{})); e != nil {
		return nil, e
	}
	var out []*Instance
	for _, in := range c.instances {
		if in.Region != q.region || (len(ids) > 0 && !contains(ids, in.ID)) {
			continue
		}
		ok, e := match(q.filters(), instanceFields(c, in))
		if e != nil {
			return nil, e
		}
		if ok {
			out = append(out, in)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].LaunchTime.Equal(out[j].LaunchTime) {
			return out[i].LaunchTime.Before(out[j].LaunchTime)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func describeInstances(c *Cloud, q query, _ Env) ([]node, *apiErr) {
	ins, e := c.selectInstances(q)
	if e != nil {
		return nil, e
	}
	// One item per reservation, in the order of its first instance.
	var order []string
	byRes := map[string][]node{}
	for _, in := range ins {
		if byRes[in.reservation] == nil {
			order = append(order, in.reservation)
		}
		byRes[in.reservation] = append(byRes[in.reservation], c.instanceNode(in))
	}
	var items []node
	for _, r := range order {
		items = append(items, item(tx("reservationId", r), tx("ownerId", c.account), set("groupSet", nil), set("instancesSet", byRes[r])))
	}
	items, next, e := page(q, items)
	if e != nil {
		return nil, e
	}
	return append([]node{set("reservationSet", items)}, next...), nil
}

func describeInstanceStatus(c *Cloud, q query, _ Env) ([]node, *apiErr) {
	ins, e := c.selectInstances(q)
	if e != nil {
		return nil, e
	}
	var items []node
	for _, in := range ins {
		if in.State != "running" && q.Get("IncludeAllInstances") != "true" {
			continue
		}
		status := "ok"
		if in.State != "running" {
			status = "not-applicable"
		}
		items = append(items, item(tx("instanceId", in.ID), tx("availabilityZone", in.AZ), stateNode("instanceState", in.State),
			el("systemStatus", tx("status", status), set("details", []node{item(tx("name", "reachability"), tx("status", "passed"))})),
			el("instanceStatus", tx("status", status), set("details", []node{item(tx("name", "reachability"), tx("status", "passed"))}))))
	}
	items, next, e := page(q, items)
	if e != nil {
		return nil, e
	}
	return append([]node{set("instanceStatusSet", items)}, next...), nil
}

// eachInstance authorizes action on every instance the request names.
func eachInstance(action string) func(c *Cloud, q query, _ Env) ([]Check, *apiErr) {
	return func(c *Cloud, q query, _ Env) ([]Check, *apiErr) {
		ids := q.list("InstanceId")
		if len(ids) == 0 {
			return nil, fail("MissingParameter", "The request must contain the parameter InstanceId")
		}
		ins, e := c.selectInstances(query{Values: map[string][]string{}, region: q.region})
		if e != nil {
			return nil, e
		}
		var out []Check
		for _, id := range ids {
			found := false
			for _, in := range ins {
				if in.ID == id {
					out, found = append(out, c.instanceCheck(action, in)), true
				}
			}
			if !found {
				out = append(out, c.on(action, q.region, "instance", id, nil))
			}
		}
		return out, nil
	}
}

func oneInstance(action string) func(c *Cloud, q query, env Env) ([]Check, *apiErr) {
	each := eachInstance(action)
	return func(c *Cloud, q query, env Env) ([]Check, *apiErr) {
		q2 := query{Values: map[string][]string{"InstanceId.1": {q.Get("InstanceId")}}, region: q.region}
		return each(c, q2, env)
	}
}

// changeInstances moves the named instances and answers with their
// current and previous states.
func (c *Cloud) changeInstances(q query, change func(in *Instance, at time.Time) *apiErr) ([]node, *apiErr) {
	ins, e := c.selectInstances(query{Values: map[string][]string{}, region: q.region})
	if e != nil {
		return nil, e
	}
	byID := map[string]*Instance{}
	for _, in := range ins {
		byID[in.ID] = in
	}
	ids := q.list("InstanceId")
	var missing []string
	for _, id := range ids {
		if byID[id] == nil {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return nil, notFound("InvalidInstanceID.NotFound", "instance ID", missing)
	}
	var items []node
	for _, id := range ids {
		in := byID[id]
		prev := in.State
		if e := change(in, c.now()); e != nil {
			return nil, e
		}
		items = append(items, item(tx("instanceId", id), stateNode("currentState", in.State), stateNode("previousState", prev)))
	}
	return []node{set("instancesSet", items)}, nil
}

func stopInstances(c *Cloud, q query, _ Env) ([]node, *apiErr) {
	return c.changeInstances(q, func(in *Instance, at time.Time) *apiErr {
		switch in.State {
		case "running", "pending":
			in.move("stopping", "stopped", at, c.delays.Stopping)
		case "stopping", "stopped":
		default:
			return fail("IncorrectInstanceState", "This instance '%s' is not in a state from which it can be stopped.", in.ID)
		}
		return nil
	})
}

func terminateInstances(c *Cloud, q query, _ Env) ([]node, *apiErr) {
	return c.changeInstances(q, func(in *Instance, at time.Time) *apiErr {
		if in.State != "shutting-down" && in.State != "terminated" {
			in.move("shutting-down", "terminated", at, c.delays.ShuttingDown)
		}
		return nil
	})
}

func modifyInstanceAttribute(c *Cloud, q query, _ Env) ([]node, *apiErr) {
	q2 := query{Values: map[string][]string{"InstanceId.1": {q.Get("InstanceId")}}, region: q.region}
	if _, e := c.selectInstances(q2); e != nil {
		return nil, e
	}
	return []node{bl("return", true)}, nil
}
