package wiretap

import (
	"net/http"
	"strings"
	"testing"
)

// FuzzResponse: whatever a server answers and a client asks, reading the
// call and its error never panics, the code is a short token, and the
// message is bounded once recorded.
func FuzzResponse(f *testing.F) {
	f.Add("POST", "/", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0",
		"", "Action=RunInstances&Version=2016-11-15", 403, "", `<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>no</Message></Error></Errors></Response>`)
	f.Add("GET", "/b/k?uploadId=1", "AWS4-HMAC-SHA256 Credential=K/20260101/eu-west-1/s3/aws4_request", "", "", 404, "", `<Error><Code>NoSuchKey</Code></Error>`)
	f.Add("POST", "/", "AWS4-HMAC-SHA256 Credential=K/20260101/us-east-1/ssm/aws4_request", "AmazonSSM.GetParameter", "{}", 400,
		"AccessDeniedException:x", `{"__type":"a#AccessDeniedException","message":"m"}`)
	f.Fuzz(func(t *testing.T, method, path, auth, target, body string, status int, errType, respBody string) {
		r, err := http.NewRequest(method, "https://ec2.us-east-1.amazonaws.com"+path, strings.NewReader(body))
		if err != nil {
			return
		}
		r.Header.Set("Authorization", auth)
		r.Header.Set("X-Amz-Target", target)
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		id, ok := identify(r, []byte(body))
		if ok && (!apiRE.MatchString(id.api) || !serviceRE.MatchString(id.service)) {
			t.Fatalf("named %+v", id)
		}
		h := http.Header{}
		h.Set("X-Amzn-ErrorType", errType)
		code, msg := errorCode(h, status, []byte(respBody))
		if rec := (Record{Code: code, Message: cut(msg)}); len(rec.Message) > maxMessage {
			t.Fatalf("message of %d bytes", len(rec.Message))
		}
	})
}
