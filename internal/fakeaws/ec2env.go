package fakeaws

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/buildrole/buildrole/internal/fakeaws/authz"
	"github.com/buildrole/buildrole/internal/fakeaws/ec2"
)

// user is an IAM user whose static key signs calls, held to one policy.
type user struct {
	name, policy string
}

func (u *user) arn(s *Server) string {
	return fmt.Sprintf("arn:%s:iam::%s:user/%s", s.Partition, s.AccountID, u.name)
}

func (u *user) identity(s *Server) identity {
	id := identity{principal: map[string][]string{
		"aws:principalarn": {u.arn(s)}, "aws:principalaccount": {s.AccountID}, "aws:principaltype": {"User"},
		"aws:requestedregion": {s.iamRegion()},
	}}
	if p, bad := authz.Parse(u.policy); bad == nil && u.policy != "" {
		id.policies = append(id.policies, p)
	}
	return id
}

// AddUser makes calls signed with accessKeyID those of IAM user name,
// allowed only what policy (a JSON document; "" for none) allows, in IAM
// and EC2 alike. Any other static key is the account's administrator.
func (s *Server) AddUser(accessKeyID, name, policy string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[accessKeyID] = &user{name: name, policy: policy}
}

// EC2 is the account's EC2: knobs, seeds and inspection for tests.
func (s *Server) EC2() *ec2.Cloud {
	s.setDefaults()
	s.ec2Once.Do(func() { s.ec2 = ec2.New(s.AccountID, s.Partition, s.now) })
	return s.ec2
}

// serveEC2 has package ec2 answer an EC2 call as its caller, after the
// latency and faults the test set, and logs it.
func (s *Server) serveEC2(w http.ResponseWriter, r *http.Request, params url.Values) {
	c := Call{Action: params.Get("Action"), Service: "ec2", AccessKeyID: accessKeyID(r), Start: time.Now(), Params: params}
	defer s.track(&c)()
	if !s.sleep(r.Context(), s.latencyFor(c.Action)) {
		c.ErrorCode = "RequestCanceled"
		abort(w)
		return
	}
	env, authErr := s.ec2Caller(r, c.AccessKeyID, c.Action)
	if authErr != nil && authErr.Code == "ExpiredToken" {
		// EC2 names expired credentials its own way.
		c.Status, c.ErrorCode = 400, "RequestExpired"
		ec2.WriteError(w, c.Status, c.ErrorCode, "Request has expired.")
	} else if fault := s.matchFault(c.Action); fault != nil {
		s.sendFault(w, fault, &c, func(e *apiError) { ec2.WriteError(w, e.Status, e.Code, e.Message) })
	} else {
		c.Status, c.ErrorCode = s.EC2().Serve(w, r, params, env)
	}
}

// ec2Caller is who signed an EC2 call, and why it could not be
// authenticated, if so.
func (s *Server) ec2Caller(r *http.Request, akid, action string) (*ec2Env, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	env := &ec2Env{s: s, caller: s.adminARN()}
	if sess, ok := s.sessions[akid]; ok {
		env.caller, env.sess = s.assumedRoleARN(sess.roleName, sess.sessionName), sess
	} else if u := s.users[akid]; u != nil {
		env.caller, env.user = u.arn(s), u
	}
	authErr := s.authenticate(r, action, akid)
	if akid == "" || authErr != nil {
		env.caller = ""
	}
	return env, authErr
}

// ec2Env is fakeaws as package ec2 sees it for one call.
type ec2Env struct {
	s      *Server
	caller string
	sess   *session
	user   *user
}

func (e *ec2Env) Caller() string { return e.caller }

// Authorize holds a role's session to its policies and a user to its
// own; anyone else is the administrator.
func (e *ec2Env) Authorize(checks []ec2.Check) (*ec2.Check, string) {
	e.s.mu.Lock()
	defer e.s.mu.Unlock()
	var id identity
	switch {
	case e.user != nil:
		id = e.user.identity(e.s)
	case e.sess != nil:
		var ok bool
		if id, ok = e.s.roleIdentity(e.sess); !ok {
			return &checks[0], "because the role no longer exists"
		}
	default:
		return nil, ""
	}
	for i, c := range checks {
		if d, why := e.s.evaluate(id, authz.Check{Action: c.Action, Resource: c.Resource, Context: c.Context}); d != authz.Allowed {
			return &checks[i], why
		}
	}
	return nil, ""
}

// Profile finds an instance profile by name or ARN, and its role; EC2
// does not see one IAM has not propagated yet (SetPropagationDelay).
func (e *ec2Env) Profile(nameOrARN string) (arn, roleARN string, ok bool) {
	e.s.mu.Lock()
	defer e.s.mu.Unlock()
	name := nameOrARN[strings.LastIndex(nameOrARN, "/")+1:]
	p := e.s.profiles[strings.ToLower(name)]
	if p == nil || (strings.HasPrefix(nameOrARN, "arn:") && p.arn != nameOrARN) ||
		!e.s.propagated(p.created, e.s.now()) || e.s.lagging(p.created, e.s.now()) {
		return "", "", false
	}
	if len(p.roles) > 0 {
		if r := e.s.roles[strings.ToLower(p.roles[0])]; r != nil {
			roleARN = r.arn
		}
	}
	return p.arn, roleARN, true
}

// EC2 resources as tests see them (package ec2's types).
type (
	EC2Image         = ec2.Image
	EC2Instance      = ec2.Instance
	EC2SecurityGroup = ec2.SecurityGroup
	EC2KeyPair       = ec2.KeyPair
	EC2Volume        = ec2.Volume
	EC2Snapshot      = ec2.Snapshot
	EC2Delays        = ec2.Delays
)
