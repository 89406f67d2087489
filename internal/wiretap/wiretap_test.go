package wiretap

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

const (
	testKey    = "AKIAIOSFODNN7EXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// verifySigV4 signs the request again, as AWS does, from what arrived:
// any header or Host the proxy changed breaks the signature.
func verifySigV4(r *http.Request, body []byte) error {
	auth := r.Header.Get("Authorization")
	_, rest, _ := strings.Cut(auth, "Credential=")
	cred, rest, _ := strings.Cut(rest, ",")
	scope := strings.Split(cred, "/")
	_, signed, _ := strings.Cut(rest, "SignedHeaders=")
	signed, _, _ = strings.Cut(signed, ",")
	if len(scope) != 5 {
		return fmt.Errorf("no SigV4 scope in %q", auth)
	}
	t, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return err
	}
	again := r.Clone(context.Background())
	again.URL = &url.URL{Scheme: "https", Host: r.Host, Path: r.URL.Path, RawQuery: r.URL.RawQuery}
	again.Header = http.Header{}
	for _, h := range strings.Split(signed, ";") {
		if v, ok := r.Header[http.CanonicalHeaderKey(h)]; ok {
			again.Header[http.CanonicalHeaderKey(h)] = v
		}
	}
	sum := sha256.Sum256(body)
	err = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: testKey, SecretAccessKey: testSecret},
		again, hex.EncodeToString(sum[:]), scope[3], scope[2], t)
	if err != nil {
		return err
	}
	if again.Header.Get("Authorization") != auth {
		return errors.New("SignatureDoesNotMatch")
	}
	return nil
}

