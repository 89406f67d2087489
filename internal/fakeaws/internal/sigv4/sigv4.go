// Package sigv4 checks AWS Signature Version 4 the way AWS does, written
// from the specification and independently of the SDK that signs, so that
// fakeaws catches anything between a client and itself that changed a
// signed header, the Host, the query or the body.
package sigv4

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// maxSignedBody bounds the body read to check a signature.
const maxSignedBody = 4 << 20

type payloadKey struct{}

// WithPayload reads the body once (at most 4 MiB), for the signature's
// payload hash, and leaves it in place for the handlers.
func WithPayload(r *http.Request) *http.Request {
	if r.Body == nil {
		return r
	}
	b, _ := io.ReadAll(io.LimitReader(r.Body, maxSignedBody))
	r.Body = io.NopCloser(bytes.NewReader(b))
	sum := sha256.Sum256(b)
	return r.WithContext(context.WithValue(r.Context(), payloadKey{}, hex.EncodeToString(sum[:])))
}

// Matches checks r's SigV4 Authorization header against secret. r must
// have passed through WithPayload unless it carries X-Amz-Content-Sha256.
func Matches(r *http.Request, secret string) bool {
	auth := r.Header.Get("Authorization")
	alg, rest, ok := strings.Cut(auth, " ")
	if !ok || alg != "AWS4-HMAC-SHA256" {
		return false
	}
	fields := map[string]string{}
	for _, f := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		fields[k] = v
	}
	scope := strings.SplitN(fields["Credential"], "/", 2)
	date := r.Header.Get("X-Amz-Date")
	if len(scope) != 2 || fields["SignedHeaders"] == "" || len(date) < 8 {
		return false
	}
	parts := strings.Split(scope[1], "/") // date, region, service, aws4_request
	if len(parts) != 4 || parts[0] != date[:8] {
		return false
	}
	payload := r.Header.Get("X-Amz-Content-Sha256")
	if payload == "" {
		payload, _ = r.Context().Value(payloadKey{}).(string)
	}
	canonical := strings.Join([]string{r.Method, canonicalPath(r.URL), canonicalQuery(r.URL.Query()),
		canonicalHeaders(r, fields["SignedHeaders"]), fields["SignedHeaders"], payload}, "\n")
	sum := sha256.Sum256([]byte(canonical))
	toSign := "AWS4-HMAC-SHA256\n" + date + "\n" + scope[1] + "\n" + hex.EncodeToString(sum[:])
	key := []byte("AWS4" + secret)
	for _, p := range parts {
		key = hmacSHA256(key, p)
	}
	want := hex.EncodeToString(hmacSHA256(key, toSign))
	return hmac.Equal([]byte(want), []byte(fields["Signature"]))
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

func canonicalPath(u *url.URL) string {
	if p := u.EscapedPath(); p != "" {
		return p
	}
	return "/"
}

func canonicalQuery(q url.Values) string {
	var pairs []string
	for k, vs := range q {
		for _, v := range vs {
			pairs = append(pairs, uriEncode(k)+"="+uriEncode(v))
		}
	}
	sort.Strings(pairs)
	return strings.Join(pairs, "&")
}

// uriEncode escapes all but SigV4's unreserved characters.
func uriEncode(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("-_.~", c) >= 0 {
			b.WriteByte(c)
		} else {
			b.WriteString("%" + strings.ToUpper(hex.EncodeToString([]byte{c})))
		}
	}
	return b.String()
}

func canonicalHeaders(r *http.Request, signed string) string {
	var b strings.Builder
	for _, h := range strings.Split(signed, ";") {
		var v string
		switch h {
		case "host":
			v = r.Host
		case "content-length":
			v = strconv.FormatInt(r.ContentLength, 10)
		default:
			vals := r.Header.Values(h)
			for i := range vals {
				vals[i] = strings.Join(strings.Fields(vals[i]), " ")
			}
			v = strings.Join(vals, ",")
		}
		b.WriteString(h + ":" + v + "\n")
	}
	return b.String()
}
