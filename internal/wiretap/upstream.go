package wiretap

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Upstream is how the proxy reaches the network: the proxies and bundle
// the command's own environment named.
type Upstream struct {
	HTTPSProxy, HTTPProxy, NoProxy string
	// CABundle is PEM trusted beside the system roots (the user's AWS_CA_BUNDLE).
	CABundle []byte
}

// UpstreamFromEnv reads the settings from an environment's getenv, lower
// case winning as in Go's net/http.
func UpstreamFromEnv(getenv func(string) string) Upstream {
	get := func(n string) string { return firstOf(getenv(strings.ToLower(n)), getenv(n)) }
	return Upstream{HTTPSProxy: get("HTTPS_PROXY"), HTTPProxy: get("HTTP_PROXY"), NoProxy: get("NO_PROXY")}
}

// roots are the system's plus the user's bundle; nil (the system's, loaded
// by Go when first needed) without a bundle.
func (u Upstream) roots() (*x509.CertPool, error) {
	if len(u.CABundle) == 0 {
		return nil, nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(u.CABundle) {
		return nil, errors.New("AWS_CA_BUNDLE holds no PEM certificate")
	}
	return pool, nil
}

// proxyFor is the user's proxy for a target, nil when it goes direct.
func (u Upstream) proxyFor(scheme, hostport string) (*url.URL, error) {
	raw := u.HTTPSProxy
	if scheme == "http" {
		raw = u.HTTPProxy
	}
	host, _, err := splitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	if raw == "" || u.bypass(host) {
		return nil, nil
	}
	p, err := url.Parse(raw)
	if err != nil || p.Host == "" {
		// A bare host:port, as curl accepts.
		if p, err = url.Parse("http://" + raw); err != nil {
			return nil, fmt.Errorf("proxy %q: %w", raw, err)
		}
	}
	return p, nil
}

// bypass applies NO_PROXY (and, as Go does, never proxies loopback).
func (u Upstream) bypass(host string) bool {
	host = strings.ToLower(strings.Trim(host, "[]"))
	ip := net.ParseIP(host)
	if host == "localhost" || ip != nil && ip.IsLoopback() {
		return true
	}
	for _, e := range strings.Split(strings.ToLower(u.NoProxy), ",") {
		e = strings.TrimSpace(e)
		if h, _, err := net.SplitHostPort(e); err == nil {
			e = h
		}
		e = strings.TrimPrefix(strings.TrimPrefix(e, "*"), ".")
		switch {
		case e == "":
		case e == "*" || e == host || strings.HasSuffix(host, "."+e):
			return true
		case ip != nil && strings.Contains(e, "/"):
			if _, n, err := net.ParseCIDR(e); err == nil && n.Contains(ip) {
				return true
			}
		}
	}
	return u.NoProxy == "*"
}

// dialTunnel opens a raw connection to hostport, through the user's proxy
// (CONNECT) when one applies.
func (p *Proxy) dialTunnel(ctx context.Context, hostport string) (net.Conn, error) {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	up, err := p.up.proxyFor("https", hostport)
	if err != nil || up == nil {
		if err != nil {
			return nil, err
		}
		return d.DialContext(ctx, "tcp", hostport)
	}
	addr := up.Host
	if up.Port() == "" {
		port := "80"
		if up.Scheme == "https" {
			port = "443"
		}
		addr = net.JoinHostPort(up.Hostname(), port)
	}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("proxy %s: %w", up.Host, err)
	}
	if up.Scheme == "https" {
		tc := tls.Client(conn, &tls.Config{ServerName: up.Hostname(), RootCAs: p.roots, MinVersion: tls.VersionTLS12})
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("proxy %s: %w", up.Host, err)
		}
		conn = tc
	}
	req := &http.Request{Method: http.MethodConnect, URL: &url.URL{Opaque: hostport}, Host: hostport, Header: http.Header{}}
	if up.User != nil {
		pw, _ := up.User.Password()
		req.Header.Set("Proxy-Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(up.User.Username()+":"+pw)))
	}
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(conn)
	if err := req.Write(conn); err != nil {
		conn.Close()
		return nil, err
	}
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("proxy %s: %w", up.Host, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		conn.Close()
		return nil, fmt.Errorf("proxy %s refused CONNECT %s: %s", up.Host, hostport, resp.Status)
	}
	_ = conn.SetDeadline(time.Time{})
	return &bufConn{Conn: conn, r: br}, nil
}

// bufConn reads first what a bufio.Reader already holds.
type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufConn) Read(b []byte) (int, error) { return c.r.Read(b) }

func splitHostPort(hp string) (string, string, error) { return net.SplitHostPort(hp) }