// fakeAWS is a TLS server answering as AWS for any host, with a
// certificate from its own authority (PEM returned for the upstream).
func fakeAWS(t *testing.T, h http.HandlerFunc) (*httptest.Server, []byte) {
	t.Helper()
	ca, err := newAuthority(time.Now(), time.Hour, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	ip, err := ca.leaf("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{*ip}, GetCertificate: func(hi *tls.ClientHelloInfo) (*tls.Certificate, error) {
		return ca.leaf(firstOf(hi.ServerName, "127.0.0.1"))
	}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, ca.PEM()
}

type sink struct {
	mu   sync.Mutex
	recs []Record
}

func (s *sink) add(r Record) { s.mu.Lock(); s.recs = append(s.recs, r); s.mu.Unlock() }

func (s *sink) all() []Record { s.mu.Lock(); defer s.mu.Unlock(); return slices.Clone(s.recs) }

func startProxy(t *testing.T, o Options) (*Proxy, *sink) {
	t.Helper()
	s := &sink{}
	o.Sink, o.Dir = s.add, t.TempDir()
	p, err := Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, s
}

// clientOf is an HTTP client as a command under exec has one: the proxy
// from HTTPS_PROXY, roots from AWS_CA_BUNDLE only (as the SDKs load it).
func clientOf(t *testing.T, p *Proxy) *http.Client {
	t.Helper()
	b, err := os.ReadFile(caFile(p))
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(caFile(p)); st.Mode().Perm() != 0o600 {
		t.Errorf("CA file mode %v, want 0600", st.Mode().Perm())
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(b)
	u, _ := url.Parse(p.URL())
	return &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(u), TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

func awsConfig(hc *http.Client) aws.Config {
	return aws.Config{Region: "us-east-1", HTTPClient: hc, Credentials: credentials.NewStaticCredentialsProvider(testKey, testSecret, "")}
}

// The real SDK v2 through the proxy to an endpoint: each request arrives
// with its Host and a signature that verifies; successes, refusals and a
// throttled attempt retried are recorded from the responses.
func TestSDKCallsRecordedAndForwardedUnchanged(t *testing.T) {
	var mu sync.Mutex
	var hosts []string
	throttled := map[string]bool{}
	srv, pem := fakeAWS(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		hosts = append(hosts, r.Host)
		first := !throttled[r.Header.Get("Amz-Sdk-Invocation-Id")]
		throttled[r.Header.Get("Amz-Sdk-Invocation-Id")] = true
		mu.Unlock()
		if err := verifySigV4(r, body); err != nil {
			w.WriteHeader(403)
			fmt.Fprintf(w, `<ErrorResponse><Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code><Message>%s</Message></Error></ErrorResponse>`, err)
			return
		}
		switch {
		case strings.Contains(string(body), "Action=GetCallerIdentity") && first:
			w.WriteHeader(400)
			io.WriteString(w, `<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>`)
		case strings.Contains(string(body), "Action=GetCallerIdentity"):
			io.WriteString(w, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/x</Arn><UserId>AIDA</UserId><Account>123456789012</Account></GetCallerIdentityResult></GetCallerIdentityResponse>`)
		default:
			w.WriteHeader(403)
			io.WriteString(w, `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:iam::123456789012:user/x is not authorized to perform: iam:GetRole on resource: role r</Message></Error></ErrorResponse>`)
		}
	})
	p, s := startProxy(t, Options{Endpoint: &url.URL{Scheme: "https", Host: srv.Listener.Addr().String()}, Upstream: Upstream{CABundle: pem}})
	cfg := awsConfig(clientOf(t, p))
	ctx := context.Background()
	if _, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, nil); err != nil {
		t.Fatal(err, s.all())
	}
	_, err := iam.NewFromConfig(cfg).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("r")})
	if err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Fatalf("GetRole: %v", err)
	}
	st := p.Close()
	want := []Record{
		{Service: "sts", API: "GetCallerIdentity", Region: "us-east-1", Status: 400, Code: "Throttling", Message: "Rate exceeded", Attempt: 1},
		{Service: "sts", API: "GetCallerIdentity", Region: "us-east-1", Status: 200, Attempt: 2, Final: true},
		{Service: "iam", API: "GetRole", Region: "us-east-1", Status: 403, Code: "AccessDenied",
			Message: "User: arn:aws:iam::123456789012:user/x is not authorized to perform: iam:GetRole on resource: role r", Attempt: 1, Final: true},
	}
	if got := s.all(); !slices.Equal(got, want) {
		t.Errorf("records\n%+v\nwant\n%+v", got, want)
	}
	if !slices.Equal(hosts, []string{"sts.us-east-1.amazonaws.com", "sts.us-east-1.amazonaws.com", "iam.amazonaws.com"}) {
		t.Errorf("hosts at the endpoint %v", hosts)
	}
	if st.Intercepted < 2 || st.Requests != 3 || st.Unnamed != 0 || st.Tunnelled != 0 {
		t.Errorf("stats %+v", st)
	}
	if _, err := os.Stat(caFile(p)); !os.IsNotExist(err) {
		t.Errorf("CA file left behind: %v", err)
	}
}

// A host that is not AWS's is tunnelled: the client sees the server's own
// certificate, so nothing between them read or changed a byte.
func TestOtherHostsTunnelled(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "plugin bytes") }))
	t.Cleanup(srv.Close)
	p, s := startProxy(t, Options{})
	u, _ := url.Parse(p.URL())
	tr := srv.Client().Transport.(*http.Transport).Clone()
	tr.Proxy = http.ProxyURL(u)
	// Go never proxies loopback: ask for it by name through a resolver-free host.
	req, _ := http.NewRequest("GET", srv.URL, nil)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "CONNECT %s HTTP/1.1\r\nHost: %s\r\nProxy-Authorization: %s\r\n\r\n", srv.Listener.Addr(), srv.Listener.Addr(), proxyAuth(p))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("CONNECT: %v %v", resp, err)
	}
	tc := tls.Client(&bufConn{Conn: conn, r: br}, &tls.Config{RootCAs: tr.TLSClientConfig.RootCAs, ServerName: "example.com"})
	if err := req.Write(tc); err != nil {
		t.Fatal(err)
	}
	resp, err = http.ReadResponse(bufio.NewReader(tc), req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if string(b) != "plugin bytes" {
		t.Errorf("body %q", b)
	}
	tc.Close()
	st := p.Close()
	if st.Tunnelled != 1 || st.Intercepted != 0 || len(s.all()) != 0 || !slices.Equal(st.Hosts, []string{"127.0.0.1"}) {
		t.Errorf("stats %+v, records %v", st, s.all())
	}
}

// connectProxy is a user's corporate proxy: it logs each CONNECT and
// joins it to dest whatever host was asked.
func connectProxy(t *testing.T, dest string) (string, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.Host)
		mu.Unlock()
		up, err := net.Dial("tcp", dest)
		if err != nil {
			w.WriteHeader(502)
			return
		}
		c, brw, _ := w.(http.Hijacker).Hijack()
		io.WriteString(c, "HTTP/1.1 200 OK\r\n\r\n")
		go func() { io.Copy(up, brw); up.Close() }()
		io.Copy(c, up)
		c.Close()
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() []string { mu.Lock(); defer mu.Unlock(); return slices.Clone(seen) }
}

// Behind a corporate proxy: exec's proxy chains to it for AWS and for
// tunnels, trusts the user's bundle upstream, and sends NO_PROXY hosts
// direct.
func TestChainsToTheUsersProxy(t *testing.T) {
	srv, pem := fakeAWS(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `<GetCallerIdentityResponse><GetCallerIdentityResult><Account>123456789012</Account></GetCallerIdentityResult></GetCallerIdentityResponse>`)
	})
	corp, seen := connectProxy(t, srv.Listener.Addr().String())
	p, s := startProxy(t, Options{Upstream: Upstream{HTTPSProxy: corp, NoProxy: "internal.example", CABundle: pem}})
	if _, err := sts.NewFromConfig(awsConfig(clientOf(t, p))).GetCallerIdentity(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	p.Close()
	if got := seen(); !slices.Equal(got, []string{"CONNECT sts.us-east-1.amazonaws.com:443"}) {
		t.Errorf("the user's proxy saw %v", got)
	}
	if r := s.all(); len(r) != 1 || r[0].API != "GetCallerIdentity" || r[0].Status != 200 {
		t.Errorf("records %+v", r)
	}
	u := Upstream{HTTPSProxy: corp, NoProxy: "internal.example, .corp.example,10.0.0.0/8"}
	for host, direct := range map[string]bool{"sts.amazonaws.com:443": false, "internal.example:443": true, "a.corp.example:443": true,
		"10.1.2.3:443": true, "127.0.0.1:9": true, "corp.example.org:443": false} {
		if got, _ := u.proxyFor("https", host); (got == nil) != direct {
			t.Errorf("%s: proxy %v, want direct %v", host, got, direct)
		}
	}
}

// Without an upstream the proxy never trusts what it cannot verify: an
// endpoint with an unknown certificate is a 502, not a silent success.
func TestUpstreamVerified(t *testing.T) {
	srv, _ := fakeAWS(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<x/>") })
	p, s := startProxy(t, Options{Endpoint: &url.URL{Scheme: "https", Host: srv.Listener.Addr().String()}})
	cfg := awsConfig(clientOf(t, p))
	cfg.RetryMaxAttempts = 1
	if _, err := sts.NewFromConfig(cfg).GetCallerIdentity(context.Background(), nil); err == nil {
		t.Fatal("an unverified upstream answered")
	}
	st := p.Close()
	if r := s.all(); st.Failed != 1 || len(r) != 1 || r[0].Code != "ProxyUpstreamError" || !r[0].Final {
		t.Errorf("stats %+v records %+v", st, r)
	} else {
		t.Log(r[0].Message)
	}
}

func TestErrorCode(t *testing.T) {
	for _, c := range []struct {
		name, header, body string
		status             int
		code, msg          string
	}{
		{"ec2", "", `<?xml version="1.0"?><Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized.</Message></Error></Errors><RequestID>x</RequestID></Response>`, 403, "UnauthorizedOperation", "You are not authorized."},
		{"s3", "", `<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`, 403, "AccessDenied", "Access Denied"},
		{"json", "", `{"__type":"com.amazonaws.ssm#AccessDeniedException","message":"no"}`, 400, "AccessDeniedException", "no"},
		{"header", "AccessDeniedException:http://internal.amazon.com/coral/", `{"Message":"nope"}`, 403, "AccessDeniedException", "nope"},
		{"head", "", ``, 403, "Forbidden", ""},
	} {
		h := http.Header{}
		if c.header != "" {
			h.Set("X-Amzn-ErrorType", c.header)
		}
		if code, msg := errorCode(h, c.status, []byte(c.body)); code != c.code || msg != c.msg {
			t.Errorf("%s: %q %q", c.name, code, msg)
		}
	}
}

func TestIdentify(t *testing.T) {
	auth := "AWS4-HMAC-SHA256 Credential=" + testKey + "/20260101/eu-west-1/%s/aws4_request, SignedHeaders=host, Signature=00"
	for _, c := range []struct {
		method, url, service, target, want string
		header                             map[string]string
	}{
		{"GET", "https://b.s3.eu-west-1.amazonaws.com/k/ey", "s3", "", "GetObject", nil},
		{"HEAD", "https://s3.eu-west-1.amazonaws.com/b", "s3", "", "HeadBucket", nil},
		{"GET", "https://s3.eu-west-1.amazonaws.com/b?list-type=2", "s3", "", "ListObjectsV2", nil},
		{"PUT", "https://b.s3.eu-west-1.amazonaws.com/k?partNumber=1&uploadId=u", "s3", "", "UploadPart", nil},
		{"PUT", "https://b.s3.eu-west-1.amazonaws.com/k", "s3", "", "CopyObject", map[string]string{"X-Amz-Copy-Source": "/a/b"}},
		{"POST", "https://ssm.eu-west-1.amazonaws.com/", "ssm", "AmazonSSM.GetParameter", "GetParameter", nil},
		{"GET", "https://ec2.eu-west-1.amazonaws.com/?Action=DescribeImages&Version=2016-11-15", "ec2", "", "DescribeImages", nil},
	} {
		r := httptest.NewRequest(c.method, c.url, nil)
		r.Header.Set("Authorization", fmt.Sprintf(auth, c.service))
		if c.target != "" {
			r.Header.Set("X-Amz-Target", c.target)
		}
		for k, v := range c.header {
			r.Header.Set(k, v)
		}
		id, ok := identify(r, nil)
		if !ok || id.api != c.want || id.service != c.service || id.region != "eu-west-1" {
			t.Errorf("%s %s: %+v %v", c.method, c.url, id, ok)
		}
	}
	r := httptest.NewRequest("POST", "https://ec2.us-east-1.amazonaws.com/", nil)
	if _, ok := identify(r, []byte("Action=RunInstances")); ok {
		t.Error("an unsigned request was named")
	}
}

// caFile is the bundle the command is given as AWS_CA_BUNDLE.
func caFile(p *Proxy) string {
	for _, kv := range p.Environ(nil) {
		if v, ok := strings.CutPrefix(kv, "AWS_CA_BUNDLE="); ok {
			return v
		}
	}
	return ""
}

// A client calling AWS over plain http through the proxy (HTTP_PROXY) is
// recorded too, and its request forwarded unchanged.
func TestPlainHTTPRecorded(t *testing.T) {
	var host string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		host = r.Host
		if err := verifySigV4(r, body); err != nil {
			w.WriteHeader(403)
			return
		}
		w.Header().Set("X-Amzn-ErrorType", "AccessDeniedException:http://internal.amazon.com/")
		w.WriteHeader(400)
		io.WriteString(w, `{"message":"not allowed"}`)
	}))
	t.Cleanup(srv.Close)
	p, s := startProxy(t, Options{Endpoint: &url.URL{Scheme: "http", Host: srv.Listener.Addr().String()}})
	u, _ := url.Parse(p.URL())
	cfg := awsConfig(&http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(u)}})
	cfg.BaseEndpoint = aws.String("http://sts.eu-west-1.amazonaws.com")
	cfg.Region = "eu-west-1"
	_, err := sts.NewFromConfig(cfg).GetCallerIdentity(context.Background(), nil)
	if err == nil {
		t.Fatal("no error")
	}
	p.Close()
	want := []Record{{Service: "sts", API: "GetCallerIdentity", Region: "eu-west-1", Status: 400, Code: "AccessDeniedException", Message: "not allowed", Attempt: 1, Final: true}}
	if got := s.all(); !slices.Equal(got, want) || host != "sts.eu-west-1.amazonaws.com" {
		t.Errorf("records %+v, host %q", got, host)
	}
}

// The command's NO_PROXY keeps the user's entries, but none that would
// let an AWS call past the proxy.
func TestCommandEnvironment(t *testing.T) {
	p, _ := startProxy(t, Options{Endpoint: &url.URL{Scheme: "http", Host: "emulator.internal:4566"}})
	env := p.Environ([]string{"PATH=/bin", "HTTPS_PROXY=http://corp:3128", "AWS_CA_BUNDLE=/etc/corp.pem",
		"NO_PROXY=10.0.0.0/8,.amazonaws.com,*.amazonaws.com.cn,s3.us-east-1.amazonaws.com,mirror.corp,*,emulator.internal,localhost"})
	want := map[string]string{"PATH": "/bin", "HTTPS_PROXY": p.URL(), "https_proxy": p.URL(), "HTTP_PROXY": p.URL(), "http_proxy": p.URL(),
		"AWS_CA_BUNDLE": caFile(p), "NO_PROXY": NoProxy + ",10.0.0.0/8,mirror.corp", "no_proxy": NoProxy + ",10.0.0.0/8,mirror.corp"}
	if systemBundle() != nil {
		for _, k := range []string{"SSL_CERT_FILE", "CURL_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS"} {
			want[k] = caFile(p)
		}
	}
	if len(env) != len(want) {
		t.Errorf("environment %v", env)
	}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if want[k] != v {
			t.Errorf("%s=%s, want %s", k, v, want[k])
		}
	}
}

// API hosts are intercepted; instances' and load balancers' names, Session
// Manager's websockets and other ports are not.
func TestIntercepts(t *testing.T) {
	p, _ := startProxy(t, Options{Endpoint: &url.URL{Scheme: "http", Host: "localhost:4566"}})
	for host, want := range map[string]bool{"ec2.us-east-1.amazonaws.com": true, "sts.amazonaws.com": true, "b.s3.cn-north-1.amazonaws.com.cn": true,
		"localhost": true, "ssmmessages.us-east-1.amazonaws.com": false, "ec2-3-4-5-6.compute-1.amazonaws.com": false,
		"ec2-3-4-5-6.eu-west-1.compute.amazonaws.com": false, "x.eu-west-1.elb.amazonaws.com": false, "amazonaws.com.evil.example": false,
		"github.com": false} {
		if p.Intercepts(host) != want {
			t.Errorf("%s: intercepted %v", host, !want)
		}
	}
}

// An attempt with a retryable error is a call's end only when no retry of
// the same invocation follows.
func TestTrackerRetries(t *testing.T) {
	s := &sink{}
	tr := &tracker{sink: s.add, pending: map[string]Record{}}
	conn := ident{invocation: "conn 127.0.0.1:5 ec2:DescribeImages"}
	tr.add(conn, Record{API: "DescribeImages", Status: 503, Code: "RequestLimitExceeded"})
	tr.add(conn, Record{API: "DescribeImages", Status: 200})
	tr.add(ident{invocation: "i-1", attempt: 3, max: 3}, Record{API: "RunInstances", Status: 500, Code: "InternalError"})
	tr.add(ident{invocation: "i-2", attempt: 1, max: 3}, Record{API: "CreateImage", Status: 400, Code: "Throttling"})
	tr.add(ident{}, Record{API: "GetRole", Status: 403, Code: "AccessDenied"})
	tr.flush()
	want := []Record{
		{API: "DescribeImages", Status: 503, Code: "RequestLimitExceeded"},
		{API: "DescribeImages", Status: 200, Final: true},
		{API: "RunInstances", Status: 500, Code: "InternalError", Final: true},
		{API: "GetRole", Status: 403, Code: "AccessDenied", Final: true},
		{API: "CreateImage", Status: 400, Code: "Throttling", Final: true},
	}
	if got := s.all(); !slices.Equal(got, want) {
		t.Errorf("records\n%+v\nwant\n%+v", got, want)
	}
}
