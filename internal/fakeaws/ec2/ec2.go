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

// writeError sends EC2's error document, which is not IAM's.
func writeError(w http.ResponseWriter, reqID string, e *apiErr) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>%s</Code><Message>", e.code)
	_ = xml.EscapeText(&b, []byte(e.message))
	fmt.Fprintf(&b, "</Message></Error></Errors><RequestID>%s</RequestID></Response>", reqID)
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.Header().Set("X-Amzn-Requestid", reqID)
	w.WriteHeader(e.status)
	_, _ = w.Write(b.Bytes())
}

// encodedMessage stands in for EC2's encrypted reason: opaque, URL-safe
// base64, about as long as EC2's.
func encodedMessage() string {
	buf := make([]byte, 720)
	_, _ = rand.Read(buf)
	return base64.RawURLEncoding.EncodeToString(buf)
}

// WriteError sends an error in EC2's document, for errors fakeaws
// injects.
func WriteError(w http.ResponseWriter, status int, code, message string) {
	writeError(w, uuid.NewString(), &apiErr{status: status, code: code, message: message})
}
