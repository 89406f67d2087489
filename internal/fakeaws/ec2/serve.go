package ec2

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// Check is one authorization EC2 makes for a call: an action on a
// resource ARN ("*" for calls without resource-level permissions) with
// the condition keys the request carries.
type Check struct {
	Action   string // "ec2:RunInstances", "iam:PassRole"
	Resource string
	Context  map[string][]string
}

// Env is what the rest of fakeaws provides a call.
type Env interface {
	// Caller is the signer's ARN; "" when the request is not authenticated.
	Caller() string
	// Authorize evaluates checks for the caller: the first one denied and
	// why ("because no identity-based policy allows …"), or nil.
	Authorize(checks []Check) (denied *Check, why string)
	// Profile resolves an instance profile's name or ARN to its ARN and
	// its role's ARN.
	Profile(nameOrARN string) (arn, roleARN string, ok bool)
}

// action is one EC2 API: what it authorizes and what it does.
type action struct {
	checks func(c *Cloud, q query, env Env) ([]Check, *apiErr)
	do     func(c *Cloud, q query, env Env) ([]node, *apiErr)
}

var actions map[string]action

func init() {
	actions = map[string]action{}
	for _, t := range []map[string]action{instanceActions, networkActions, storageActions} {
		for k, v := range t {
			actions[k] = v
		}
	}
}

// Region is the region of a request's SigV4 credential scope.
func Region(r *http.Request) string {
	auth := r.Header.Get("Authorization")
	if i := strings.Index(auth, "Credential="); i >= 0 {
		cred, _, _ := strings.Cut(auth[i+len("Credential="):], ",")
		if parts := strings.Split(strings.TrimSpace(cred), "/"); len(parts) == 5 {
			return parts[2]
		}
	}
	return "us-east-1"
}

// Serve answers one EC2 call and returns the status and error code sent.
func (c *Cloud) Serve(w http.ResponseWriter, r *http.Request, params url.Values, env Env) (status int, code string) {
	name := params.Get("Action")
	q := query{Values: params, region: Region(r)}
	body, e := c.call(name, q, env)
	reqID := uuid.NewString()
	if e != nil {
		writeError(w, reqID, e)
		return e.status, e.code
	}
	b := document(name, reqID, body)
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Header().Set("X-Amzn-Requestid", reqID)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	return http.StatusOK, ""
}

func (c *Cloud) call(name string, q query, env Env) ([]node, *apiErr) {
	switch {
	case name == "":
		return nil, fail("MissingAction", "The request must contain the parameter Action")
	case env.Caller() == "":
		return nil, &apiErr{status: 401, code: "AuthFailure", message: "AWS was not able to validate the provided access credentials"}
	}
	a, ok := actions[name]
	if !ok {
		return nil, fail("InvalidAction", "The action %s is not valid for this web service.", name)
	}
	if !knownRegion(q.region) {
		return nil, &apiErr{status: 401, code: "AuthFailure", message: "AWS was not able to validate the provided access credentials"}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refresh()
	c.region(q.region)
	checks := []Check{{Action: "ec2:" + name, Resource: "*"}}
	if a.checks != nil {
		var e *apiErr
		if checks, e = a.checks(c, q, env); e != nil {
			return nil, e
		}
	}
	for i := range checks {
		if checks[i].Context == nil {
			checks[i].Context = map[string][]string{}
		}
		checks[i].Context["aws:RequestedRegion"] = []string{q.region}
		checks[i].Context["ec2:Region"] = []string{q.region}
	}
	if d, why := env.Authorize(checks); d != nil {
		return nil, unauthorized(env.Caller(), d, why)
	}
	if q.Get("DryRun") == "true" {
		return nil, &apiErr{status: 412, code: "DryRunOperation", message: "Request would have succeeded, but DryRun flag is set."}
	}
	return a.do(c, q, env)
}

func knownRegion(r string) bool {
	for _, k := range Regions {
		if k == r {
			return true
		}
	}
	return false
}

// unauthorized is EC2's UnauthorizedOperation. Calls with resource-level
// permissions name the resource and carry an encoded message; Describe
// calls do neither.
func unauthorized(caller string, d *Check, why string) *apiErr {
	msg := "You are not authorized to perform this operation. User: " + caller + " is not authorized to perform: " + d.Action
	if d.Resource != "*" {
		msg += " on resource: " + d.Resource
	}
	msg += " " + why
	if !strings.HasPrefix(d.Action, "ec2:Describe") {
		msg += ". Encoded authorization failure message: " + encodedMessage()
	}
	return &apiErr{status: 403, code: "UnauthorizedOperation", message: msg}
}
