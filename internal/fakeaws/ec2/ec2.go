package ec2

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// Version is the API version every EC2 Query request carries.
const Version = "2016-11-15"

// Is tells an EC2 request from the IAM and STS ones that share fakeaws's
// endpoint: by the service of its SigV4 credential scope
// ("Credential=AKID/DATE/REGION/ec2/aws4_request"), or, unsigned, by its
// API version.
func Is(r *http.Request, params url.Values) bool {
	auth := r.Header.Get("Authorization")
	if i := strings.Index(auth, "Credential="); i >= 0 {
		cred, _, _ := strings.Cut(auth[i+len("Credential="):], ",")
		parts := strings.Split(strings.TrimSpace(cred), "/")
		return len(parts) == 5 && parts[3] == "ec2"
	}
	return params.Get("Version") == Version
}

// Refuse answers one EC2 call from caller (an ARN; "" when the request
// could not be authenticated) and returns what it sent, for the log.
// Actions with resource-level permissions carry an encoded authorization
// message, as EC2's do; Describe* calls do not.
func Refuse(w http.ResponseWriter, action, caller string) (status int, code string) {
	var msg string
	switch {
	case action == "":
		status, code, msg = 400, "MissingAction", "The request must contain the parameter Action"
	case caller == "":
		status, code, msg = 401, "AuthFailure", "AWS was not able to validate the provided access credentials"
	default:
		status, code = 403, "UnauthorizedOperation"
		msg = fmt.Sprintf("You are not authorized to perform this operation. User: %s is not authorized to perform: ec2:%s because no identity-based policy allows the ec2:%s action", caller, action, action)
		if !strings.HasPrefix(action, "Describe") {
			msg += ". Encoded authorization failure message: " + encodedMessage()
		}
	}
	reqID := uuid.NewString()
	var b bytes.Buffer
	fmt.Fprintf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>%s</Code><Message>", code)
	_ = xml.EscapeText(&b, []byte(msg))
	fmt.Fprintf(&b, "</Message></Error></Errors><RequestID>%s</RequestID></Response>", reqID)
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.Header().Set("X-Amzn-Requestid", reqID)
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
	return status, code
}

// encodedMessage stands in for EC2's encrypted reason: opaque, URL-safe
// base64, about as long as EC2's.
func encodedMessage() string {
	buf := make([]byte, 720)
	_, _ = rand.Read(buf)
	return base64.RawURLEncoding.EncodeToString(buf)
}
