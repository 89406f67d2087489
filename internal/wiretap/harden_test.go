package wiretap

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

type pkixExt = pkix.Extension

var oidNameConstraints = asn1.ObjectIdentifier{2, 5, 29, 30}

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// proxyAuth is the Proxy-Authorization a client sends from the proxy URL.
func proxyAuth(p *Proxy) string {
	u, _ := url.Parse(p.URL())
	pw, _ := u.User.Password()
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+pw))
}

// rawConnect sends CONNECT target with header lines and returns the answer
// and the connection.
func rawConnect(t *testing.T, p *Proxy, target string, header ...string) (*http.Response, net.Conn, *bufio.Reader) {
	t.Helper()
	u, _ := url.Parse(p.URL())
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n%s\r\n", target, target, strings.Join(header, ""))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	return resp, conn, br
}

// Another local user reaches the port but not the command's token: no
// tunnel, no interception, no plain request, and the user's upstream proxy
// credentials are never lent.
func TestProxyRequiresTheRunsToken(t *testing.T) {
	srv, pem := fakeAWS(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<x/>") })
	corp, seen := connectProxy(t, srv.Listener.Addr().String())
	corpURL, _ := url.Parse(corp)
	corpURL.User = url.UserPassword("alice", "corp-secret")
	p, s := startProxy(t, Options{Upstream: Upstream{HTTPSProxy: corpURL.String(), HTTPProxy: corpURL.String(), CABundle: pem}})
	u, _ := url.Parse(p.URL())
	if pw, _ := u.User.Password(); u.User.Username() != proxyUser || len(pw) != 32 {
		t.Errorf("proxy URL %s: want buildrole and a 128-bit token", p.URL())
	}
	wrong := "Basic " + base64.StdEncoding.EncodeToString([]byte(proxyUser+":"+strings.Repeat("0", 32)))
	for _, h := range []string{"", "Proxy-Authorization: " + wrong + "\r\n", "Proxy-Authorization: Bearer x\r\n"} {
		for _, target := range []string{"sts.amazonaws.com:443", "github.com:443"} {
			resp, _, _ := rawConnect(t, p, target, h)
			if resp.StatusCode != http.StatusProxyAuthRequired || !strings.HasPrefix(resp.Header.Get("Proxy-Authenticate"), "Basic ") {
				t.Errorf("CONNECT %s with %q: %s %v", target, h, resp.Status, resp.Header)
			}
		}
	}
	plain := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: u.Host})}}
	resp, err := plain.Get("http://sts.amazonaws.com/?Action=GetCallerIdentity")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusProxyAuthRequired {
		t.Errorf("plain request without the token: %s", resp.Status)
	}
	// With the token, as Go's net/http sends it from HTTPS_PROXY's userinfo.
	if resp, _, _ := rawConnect(t, p, "github.com:443", "Proxy-Authorization: "+proxyAuth(p)+"\r\n"); resp.StatusCode != 200 {
		t.Errorf("CONNECT with the token: %s", resp.Status)
	}
	st := p.Close()
	if got := seen(); !slices.Equal(got, []string{"CONNECT github.com:443"}) {
		t.Errorf("the user's proxy saw %v", got)
	}
	if st.Intercepted != 0 || st.Requests != 0 || st.Tunnelled != 1 || len(s.all()) != 0 {
		t.Errorf("stats %+v", st)
	}
}

// The run's CA vouches for AWS's domains and the endpoint's host only, in a
// critical extension; Go's verifier (the SDKs') refuses a leaf for any
// other name even though the CA signed it.
func TestCANameConstrained(t *testing.T) {
	for _, c := range []struct {
		endpoint   string
		ok, refuse []string
	}{
		{"", []string{"sts.us-east-1.amazonaws.com", "b.s3.cn-north-1.amazonaws.com.cn", "iam.amazonaws.com"},
			[]string{"github.com", "amazonaws.com.evil.example", "evilamazonaws.com", "10.0.0.1", "::1"}},
		{"emulator.internal", []string{"ec2.eu-west-1.amazonaws.com", "emulator.internal"}, []string{"x.internal", "127.0.0.1"}},
		{"10.0.0.5", []string{"ec2.eu-west-1.amazonaws.com", "10.0.0.5"}, []string{"10.0.0.6", "emulator.internal"}},
		{"[fd00::5]", []string{"fd00::5"}, []string{"fd00::6", "10.0.0.5"}},
	} {
		ca, err := newAuthority(time.Now(), time.Hour, strings.Trim(c.endpoint, "[]"))
		if err != nil {
			t.Fatal(err)
		}
		critical := slices.ContainsFunc(ca.cert.Extensions, func(e pkixExt) bool { return e.Id.Equal(oidNameConstraints) && e.Critical })
		if !critical {
			t.Errorf("%q: name constraints missing or not critical", c.endpoint)
		}
		roots := x509.NewCertPool()
		roots.AddCert(ca.cert)
		for _, host := range append(slices.Clone(c.ok), c.refuse...) {
			leaf, err := ca.leaf(host)
			if err != nil {
				t.Fatal(err)
			}
			cert, _ := x509.ParseCertificate(leaf.Certificate[0])
			_, err = cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: host})
			var inv x509.CertificateInvalidError
			if refused := errors.As(err, &inv) && inv.Reason == x509.CANotAuthorizedForThisName; refused != slices.Contains(c.refuse, host) {
				t.Errorf("endpoint %q, leaf %s: %v", c.endpoint, host, err)
			}
			opensslVerify(t, ca, leaf, host, !slices.Contains(c.refuse, host))
		}
	}
}

