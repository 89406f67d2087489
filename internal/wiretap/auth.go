package wiretap

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
)

// proxyUser is the user name in the proxy's URL; the token is the secret.
const proxyUser = "buildrole"

func newToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make the proxy's token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// authorized reports whether r carries the run's proxy credentials, as
// clients send them from the userinfo of HTTPS_PROXY (Basic).
func (p *Proxy) authorized(r *http.Request) bool {
	scheme, cred, _ := strings.Cut(r.Header.Get("Proxy-Authorization"), " ")
	if !strings.EqualFold(scheme, "Basic") {
		return false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return false
	}
	user, pw, _ := strings.Cut(string(raw), ":")
	return user == proxyUser && subtle.ConstantTimeCompare([]byte(pw), []byte(p.token)) == 1
}

// sameHost compares host names as DNS does: case and a final dot aside.
func sameHost(a, b string) bool {
	return strings.EqualFold(strings.TrimSuffix(a, "."), strings.TrimSuffix(b, "."))
}
