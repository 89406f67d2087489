package wiretap

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"slices"
	"strings"
	"sync"
	"time"
)

// maxLeaves bounds the certificates kept: a command naming more hosts gets
// the rest minted anew on each connection.
const maxLeaves = 256

// authority is the run's certificate authority. Its key lives only in this
// process's memory; only the certificate is written out, for the command.
type authority struct {
	key     *ecdsa.PrivateKey
	cert    *x509.Certificate
	leafKey *ecdsa.PrivateKey // one key for every leaf: a leaf is then one signature
	start   time.Time
	end     time.Time

	mu     sync.Mutex
	leaves map[string]*tls.Certificate
}

// awsDomains are the names the authority may vouch for besides the endpoint's:
// every host the proxy intercepts ends in one.
var awsDomains = []string{"amazonaws.com", "amazonaws.com.cn"}

// newAuthority makes the run's CA, name-constrained to AWS's domains and
// endpointHost (--endpoint-url's, "" without one): the command trusts it for
// a day, so it must vouch for nothing else.
func newAuthority(now time.Time, lifetime time.Duration, endpointHost string) (*authority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	// An hour back absorbs a skewed clock; the end is the run's horizon.
	a := &authority{key: key, leafKey: leafKey, start: now.Add(-time.Hour), end: now.Add(lifetime), leaves: map[string]*tls.Certificate{}}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "buildrole exec " + now.UTC().Format(time.RFC3339), Organization: []string{"buildrole exec (this run only)"}},
		NotBefore:             a.start,
		NotAfter:              a.end,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	constrain(tmpl, endpointHost)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	if a.cert, err = x509.ParseCertificate(der); err != nil {
		return nil, err
	}
	return a, nil
}

// constrain limits the CA to AWS's domains and the endpoint's host; no IP
// address but the endpoint's. Critical, as RFC 5280 requires, so a client
// that cannot apply the limits refuses the CA instead of ignoring them.
func constrain(tmpl *x509.Certificate, endpointHost string) {
	tmpl.PermittedDNSDomainsCritical = true
	tmpl.PermittedDNSDomains = slices.Clone(awsDomains)
	h := strings.ToLower(strings.TrimSuffix(strings.Trim(endpointHost, "[]"), "."))
	if ip := net.ParseIP(h); ip != nil {
		bits := 8 * len(ip.To4())
		if bits == 0 {
			bits = 128
		} else {
			ip = ip.To4()
		}
		tmpl.PermittedIPRanges = []*net.IPNet{{IP: ip, Mask: net.CIDRMask(bits, bits)}}
		return
	}
	if h != "" && !slices.Contains(tmpl.PermittedDNSDomains, h) {
		tmpl.PermittedDNSDomains = append(tmpl.PermittedDNSDomains, h)
	}
	// With no permitted range, IP names would be unconstrained.
	tmpl.ExcludedIPRanges = []*net.IPNet{{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)}, {IP: net.IPv6zero, Mask: net.CIDRMask(0, 128)}}
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}

// PEM is the authority's certificate.
func (a *authority) PEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.cert.Raw})
}

// leaf is a certificate for host signed by the authority, cached per host.
func (a *authority) leaf(host string) (*tls.Certificate, error) {
	a.mu.Lock()
	c := a.leaves[host]
	a.mu.Unlock()
	if c != nil {
		return c, nil
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		// No common name: OpenSSL checks one that looks like a host name
		// against the DNS constraints, an IP address's too.
		NotBefore:   a.start,
		NotAfter:    a.end,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if ip := net.ParseIP(host); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{host}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, &a.leafKey.PublicKey, a.key)
	if err != nil {
		return nil, fmt.Errorf("certificate for %s: %w", host, err)
	}
	c = &tls.Certificate{Certificate: [][]byte{der, a.cert.Raw}, PrivateKey: a.leafKey}
	a.mu.Lock()
	if len(a.leaves) < maxLeaves {
		a.leaves[host] = c
	}
	a.mu.Unlock()
	return c, nil
}
