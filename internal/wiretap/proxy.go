package wiretap

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// Options configure a Proxy.
type Options struct {
	// Sink receives every recorded attempt; it must be safe for concurrent use.
	Sink func(Record)
	// Endpoint, when set, receives every intercepted call instead of AWS
	// (scheme and host only), with the request's own Host kept.
	Endpoint *url.URL
	Upstream Upstream
	// Lifetime of the run's certificates. Default 24 h.
	Lifetime time.Duration
	// Dir is where the CA certificate is written. Default os.TempDir().
	Dir string
}

// Stats say what passed the proxy besides the recorded calls.
type Stats struct {
	Intercepted int      // TLS connections to AWS hosts opened through the proxy
	Requests    int      // requests to AWS hosts
	Unnamed     int      // of those, not a signed call the proxy can name
	Tunnelled   int      // connections to other hosts
	Hosts       []string // the first few tunnelled hosts, for a reader
	Failed      int      // requests the proxy could not forward (502)
}

const maxHosts = 8

// Proxy is a loopback HTTP proxy that records the AWS calls through it.
type Proxy struct {
	opts   Options
	up     Upstream
	roots  *x509.CertPool
	ca     *authority
	caFile string
	token  string // the password in URL: only the command is served
	// withSystem: the bundle holds the system's roots too, so tools that
	// trust only their own store can be given it.
	withSystem bool
	ln         net.Listener
	outer      *http.Server
	inner      *http.Server
	innerL     *chanListener
	client     *http.Transport
	track      *tracker

	mu      sync.Mutex
	stats   Stats
	tunnels map[net.Conn]bool
	wg      sync.WaitGroup // tunnels
	calls   sync.WaitGroup // requests being forwarded
}

// maxFinish bounds how long Close waits for requests still being
// forwarded (their client has gone by then, which cancels them).
const maxFinish = 5 * time.Second

type targetKey struct{}

// Start listens on a free port of 127.0.0.1 and writes the run's CA
// certificate (mode 0600) for the command.
func Start(opts Options) (*Proxy, error) {
	if opts.Lifetime == 0 {
		opts.Lifetime = 24 * time.Hour
	}
	if opts.Sink == nil {
		opts.Sink = func(Record) {}
	}
	roots, err := opts.Upstream.roots()
	if err != nil {
		return nil, err
	}
	endpointHost := ""
	if opts.Endpoint != nil {
		endpointHost = opts.Endpoint.Hostname()
	}
	ca, err := newAuthority(time.Now(), opts.Lifetime, endpointHost)
	if err != nil {
		return nil, fmt.Errorf("make the run's certificate authority: %w", err)
	}
	token, err := newToken()
	if err != nil {
		return nil, err
	}
	p := &Proxy{opts: opts, up: opts.Upstream, roots: roots, ca: ca, token: token, tunnels: map[net.Conn]bool{}, track: &tracker{sink: opts.Sink, pending: map[string]Record{}}}
	if err := p.writeCA(); err != nil {
		return nil, err
	}
	if p.ln, err = net.Listen("tcp4", "127.0.0.1:0"); err != nil {
		os.Remove(p.caFile)
		return nil, fmt.Errorf("listen on 127.0.0.1: %w", err)
	}
	p.client = &http.Transport{
		Proxy:               func(r *http.Request) (*url.URL, error) { return p.up.proxyFor(r.URL.Scheme, r.URL.Host) },
		DialContext:         (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout: 30 * time.Second,
		// The body goes back as AWS sent it, compressed or not.
		DisableCompression:  true,
		MaxIdleConnsPerHost: 32,
		IdleConnTimeout:     90 * time.Second,
	}
	p.innerL = &chanListener{conns: make(chan net.Conn), done: make(chan struct{}), addr: p.ln.Addr()}
	p.inner = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { p.forward(w, r, "https", true) }),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, targetKey{}, c.(*tlsTarget).target)
		},
		ErrorLog: quietLog(),
	}
	p.outer = &http.Server{Handler: http.HandlerFunc(p.serve), ErrorLog: quietLog()}
	go func() { _ = p.inner.Serve(p.innerL) }()
	go func() { _ = p.outer.Serve(p.ln) }()
	return p, nil
}

