// Package observe is how `buildrole exec` sees its command's AWS calls:
// the loopback proxy (package wiretap, every client) and client-side
// monitoring (package csm, SDK v1 clients, whatever endpoint they call),
// merged into one list in which each call counts once.
package observe

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/buildrole/buildrole/internal/csm"
	"github.com/buildrole/buildrole/internal/safefile"
	"github.com/buildrole/buildrole/internal/wiretap"
)

// maxCABundle bounds the user's AWS_CA_BUNDLE read for the upstream.
const maxCABundle = 8 << 20

// Observers are exec's two ways of seeing the command's AWS calls: the
// loopback proxy (every client) and client-side monitoring (SDK v1 clients,
// whatever endpoint they call).
type Observers struct {
	wire  *csm.Collector
	proxy *wiretap.Proxy
	csm   *csm.Listener
}

// ParseEndpoint checks --endpoint-url: an http(s) URL naming a host, and
// nothing else, since the request keeps its own path.
func ParseEndpoint(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("--endpoint-url %q: give http(s)://HOST[:PORT] (the calls keep their own path)", raw)
	}
	return u, nil
}

// environGetenv reads an environment list as getenv does (the last wins).
func environGetenv(environ []string) func(string) string {
	m := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return func(k string) string { return m[k] }
}

// Upstream is how the proxy reaches AWS from the command's environment:
// its proxies and its AWS_CA_BUNDLE, which must be readable.
func Upstream(environ []string) (wiretap.Upstream, error) {
	getenv := environGetenv(environ)
	up := wiretap.UpstreamFromEnv(getenv)
	if path := getenv("AWS_CA_BUNDLE"); path != "" {
		b, err := safefile.Read(path, maxCABundle)
		if err != nil {
			return up, fmt.Errorf("AWS_CA_BUNDLE=%s: %w", path, err)
		}
		up.CABundle = b
	}
	return up, nil
}

// Start starts both observers; clientID tells this run's monitoring
// events from any other sender's.
func Start(up wiretap.Upstream, endpoint *url.URL, clientID string) (*Observers, error) {
	o := &Observers{wire: csm.NewCollector("")}
	var err error
	o.proxy, err = wiretap.Start(wiretap.Options{Sink: o.record, Endpoint: endpoint, Upstream: up})
	if err != nil {
		return nil, fmt.Errorf("start the proxy that observes AWS calls: %w", err)
	}
	if o.csm, err = csm.Listen(clientID); err != nil {
		o.proxy.Close()
		return nil, err
	}
	return o, nil
}

// record counts an attempt the proxy saw, and its call when it ended one.
func (o *Observers) record(r wiretap.Record) {
	ob := csm.Observation{Service: r.Service, API: r.API, Region: r.Region, Code: r.Code, Message: r.Message}
	o.wire.Observe(ob)
	if r.Final {
		ob.Call = true
		o.wire.Observe(ob)
	}
}

// Environ is the command's environment with both observers switched on.
func (o *Observers) Environ(base []string) []string { return o.proxy.Environ(o.csm.Environ(base)) }

// Close stops both and returns the calls, each seen once, with what a
// reader needs to trust an empty list.
func (o *Observers) Close() ([]csm.Call, csm.Stats, []string) {
	ps := o.proxy.Close()
	col := o.csm.Close()
	calls := csm.Merge(o.wire.Calls(), col.Calls())
	stats := csm.MergeStats(o.wire.Stats(), col.Stats())
	stats.Ignored = col.Stats().Ignored // the wire's unnamed requests are told apart below
	var notes []string
	if ps.Unnamed > 0 {
		notes = append(notes, fmt.Sprintf("%d requests to AWS hosts were not signed API calls exec can name (unsigned, or a REST API it has no table for): not in the report", ps.Unnamed))
	}
	if ps.Failed > 0 {
		notes = append(notes, fmt.Sprintf("%d requests could not be forwarded by exec's proxy (the client got 502)", ps.Failed))
	}
	if len(calls) == 0 {
		stats.Reason = notObserved(ps)
	}
	return calls, stats, notes
}

// notObserved says why a command may have used AWS all the same.
func notObserved(ps wiretap.Stats) string {
	var b strings.Builder
	b.WriteString("no AWS calls observed: none passed exec's proxy and no client-side monitoring event came. " +
		"The command made none, or its client ignores HTTPS_PROXY, or it called an endpoint exec does not intercept " +
		"(a template's own custom_endpoint_*: leave it out and pass that URL to exec as --endpoint-url)")
	if ps.Requests > 0 {
		fmt.Fprintf(&b, "; %d requests reached AWS hosts but none was a signed call exec can name", ps.Requests)
	}
	if ps.Tunnelled > 0 {
		fmt.Fprintf(&b, "; %d connections to other hosts passed untouched (%s)", ps.Tunnelled, strings.Join(ps.Hosts, ", "))
	}
	return b.String()
}
