package wiretap

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/buildrole/buildrole/internal/awsfacts"
)

// maxPeek bounds what is read ahead of a request body (to find Action=)
// and kept of an error response (to find its code).
const maxPeek = 64 << 10

// ident is what a request says about the call it makes.
type ident struct {
	service, api, region string
	attempt, max         int
	invocation           string
}

// signingScope reads the region and service of SigV4's credential scope
// (KEY/DATE/REGION/SERVICE/aws4_request) from the Authorization header or a
// presigned URL's X-Amz-Credential; the key id is never kept.
func signingScope(h http.Header, q url.Values) (region, service string, ok bool) {
	cred := q.Get("X-Amz-Credential")
	if a := h.Get("Authorization"); strings.HasPrefix(a, "AWS4-") {
		_, rest, found := strings.Cut(a, "Credential=")
		if !found {
			return "", "", false
		}
		cred, _, _ = strings.Cut(rest, ",")
	}
	parts := strings.Split(strings.TrimSpace(cred), "/")
	if len(parts) != 5 || parts[4] != "aws4_request" {
		return "", "", false
	}
	return parts[2], parts[3], parts[3] != ""
}

// signingToIAM maps the signing names whose IAM prefix differs.
var signingToIAM = map[string]string{"monitoring": "cloudwatch", "email": "ses"}