func (p *Proxy) writeCA() error {
	dir := p.opts.Dir
	if dir == "" {
		dir = os.TempDir()
	}
	f, err := os.CreateTemp(dir, "buildrole-exec-ca-*.pem")
	if err != nil {
		return fmt.Errorf("write the run's CA certificate: %w", err)
	}
	p.caFile = f.Name()
	bundle := p.ca.PEM()
	// A client given AWS_CA_BUNDLE trusts only it: the user's bundle and
	// the system's keep the hosts exec does not intercept reachable.
	bundle = append(append(bundle, p.up.CABundle...), '\n')
	if sys := systemBundle(); sys != nil {
		bundle = append(bundle, sys...)
		p.withSystem = true
	}
	_, err = f.Write(bundle)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(p.caFile)
		return fmt.Errorf("write the run's CA certificate: %w", err)
	}
	return nil
}

// systemBundle is the system's PEM file of roots where Go finds it on Linux
// (SSL_CERT_FILE first); nil elsewhere.
func systemBundle() []byte {
	for _, f := range []string{os.Getenv("SSL_CERT_FILE"), "/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt",
		"/etc/ssl/ca-bundle.pem", "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", "/etc/ssl/cert.pem"} {
		if f == "" {
			continue
		}
		if b, err := os.ReadFile(f); err == nil && len(b) < 8<<20 {
			return b
		}
	}
	return nil
}

// URL is the proxy's address with the run's credentials, for HTTPS_PROXY.
func (p *Proxy) URL() string {
	return (&url.URL{Scheme: "http", User: url.UserPassword(proxyUser, p.token), Host: p.ln.Addr().String()}).String()
}

// NoProxy is what the command always bypasses the proxy for: loopback, the
// instance metadata endpoints, and the container credentials endpoints
// (ECS's, EKS Pod Identity's).
const NoProxy = "localhost,127.0.0.1,::1,169.254.169.254,169.254.170.2,169.254.170.23,fd00:ec2::254,fd00:ec2::23"