// opensslVerify checks a leaf as OpenSSL-based clients (curl, Python,
// Node) do, when openssl is installed.
func opensslVerify(t *testing.T, ca *authority, leaf *tls.Certificate, host string, want bool) {
	t.Helper()
	bin, err := exec.LookPath("openssl")
	if err != nil {
		return
	}
	dir := t.TempDir()
	caPEM, leafPEM := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "leaf.pem")
	os.WriteFile(caPEM, ca.PEM(), 0o600)
	os.WriteFile(leafPEM, pemCert(leaf.Certificate[0]), 0o600)
	flag := "-verify_hostname"
	if net.ParseIP(host) != nil {
		flag = "-verify_ip"
	}
	out, err := exec.Command(bin, "verify", "-purpose", "sslserver", flag, host, "-CAfile", caPEM, leafPEM).CombinedOutput()
	if (err == nil) != want {
		t.Errorf("openssl verify %s: %v %s", host, err, out)
	}
}

// A leaf is minted for the CONNECT host only: a client naming another host
// in its TLS server name gets no certificate.
func TestSNIMustBeTheConnectHost(t *testing.T) {
	p, _ := startProxy(t, Options{})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(p.ca.PEM())
	for sni, want := range map[string]bool{"sts.amazonaws.com": true, "STS.amazonaws.com.": true, "": true,
		"iam.amazonaws.com": false, "github.com": false} {
		resp, conn, br := rawConnect(t, p, "sts.amazonaws.com:443", "Proxy-Authorization: "+proxyAuth(p)+"\r\n")
		if resp.StatusCode != 200 {
			t.Fatalf("CONNECT: %s", resp.Status)
		}
		cfg := &tls.Config{ServerName: sni, RootCAs: pool}
		if sni == "" {
			// No SNI sent: check the leaf by hand.
			cfg = &tls.Config{InsecureSkipVerify: true, VerifyConnection: func(cs tls.ConnectionState) error {
				_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: pool, DNSName: "sts.amazonaws.com"})
				return err
			}}
		}
		tc := tls.Client(&bufConn{Conn: conn, r: br}, cfg)
		_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
		if err := tc.Handshake(); (err == nil) != want {
			t.Errorf("SNI %q: %v", sni, err)
		}
		tc.Close()
	}
}

// Container credentials (ECS's and EKS Pod Identity's endpoints) and
// instance metadata bypass the proxy, as Go's clients read NO_PROXY.
func TestMetadataBypassesTheProxy(t *testing.T) {
	p, _ := startProxy(t, Options{})
	env := p.Environ(nil)
	get := func(k string) string {
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, k+"="); ok {
				return v
			}
		}
		return ""
	}
	for _, host := range []string{"169.254.169.254", "169.254.170.2", "169.254.170.23", "fd00:ec2::254", "fd00:ec2::23"} {
		if !slices.Contains(strings.Split(get("NO_PROXY"), ","), host) || !slices.Contains(strings.Split(get("no_proxy"), ","), host) {
			t.Errorf("%s not in NO_PROXY %q", host, get("NO_PROXY"))
		}
		up := Upstream{HTTPProxy: p.URL(), NoProxy: get("NO_PROXY")}
		if u, _ := up.proxyFor("http", net.JoinHostPort(host, "80")); u != nil {
			t.Errorf("%s goes through %s", host, u)
		}
	}
}

// curl, given the command's environment, authenticates to the proxy from
// HTTPS_PROXY and trusts the name-constrained CA.
func TestCurlThroughTheProxy(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("no curl")
	}
	srv, pem := fakeAWS(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "answer from "+r.Host) })
	p, _ := startProxy(t, Options{Endpoint: &url.URL{Scheme: "https", Host: srv.Listener.Addr().String()}, Upstream: Upstream{CABundle: pem}})
	for _, u := range []string{"https://sts.us-east-1.amazonaws.com/", "http://sts.us-east-1.amazonaws.com/"} {
		cmd := exec.Command(curl, "-sS", "--fail", "--max-time", "20", "--cacert", caFile(p), u)
		cmd.Env = p.Environ([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()})
		out, err := cmd.CombinedOutput()
		if err != nil || string(out) != "answer from sts.us-east-1.amazonaws.com" {
			t.Errorf("curl %s: %v %s", u, err, out)
		}
	}
	st := p.Close()
	if st.Intercepted != 1 || st.Requests != 2 {
		t.Errorf("stats %+v", st)
	}
}

// The AWS CLI (botocore, Python's OpenSSL), given the command's
// environment, authenticates to the proxy and trusts the constrained CA.
func TestAWSCLIThroughTheProxy(t *testing.T) {
	bin, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("no aws CLI")
	}
	srv, pem := fakeAWS(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/x</Arn><UserId>AIDA</UserId><Account>123456789012</Account></GetCallerIdentityResult></GetCallerIdentityResponse>`)
	})
	p, s := startProxy(t, Options{Endpoint: &url.URL{Scheme: "https", Host: srv.Listener.Addr().String()}, Upstream: Upstream{CABundle: pem}})
	var base []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); !strings.HasPrefix(k, "AWS_") && !strings.HasSuffix(strings.ToUpper(k), "_PROXY") {
			base = append(base, kv)
		}
	}
	dir := t.TempDir()
	base = append(base, "AWS_ACCESS_KEY_ID="+testKey, "AWS_SECRET_ACCESS_KEY="+testSecret, "AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE="+filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "none"), "AWS_EC2_METADATA_DISABLED=true")
	cmd := exec.Command(bin, "sts", "get-caller-identity", "--output", "text", "--query", "Account")
	cmd.Env = p.Environ(base)
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "123456789012" {
		t.Fatalf("aws: %v %s", err, out)
	}
	p.Close()
	if r := s.all(); len(r) != 1 || r[0].API != "GetCallerIdentity" || r[0].Status != 200 {
		t.Errorf("records %+v", r)
	}
}
