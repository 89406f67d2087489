package fakeaws

import (
	"fmt"
	"strings"

	"github.com/buildrole/buildrole/internal/fakeaws/authz"
)

// managedPolicy is a customer managed policy (a permissions boundary, or a
// policy attached to a role).
type managedPolicy struct {
	name, path, arn, doc string
}

// AddManagedPolicy seeds a customer managed policy and returns its ARN,
// e.g. the permissions boundary `buildrole bootstrap` prints.
func (s *Server) AddManagedPolicy(name, path, doc string) (arn string) {
	s.setDefaults()
	s.mu.Lock()
	defer s.mu.Unlock()
	if path == "" {
		path = "/"
	}
	p := &managedPolicy{name: name, path: path, arn: fmt.Sprintf("arn:%s:iam::%s:policy%s%s", s.Partition, s.AccountID, path, name), doc: doc}
	s.policies[p.arn] = p
	return p.arn
}

// authorize decides a signed call for its caller as IAM does: a session of
// a role this server knows is held to the role's inline and attached
// policies and its permissions boundary; any other signer is the account's
// administrator. It runs with s.mu held.
func (s *Server) authorize(rc *reqCtx) *apiError {
	sess := s.sessions[rc.akid]
	if rc.action == "AssumeRoleWithWebIdentity" || rc.action == "GetCallerIdentity" {
		return nil
	}
	if u := s.users[rc.akid]; u != nil {
		for _, c := range authz.Checks(rc.action, rc.params, directory{s}) {
			if d, why := s.evaluate(u.identity(s), c); d != authz.Allowed {
				return newErr("AccessDenied", "User: %s is not authorized to perform: %s on resource: %s %s", u.arn(s), c.Action, c.Label, why)
			}
		}
		return nil
	}
	if sess == nil {
		return nil
	}
	id, ok := s.roleIdentity(sess)
	if !ok {
		// The role was deleted: its sessions keep no permissions.
		return s.denied(sess, authz.Check{Action: "iam:" + rc.action, Label: "*"}, "because the role no longer exists")
	}
	for _, c := range authz.Checks(rc.action, rc.params, directory{s}) {
		if rc.action == "AssumeRole" {
			if e := s.authorizeAssume(sess, c, id.policies, id.boundary, id.context(c)); e != nil {
				return e
			}
			continue
		}
		if d, why := s.evaluate(id, c); d != authz.Allowed {
			return s.denied(sess, c, why)
		}
	}
	return nil
}

// identity is a caller's policies and the request context its
// principal gives every call.
type identity struct {
	policies  []*authz.Policy
	boundary  *authz.Policy
	principal map[string][]string
}

// context is the principal's keys with the check's own on top.
func (id identity) context(c authz.Check) map[string][]string {
	ctx := map[string][]string{}
	for k, v := range id.principal {
		ctx[k] = v
	}
	for k, v := range c.Context {
		ctx[strings.ToLower(k)] = v
	}
	return ctx
}

func (s *Server) evaluate(id identity, c authz.Check) (authz.Decision, string) {
	return authz.Identity(authz.Request{Action: c.Action, Resource: c.Resource, Context: id.context(c)}, id.policies, id.boundary)
}

// roleIdentity is what holds a session: its role's inline and attached
// policies and boundary; false when the role is gone.
func (s *Server) roleIdentity(sess *session) (identity, bool) {
	r := s.roles[strings.ToLower(sess.roleName)]
	if r == nil || r.arn != sess.roleARN {
		return identity{}, false
	}
	var id identity
	for _, ip := range r.inline {
		if p, bad := authz.Parse(ip.doc); bad == nil {
			id.policies = append(id.policies, p)
		}
	}
	for _, arn := range r.attached {
		if mp := s.policies[arn]; mp != nil {
			if p, bad := authz.Parse(mp.doc); bad == nil {
				id.policies = append(id.policies, p)
			}
		}
	}
	if r.boundary != "" {
		// A boundary that cannot be read allows nothing.
		id.boundary = &authz.Policy{}
		if mp := s.policies[r.boundary]; mp != nil {
			if p, bad := authz.Parse(mp.doc); bad == nil {
				id.boundary = p
			}
		}
	}
	id.principal = map[string][]string{
		"aws:principalarn":     {r.arn},
		"aws:principalaccount": {s.AccountID},
		"aws:principaltype":    {"AssumedRole"},
		"aws:userid":           {sess.roleID + ":" + sess.sessionName},
		"aws:requestedregion":  {s.iamRegion()},
	}
	for _, t := range r.tags {
		id.principal["aws:principaltag/"+strings.ToLower(t.Key)] = []string{t.Value}
	}
	return id, true
}

// authorizeAssume: within one account a trust policy that names the
// caller's session itself grants on its own; one that names the role or
// the account needs the caller's identity policies to allow too. An
// explicit Deny refuses either way. The trust policy is evaluated by the
// handler.
func (s *Server) authorizeAssume(sess *session, c authz.Check, policies []*authz.Policy, boundary *authz.Policy, ctx map[string][]string) *apiError {
	d, why := authz.Identity(authz.Request{Action: c.Action, Resource: c.Resource, Context: ctx}, policies, boundary)
	if d == authz.ExplicitDeny {
		return s.denied(sess, c, why)
	}
	if d == authz.Allowed {
		return nil
	}
	if target := s.roleByARNAny(c.Resource); target != nil {
		if trust, bad := authz.Parse(target.trust); bad == nil && trust.Allows(authz.Request{
			Action: "sts:AssumeRole", PrincipalType: "AWS", Principals: []string{s.assumedRoleARN(sess.roleName, sess.sessionName)}, Context: ctx,
		}) {
			return nil
		}
	}
	return s.denied(sess, c, why)
}

func (s *Server) roleByARNAny(arn string) *role {
	r := s.roles[strings.ToLower(arn[strings.LastIndex(arn, "/")+1:])]
	if r == nil || r.arn != arn {
		return nil
	}
	return r
}

// denied is IAM's AccessDenied, naming the caller, action and resource.
func (s *Server) denied(sess *session, c authz.Check, why string) *apiError {
	return newErr("AccessDenied", "User: %s is not authorized to perform: %s on resource: %s %s",
		s.assumedRoleARN(sess.roleName, sess.sessionName), c.Action, c.Label, why)
}

// iamRegion is the region IAM's global endpoint signs with.
func (s *Server) iamRegion() string {
	switch s.Partition {
	case "aws-cn":
		return "cn-north-1"
	case "aws-us-gov":
		return "us-gov-west-1"
	}
	return "us-east-1"
}

// directory shows authorization the account; s.mu is held.
type directory struct{ s *Server }

func (d directory) Partition() string { return d.s.Partition }
func (d directory) Account() string   { return d.s.AccountID }

func (d directory) Role(name string) (authz.Entity, bool) {
	r := d.s.roles[strings.ToLower(name)]
	if r == nil || d.s.lagging(r.created, d.s.now()) {
		return authz.Entity{}, false
	}
	return authz.Entity{ARN: r.arn, Tags: pairs(r.tags), Boundary: r.boundary}, true
}

func (d directory) Profile(name string) (authz.Entity, bool) {
	p := d.s.profiles[strings.ToLower(name)]
	if p == nil || d.s.lagging(p.created, d.s.now()) {
		return authz.Entity{}, false
	}
	return authz.Entity{ARN: p.arn, Tags: pairs(p.tags)}, true
}

func pairs(tags []resourceTag) [][2]string {
	out := make([][2]string, len(tags))
	for i, t := range tags {
		out[i] = [2]string{t.Key, t.Value}
	}
	return out
}