// Environ is base with the command's traffic sent through the proxy. The
// command's NO_PROXY keeps the user's entries that name no AWS host (a
// WinRM subnet, an internal mirror); those that would send AWS calls past
// the proxy ("*", ".amazonaws.com") apply inside it, upstream, instead.
func (p *Proxy) Environ(base []string) []string {
	noProxy := NoProxy
	for _, kv := range base {
		name, v, _ := strings.Cut(kv, "=")
		if name != "NO_PROXY" && name != "no_proxy" {
			continue
		}
		for _, e := range strings.Split(v, ",") {
			if e = strings.TrimSpace(e); e != "" && !p.coversAWS(e) && !slices.Contains(strings.Split(noProxy, ","), e) {
				noProxy += "," + e
			}
		}
	}
	set := map[string]string{"HTTPS_PROXY": p.URL(), "https_proxy": p.URL(), "HTTP_PROXY": p.URL(), "http_proxy": p.URL(),
		"NO_PROXY": noProxy, "no_proxy": noProxy, "AWS_CA_BUNDLE": p.caFile}
	if p.withSystem {
		// curl, wget, Python and Go fetching from an AWS host (a presigned
		// S3 URL in a provisioner) trust the run's CA beside the system's.
		for _, k := range []string{"SSL_CERT_FILE", "CURL_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS"} {
			set[k] = p.caFile
		}
	}
	out := make([]string, 0, len(base)+len(set))
	for _, kv := range base {
		name, _, _ := strings.Cut(kv, "=")
		if _, ok := set[name]; !ok {
			out = append(out, kv)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(set)) {
		out = append(out, k+"="+set[k])
	}
	return out
}

// coversAWS reports whether a NO_PROXY entry could match a host the proxy
// intercepts.
func (p *Proxy) coversAWS(entry string) bool {
	e := strings.ToLower(entry)
	if h, _, err := splitHostPort(e); err == nil {
		e = h
	}
	e = strings.TrimPrefix(strings.TrimPrefix(e, "*"), ".")
	return e == "" || e == "*" || e == "amazonaws.com" || e == "amazonaws.com.cn" || e == "com" || e == "cn" || p.Intercepts(e) || p.Intercepts("x."+e)
}

// Close stops the proxy, ends calls still waiting for a retry with their
// last attempt, removes the CA file, and returns the stats.
func (p *Proxy) Close() Stats {
	_ = p.outer.Close()
	p.innerL.Close()
	_ = p.inner.Close()
	p.mu.Lock()
	for c := range p.tunnels {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	// A response the client has read whole may still be on its way to
	// being recorded.
	done := make(chan struct{})
	go func() { p.calls.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(maxFinish):
	}
	p.client.CloseIdleConnections()
	p.track.flush()
	os.Remove(p.caFile)
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.stats
	st.Hosts = slices.Clone(st.Hosts)
	return st
}

// Intercepts reports whether connections to host are opened and recorded:
// AWS API hosts and the endpoint's, but not Session Manager's websockets.
func (p *Proxy) Intercepts(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if p.opts.Endpoint != nil && host == strings.ToLower(p.opts.Endpoint.Hostname()) {
		return true
	}
	// Session Manager's websockets, and instances' and load balancers' own
	// names (WinRM, a service the build calls): not AWS APIs.
	for _, not := range []string{"ssmmessages.", ".compute.amazonaws.com", ".compute-1.amazonaws.com", ".compute.amazonaws.com.cn", ".elb.amazonaws.com", ".elb.amazonaws.com.cn"} {
		if strings.HasPrefix(host, not) || strings.HasSuffix(host, not) {
			return false
		}
	}
	return strings.HasSuffix(host, ".amazonaws.com") || strings.HasSuffix(host, ".amazonaws.com.cn")
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	if !p.authorized(r) {
		// Any local user can reach the port; only the command has the token.
		w.Header().Set("Proxy-Authenticate", `Basic realm="buildrole exec"`)
		http.Error(w, "buildrole exec's proxy: proxy credentials required", http.StatusProxyAuthRequired)
		return
	}
	if r.Method == http.MethodConnect {
		p.connect(w, r)
		return
	}
	if !r.URL.IsAbs() {
		http.Error(w, "buildrole exec's proxy: only proxy requests", http.StatusBadRequest)
		return
	}
	p.forward(w, r, "http", p.Intercepts(r.URL.Hostname()))
}

func (p *Proxy) connect(w http.ResponseWriter, r *http.Request) {
	target := r.Host
	host, port, err := splitHostPort(target)
	if err != nil {
		http.Error(w, "CONNECT needs host:port", http.StatusBadRequest)
		return
	}
	// AWS's APIs answer on 443; anything else on their hosts is tunnelled.
	intercept := p.Intercepts(host) && (port == "443" || p.opts.Endpoint != nil && strings.EqualFold(host, p.opts.Endpoint.Hostname()))
	var upstream net.Conn
	if !intercept {
		if upstream, err = p.dialTunnel(r.Context(), target); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "no hijack", http.StatusInternalServerError)
		return
	}
	conn, brw, err := hj.Hijack()
	if err != nil {
		if upstream != nil {
			upstream.Close()
		}
		return
	}
	_, _ = conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
	client := &bufConn{Conn: conn, r: brw.Reader}
	if !intercept {
		p.tunnel(client, upstream, host)
		return
	}
	p.count(func(s *Stats) { s.Intercepted++ })
	tc := tls.Server(client, &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"http/1.1"},
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			// A leaf is for the host the proxy decided to intercept,
			// never for another name the client asks for.
			if hello.ServerName != "" && !sameHost(hello.ServerName, host) {
				return nil, fmt.Errorf("TLS server name %q is not the CONNECT host %q", hello.ServerName, host)
			}
			return p.ca.leaf(strings.ToLower(strings.TrimSuffix(host, ".")))
		},
	})
	p.innerL.give(&tlsTarget{Conn: tc, target: target})
}

type tlsTarget struct {
	net.Conn
	target string
}

func (p *Proxy) tunnel(client, upstream net.Conn, host string) {
	p.mu.Lock()
	p.stats.Tunnelled++
	if len(p.stats.Hosts) < maxHosts && !slices.Contains(p.stats.Hosts, host) {
		p.stats.Hosts = append(p.stats.Hosts, host)
	}
	p.tunnels[client], p.tunnels[upstream] = true, true
	p.wg.Add(1)
	p.mu.Unlock()
	go func() {
		defer p.wg.Done()
		done := make(chan struct{})
		go func() { _, _ = io.Copy(upstream, client); closeWrite(upstream); close(done) }()
		_, _ = io.Copy(client, upstream)
		closeWrite(client)
		<-done
		client.Close()
		upstream.Close()
		p.mu.Lock()
		delete(p.tunnels, client)
		delete(p.tunnels, upstream)
		p.mu.Unlock()
	}()
}