var (
	apiRE       = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]{0,127}$`)
	serviceRE   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	sdkRequest  = regexp.MustCompile(`attempt=(\d+)(?:;\s*max=(\d+))?`)
	invocation  = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)
	actionInURL = regexp.MustCompile(`(?:^|&)Action=([A-Za-z0-9]+)(?:&|$)`)
)

// identify names the call a signed request makes; ok is false for a
// request that is no signed AWS API call, or one it cannot name. body is
// what was read ahead of a form body (may be cut).
func identify(r *http.Request, body []byte) (ident, bool) {
	region, service, ok := signingScope(r.Header, r.URL.Query())
	if !ok || !serviceRE.MatchString(service) {
		return ident{}, false
	}
	if p, ok := signingToIAM[service]; ok {
		service = p
	}
	id := ident{service: service}
	if awsfacts.IsRegion(region) {
		id.region = region
	}
	if m := sdkRequest.FindStringSubmatch(r.Header.Get("Amz-Sdk-Request")); m != nil {
		id.attempt, _ = strconv.Atoi(m[1])
		id.max, _ = strconv.Atoi(m[2])
	}
	if v := r.Header.Get("Amz-Sdk-Invocation-Id"); invocation.MatchString(v) {
		id.invocation = v
	}
	switch {
	case r.Header.Get("X-Amz-Target") != "":
		t := r.Header.Get("X-Amz-Target")
		id.api = t[strings.LastIndex(t, ".")+1:]
	case r.URL.Query().Get("Action") != "":
		id.api = r.URL.Query().Get("Action")
	case strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded"):
		if m := actionInURL.FindSubmatch(body); m != nil {
			id.api = string(m[1])
		}
	case service == "s3":
		id.api = s3API(r)
	}
	return id, apiRE.MatchString(id.api)
}

// s3API names an S3 REST request by method, path and query: the
// operations an image build or its provisioners make, else "".
func s3API(r *http.Request) string {
	q := r.URL.Query()
	has := func(k string) bool { _, ok := q[k]; return ok }
	bucket, key := s3Path(r)
	switch {
	case bucket == "":
		return map[string]string{"GET": "ListBuckets"}[r.Method]
	case key == "":
		for _, sub := range []struct{ q, get, put, del string }{
			{"location", "GetBucketLocation", "", ""}, {"acl", "GetBucketAcl", "PutBucketAcl", ""},
			{"policy", "GetBucketPolicy", "PutBucketPolicy", "DeleteBucketPolicy"},
			{"versioning", "GetBucketVersioning", "PutBucketVersioning", ""},
			{"tagging", "GetBucketTagging", "PutBucketTagging", "DeleteBucketTagging"},
			{"uploads", "ListMultipartUploads", "", ""}, {"versions", "ListObjectVersions", "", ""},
		} {
			if has(sub.q) {
				return map[string]string{"GET": sub.get, "PUT": sub.put, "DELETE": sub.del}[r.Method]
			}
		}
		if r.Method == "POST" && has("delete") {
			return "DeleteObjects"
		}
		if r.Method == "GET" && q.Get("list-type") == "2" {
			return "ListObjectsV2"
		}
		return map[string]string{"GET": "ListObjects", "HEAD": "HeadBucket", "PUT": "CreateBucket", "DELETE": "DeleteBucket"}[r.Method]
	}
	switch {
	case has("uploadId"):
		return map[string]string{"PUT": "UploadPart", "POST": "CompleteMultipartUpload", "DELETE": "AbortMultipartUpload", "GET": "ListParts"}[r.Method]
	case has("uploads") && r.Method == "POST":
		return "CreateMultipartUpload"
	case has("tagging"):
		return map[string]string{"GET": "GetObjectTagging", "PUT": "PutObjectTagging", "DELETE": "DeleteObjectTagging"}[r.Method]
	case has("acl"):
		return map[string]string{"GET": "GetObjectAcl", "PUT": "PutObjectAcl"}[r.Method]
	case r.Method == "PUT" && r.Header.Get("X-Amz-Copy-Source") != "":
		return "CopyObject"
	}
	return map[string]string{"GET": "GetObject", "HEAD": "HeadObject", "PUT": "PutObject", "DELETE": "DeleteObject"}[r.Method]
}

// s3Path splits a request into bucket and key, path-style or
// virtual-hosted (BUCKET.s3.REGION.amazonaws.com).
func s3Path(r *http.Request) (bucket, key string) {
	host := r.Host
	if h, _, err := splitHostPort(host); err == nil {
		host = h
	}
	p := strings.TrimPrefix(r.URL.Path, "/")
	if i := strings.Index(host, ".s3."); i > 0 {
		return host[:i], p
	}
	if i := strings.Index(host, ".s3-"); i > 0 {
		return host[:i], p
	}
	bucket, key, _ = strings.Cut(p, "/")
	return bucket, key
}

// errorCode reads AWS's error code and message from a response: the
// X-Amzn-ErrorType header, a JSON __type/code, or an XML <Code>; a body
// without one (HEAD) falls back on the status, as the SDKs do.
func errorCode(h http.Header, status int, body []byte) (code, msg string) {
	if t := h.Get("X-Amzn-ErrorType"); t != "" {
		code, _, _ = strings.Cut(t, ":")
	}
	body = bytes.TrimSpace(body)
	switch {
	case len(body) > 0 && body[0] == '{':
		var j struct {
			Type     string `json:"__type"`
			Code     string `json:"code"`
			CodeU    string `json:"Code"`
			Message  string `json:"message"`
			MessageU string `json:"Message"`
		}
		_ = json.Unmarshal(body, &j)
		if code == "" {
			code = firstOf(j.Type, j.Code, j.CodeU)
			code = code[strings.LastIndex(code, "#")+1:]
		}
		msg = firstOf(j.Message, j.MessageU)
	case len(body) > 0 && body[0] == '<':
		c, m := xmlError(body)
		if code == "" {
			code = c
		}
		msg = m
	}
	if code == "" {
		code = strings.ReplaceAll(http.StatusText(status), " ", "")
	}
	return code, msg
}

// xmlError is the first Code and Message of an XML error document, at any
// depth (EC2's Response/Errors/Error, the query APIs' ErrorResponse/Error,
// S3's Error).
func xmlError(body []byte) (code, msg string) {
	d := xml.NewDecoder(bytes.NewReader(body))
	var in string
	for {
		tok, err := d.Token()
		if err != nil {
			return code, msg
		}
		switch t := tok.(type) {
		case xml.StartElement:
			in = t.Name.Local
		case xml.EndElement:
			in = ""
		case xml.CharData:
			switch {
			case in == "Code" && code == "":
				code = strings.TrimSpace(string(t))
			case in == "Message" && msg == "":
				msg = strings.TrimSpace(string(t))
			}
		}
		if code != "" && msg != "" {
			return code, msg
		}
	}
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
