package fakeaws

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
)

// ec2Version is the API version every EC2 Query request carries.
const ec2Version = "2016-11-15"

// isEC2 tells an EC2 request from the IAM and STS ones that share the
// endpoint: by the service of its SigV4 credential scope, or its API
// version when unsigned.
func isEC2(r *http.Request, params url.Values) bool {
	if _, _, svc := credentialScope(r); svc != "" {
		return svc == "ec2"
	}
	return params.Get("Version") == ec2Version
}

// credentialScope reads "Credential=AKID/DATE/REGION/SERVICE/aws4_request"
// from the Authorization header.
func credentialScope(r *http.Request) (akid, region, service string) {
	auth := r.Header.Get("Authorization")
	i := strings.Index(auth, "Credential=")
	if i < 0 {
		return "", "", ""
	}
	cred := auth[i+len("Credential="):]
	if j := strings.IndexAny(cred, ", "); j >= 0 {
		cred = cred[:j]
	}
	parts := strings.Split(cred, "/")
	if len(parts) != 5 {
		return "", "", ""
	}
	return parts[0], parts[2], parts[3]
}

// serveEC2 answers EC2 as an account where the caller may do nothing in
// EC2: every action is refused with UnauthorizedOperation in EC2's own
// error document, which is not IAM's:
//
//	<Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>
//
// Actions with resource-level permissions carry an encoded authorization
// message, as EC2's do; Describe* calls do not. Calls are logged with
// Service "ec2".
func (s *Server) serveEC2(w http.ResponseWriter, r *http.Request, params url.Values) {
	reqID := uuid.NewString()
	action := params.Get("Action")
	c := Call{Action: action, Service: "ec2", AccessKeyID: accessKeyID(r), Start: time.Now(), Params: params}
	s.mu.Lock()
	s.started[action]++
	e := s.ec2Refusal(r, action, c.AccessKeyID)
	s.mu.Unlock()
	c.Status, c.ErrorCode, c.End = e.Status, e.Code, time.Now()
	s.mu.Lock()
	s.calls = append(s.calls, c)
	s.mu.Unlock()

	var b bytes.Buffer
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<Response><Errors><Error><Code>%s</Code><Message>`, e.Code)
	_ = xml.EscapeText(&b, []byte(e.Message))
	fmt.Fprintf(&b, `</Message></Error></Errors><RequestID>%s</RequestID></Response>`, reqID)
	w.Header().Set("X-Amzn-Requestid", reqID)
	writeXML(w, e.Status, b.Bytes())
}

// ec2Refusal is the error for one EC2 request; s.mu is held.
func (s *Server) ec2Refusal(r *http.Request, action, akid string) *apiError {
	switch {
	case action == "":
		return &apiError{Status: 400, Code: "MissingAction", Message: "The request must contain the parameter Action"}
	case akid == "":
		return &apiError{Status: 401, Code: "AuthFailure", Message: "AWS was not able to validate the provided access credentials"}
	}
	if e := s.authenticate(r, action, akid); e != nil {
		return &apiError{Status: 401, Code: "AuthFailure", Message: "AWS was not able to validate the provided access credentials"}
	}
	caller := s.adminARN()
	if sess, ok := s.sessions[akid]; ok {
		caller = s.assumedRoleARN(sess.roleName, sess.sessionName)
	}
	msg := fmt.Sprintf("You are not authorized to perform this operation. User: %s is not authorized to perform: ec2:%s because no identity-based policy allows the ec2:%s action", caller, action, action)
	if !strings.HasPrefix(action, "Describe") {
		msg += ". Encoded authorization failure message: " + encodedMessage()
	}
	return &apiError{Status: 403, Code: "UnauthorizedOperation", Message: msg}
}

// encodedMessage stands in for EC2's encrypted reason: opaque, URL-safe
// base64, about as long as EC2's.
func encodedMessage() string {
	buf := make([]byte, 720)
	_, _ = rand.Read(buf)
	return base64.RawURLEncoding.EncodeToString(buf)
}