func closeWrite(c net.Conn) {
	if b, ok := c.(*bufConn); ok {
		c = b.Conn
	}
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
}

func (p *Proxy) count(f func(*Stats)) {
	p.mu.Lock()
	f(&p.stats)
	p.mu.Unlock()
}

// hopByHop are the headers of one connection, not forwarded (RFC 9110 7.6.1).
var hopByHop = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authorization", "Proxy-Authenticate", "Te", "Trailer", "Upgrade"}

// forward sends r on as the client wrote it and copies the response back;
// aws requests are recorded.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, scheme string, aws bool) {
	p.calls.Add(1)
	defer p.calls.Done()
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.URL.Scheme, out.URL.Host = scheme, r.Host
	if t, ok := r.Context().Value(targetKey{}).(string); ok {
		out.URL.Host = t
	}
	if aws && p.opts.Endpoint != nil {
		out.URL.Scheme, out.URL.Host = p.opts.Endpoint.Scheme, p.opts.Endpoint.Host
	}
	for _, h := range hopByHop {
		out.Header.Del(h)
	}
	if _, ok := out.Header["User-Agent"]; !ok {
		out.Header["User-Agent"] = []string{""} // Go would add its own
	}
	var peek []byte
	if aws && r.Body != nil && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		peek, _ = io.ReadAll(io.LimitReader(r.Body, maxPeek))
		out.Body = readCloser{io.MultiReader(bytes.NewReader(peek), r.Body), r.Body}
	}
	var id ident
	named := false
	if aws {
		id, named = identify(r, peek)
		if id.invocation == "" {
			// Clients that name no invocation (SDK v1 before 2020) retry
			// on the connection they used, which keep-alive keeps.
			id.invocation = "conn " + r.RemoteAddr + " " + id.service + ":" + id.api
		}
		p.count(func(s *Stats) {
			s.Requests++
			if !named {
				s.Unnamed++
			}
		})
	}
	resp, err := p.client.RoundTrip(out)
	if err != nil {
		p.count(func(s *Stats) { s.Failed++ })
		if named {
			p.track.add(id, Record{Service: id.service, API: id.api, Region: id.region, Attempt: id.attempt, Code: "ProxyUpstreamError", Message: cut(err.Error())})
		}
		http.Error(w, "buildrole exec's proxy: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for _, h := range hopByHop {
		resp.Header.Del(h)
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	var kept bytes.Buffer
	var body io.Reader = resp.Body
	if named && resp.StatusCode >= 300 {
		body = io.TeeReader(resp.Body, &limitWriter{w: &kept, n: maxPeek})
	}
	_, _ = io.Copy(flushWriter{w}, body)
	if !named {
		return
	}
	rec := Record{Service: id.service, API: id.api, Region: id.region, Status: resp.StatusCode, Attempt: id.attempt}
	if resp.StatusCode >= 300 && resp.StatusCode != http.StatusNotModified {
		code, msg := errorCode(resp.Header, resp.StatusCode, kept.Bytes())
		rec.Code, rec.Message = code, cut(msg)
	}
	p.track.add(id, rec)
}

func cut(s string) string {
	if len(s) > maxMessage {
		return s[:maxMessage]
	}
	return s
}

type readCloser struct {
	io.Reader
	io.Closer
}

// limitWriter keeps the first n bytes and drops the rest.
type limitWriter struct {
	w io.Writer
	n int
}

func (l *limitWriter) Write(b []byte) (int, error) {
	if l.n > 0 {
		k := min(len(b), l.n)
		l.w.Write(b[:k])
		l.n -= k
	}
	return len(b), nil
}

// flushWriter sends each piece on at once: a streamed response must not
// wait in the proxy.
type flushWriter struct{ w http.ResponseWriter }

func (f flushWriter) Write(b []byte) (int, error) {
	n, err := f.w.Write(b)
	if fl, ok := f.w.(http.Flusher); ok {
		fl.Flush()
	}
	return n, err
}

// chanListener hands intercepted TLS connections to the inner server.
type chanListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
	addr  net.Addr
}

func (l *chanListener) give(c net.Conn) {
	select {
	case l.conns <- c:
	case <-l.done:
		c.Close()
	}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return l.addr }

// quietLog drops the server's own logging: a client hanging up is no
// news for the build's log.
func quietLog() *log.Logger { return log.New(io.Discard, "", 0) }
