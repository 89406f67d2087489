package csm

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/buildrole/buildrole/internal/awsfacts"
)

// Environment variables that switch an SDK's client-side monitoring on.
const (
	EnvEnabled  = "AWS_CSM_ENABLED"
	EnvHost     = "AWS_CSM_HOST"
	EnvPort     = "AWS_CSM_PORT"
	EnvClientID = "AWS_CSM_CLIENT_ID"
)

// Limits: whatever arrives on the port, a run's memory stays bounded.
const (
	maxDatagram = 64 << 10 // UDP's own limit; the SDK sends under 2 KiB
	maxCalls    = 2000     // distinct service:Api pairs
	maxCodes    = 32       // distinct error codes per call
	maxRegions  = 16       // distinct regions per call
	maxMessage  = 512      // the SDK cuts its messages at 512 too
)

// event is the part of a CSM datagram buildrole reads. The SDK also sends
// AccessKey, SessionToken and UserAgent: they are not fields here, so they
// are never decoded, kept or printed.
type event struct {
	ClientID            string `json:"ClientId"`
	Version             int    `json:"Version"`
	Type                string `json:"Type"`
	Service             string `json:"Service"`
	API                 string `json:"Api"`
	Region              string `json:"Region"`
	AwsException        string `json:"AwsException"`
	AwsExceptionMessage string `json:"AwsExceptionMessage"`
	SdkException        string `json:"SdkException"`
	FinalAwsException   string `json:"FinalAwsException"`
	FinalAwsMessage     string `json:"FinalAwsExceptionMessage"`
	FinalSdkException   string `json:"FinalSdkException"`
}

// Call is what one AWS operation did during a run.
type Call struct {
	Service  string `json:"service"` // the IAM service prefix: ec2, iam, sts
	API      string `json:"api"`     // the SDK's operation name
	Action   string `json:"action"`  // the IAM action the call needs
	Count    int    `json:"count"`   // calls made
	Attempts int    `json:"attempts"`
	// Errors counts calls that failed, by final error code.
	Errors map[string]int `json:"errors"`
	// Retried counts failed attempts the SDK retried (throttling, 5xx).
	Retried map[string]int `json:"retried,omitempty"`
	Regions []string       `json:"regions"`

	messages map[string]string // first message per code, access keys removed
}

// Failed is the number of calls that ended in an error.
func (c Call) Failed() int {
	n := 0
	for _, v := range c.Errors {
		n += v
	}
	return n
}

// Message is the first error message seen for code ("" if none).
func (c Call) Message(code string) string { return c.messages[code] }

// agg accumulates one service:Api.
type agg struct {
	service, api, action string
	calls, attempts      int
	final, attempt       map[string]int
	messages             map[string]string
	regions              []string
}

// Stats says what arrived besides the calls.
type Stats struct {
	Events   int // CSM events of this client
	Ignored  int // datagrams that were not CSM events of this client
	Overflow int // events dropped because a run made more distinct calls than buildrole keeps
	// Reason says why a run without calls may have made some all the
	// same; the report's message then. "" is NoEventsMessage.
	Reason string
}

// Collector aggregates CSM events; it is safe for concurrent use.
type Collector struct {
	clientID string
	mu       sync.Mutex
	calls    map[string]*agg // by lower-case action
	order    []string        // first-seen, as the command made them
	stats    Stats
}

// NewCollector keeps the events of clientID ("" accepts every client).
func NewCollector(clientID string) *Collector {
	return &Collector{clientID: clientID, calls: map[string]*agg{}}
}

var (
	apiName     = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]{0,127}$`)
	serviceName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$`)
	errorCode   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)
)

// Add reads one datagram and reports whether it was a CSM event of this
// client; anything else is counted and dropped.
func (c *Collector) Add(datagram []byte) bool {
	var ev event
	if len(datagram) > maxDatagram || json.Unmarshal(datagram, &ev) != nil || !ev.valid() ||
		(c.clientID != "" && ev.ClientID != c.clientID) {
		c.mu.Lock()
		c.stats.Ignored++
		c.mu.Unlock()
		return false
	}
	if ev.Type == "ApiCall" {
		return c.Observe(Observation{Call: true, Service: ev.Service, API: ev.API, Region: ev.Region, Code: firstOf(ev.FinalAwsException, ev.FinalSdkException), Message: ev.FinalAwsMessage})
	}
	return c.Observe(Observation{Service: ev.Service, API: ev.API, Region: ev.Region, Code: firstOf(ev.AwsException, ev.SdkException), Message: ev.AwsExceptionMessage})
}

// Observation is one attempt of a call, or (Call) the call's outcome, as
// a CSM event or the wire (package wiretap, through cli) tells it.
type Observation struct {
	Call    bool
	Service string // the SDK's service id ("EC2") or the IAM prefix ("ec2")
	API     string
	Region  string
	Code    string // error code; "" on success
	Message string
}

// Observe counts one observation; false when it names no call.
func (c *Collector) Observe(o Observation) bool {
	if !apiName.MatchString(o.API) || !serviceName.MatchString(o.Service) {
		c.mu.Lock()
		c.stats.Ignored++
		c.mu.Unlock()
		return false
	}
	service := servicePrefix(o.Service)
	action := actionName(service, o.API)
	k := strings.ToLower(service + ":" + o.API)
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.calls[k]
	if a == nil {
		if len(c.calls) >= maxCalls {
			c.stats.Overflow++
			return true
		}
		a = &agg{service: service, api: o.API, action: action, final: map[string]int{}, attempt: map[string]int{}, messages: map[string]string{}}
		c.calls[k] = a
		c.order = append(c.order, k)
	}
	c.stats.Events++
	if o.Region != "" && awsfacts.IsRegion(o.Region) && len(a.regions) < maxRegions && !contains(a.regions, o.Region) {
		a.regions = append(a.regions, o.Region)
	}
	if o.Call {
		a.calls++
		a.count(a.final, o.Code, o.Message)
		return true
	}
	a.attempts++
	a.count(a.attempt, o.Code, o.Message)
	return true
}

func (a *agg) count(m map[string]int, code, msg string) {
	if code == "" || !errorCode.MatchString(code) {
		return
	}
	if _, ok := m[code]; !ok && len(m) >= maxCodes {
		return
	}
	m[code]++
	if _, ok := a.messages[code]; !ok && msg != "" && len(a.messages) < maxCodes {
		a.messages[code] = cleanMessage(code, msg)
	}
}

func (ev event) valid() bool {
	// The SDK sets Version on attempts only.
	return (ev.Version == 1 || ev.Version == 0 && ev.Type == "ApiCall") && (ev.Type == "ApiCall" || ev.Type == "ApiCallAttempt") &&
		apiName.MatchString(ev.API) && serviceName.MatchString(ev.Service)
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Calls returns every call seen, in the order first seen.
func (c *Collector) Calls() []Call {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Call, 0, len(c.order))
	for _, k := range c.order {
		a := c.calls[k]
		call := Call{
			Service: a.service, API: a.api, Action: a.action,
			// The SDK drops events when its queue is full: with every
			// ApiCall lost, the attempts are the best count left.
			Count:    a.calls,
			Attempts: a.attempts,
			Errors:   map[string]int{},
			Regions:  append([]string(nil), a.regions...),
			messages: a.messages,
		}
		for code, n := range a.final {
			call.Errors[code] = n
		}
		for code, n := range a.attempt {
			switch {
			case awsfacts.IsDenied(code):
				// Refusals are never retried: an attempt refused is a call refused.
				call.Errors[code] = max(call.Errors[code], n)
			case n > a.final[code]:
				if call.Retried == nil {
					call.Retried = map[string]int{}
				}
				call.Retried[code] = n - a.final[code]
			}
		}
		if call.Count == 0 {
			call.Count = a.attempts
		}
		out = append(out, call)
	}
	return out
}

// Stats reports what arrived besides the calls.
func (c *Collector) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// servicePrefixes maps SDK service ids whose IAM prefix is not the id in
// lower case without spaces.
var servicePrefixes = map[string]string{
	"ec2 instance connect":      "ec2-instance-connect",
	"cloudwatch logs":           "logs",
	"elastic load balancing":    "elasticloadbalancing",
	"elastic load balancing v2": "elasticloadbalancing",
	"ssm messages":              "ssmmessages",
}

// servicePrefix turns the SDK's service id ("EC2", "Secrets Manager") into
// the IAM service prefix ("ec2", "secretsmanager").
func servicePrefix(id string) string {
	l := strings.ToLower(strings.TrimSpace(id))
	if p, ok := servicePrefixes[l]; ok {
		return p
	}
	return strings.NewReplacer(" ", "", "_", "").Replace(l)
}

// actionName is the IAM action an operation needs: its own name, except
// for S3's few that share another's.
func actionName(service, api string) string {
	if service == "s3" {
		if a := awsfacts.S3Actions(api); a != nil {
			return a[0]
		}
	}
	return service + ":" + api
}

var (
	accessKeyID = regexp.MustCompile(`\b(AKIA|ASIA)[A-Z0-9]{16}\b`)
	sdkTrailer  = regexp.MustCompile(`\s*status code: \d+, request id:.*$`)
)

// cleanMessage keeps what a person reads: no "Code: " prefix, no SDK
// trailer, one line, no access key id.
func cleanMessage(code, msg string) string {
	if len(msg) > maxMessage {
		msg = msg[:maxMessage]
	}
	msg = strings.TrimPrefix(msg, code+": ")
	msg = strings.Join(strings.Fields(msg), " ")
	msg = sdkTrailer.ReplaceAllString(msg, "")
	return accessKeyID.ReplaceAllString(msg, "[access key id]")
}

// Listener receives CSM datagrams on a loopback UDP port.
type Listener struct {
	conn     *net.UDPConn
	col      *Collector
	clientID string
	stop     chan struct{}
	done     chan struct{}
	once     sync.Once
}

const (
	pollEvery = 50 * time.Millisecond // how often the reader looks for Close
	maxDrain  = 2 * time.Second       // Close reads on at most this long
	// quiet ends the drain: the command has exited, so what it sent is
	// already queued on the socket.
	quiet = 5 * time.Millisecond
)

// Listen binds a free UDP port on 127.0.0.1 and collects the events of
// clientID until Close.
func Listen(clientID string) (*Listener, error) {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, fmt.Errorf("listen for client-side monitoring events on 127.0.0.1: %w", err)
	}
	// A burst of events must not overflow the socket while the reader runs.
	_ = conn.SetReadBuffer(4 << 20)
	l := &Listener{conn: conn, col: NewCollector(clientID), clientID: clientID, stop: make(chan struct{}), done: make(chan struct{})}
	go l.read()
	return l, nil
}

// Port is the UDP port the listener is bound to.
func (l *Listener) Port() int { return l.conn.LocalAddr().(*net.UDPAddr).Port }

// Env is what a command needs in its environment to send its events here.
func (l *Listener) Env() []string {
	return []string{
		EnvEnabled + "=true",
		EnvHost + "=127.0.0.1",
		EnvPort + "=" + strconv.Itoa(l.Port()),
		EnvClientID + "=" + l.clientID,
	}
}

// Environ is base with monitoring switched on toward this listener: the
// variables of Env replace any AWS_CSM_* that base has.
func (l *Listener) Environ(base []string) []string {
	monitor := l.Env()
	out := make([]string, 0, len(base)+len(monitor))
	for _, kv := range base {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(strings.ToUpper(name), "AWS_CSM_") {
			out = append(out, kv)
		}
	}
	return append(out, monitor...)
}

func (l *Listener) read() {
	defer close(l.done)
	buf := make([]byte, maxDatagram)
	stopping, deadline := false, time.Time{}
	for {
		wait := pollEvery
		if stopping {
			wait = quiet
		}
		_ = l.conn.SetReadDeadline(time.Now().Add(wait))
		n, from, err := l.conn.ReadFromUDP(buf)
		switch {
		case err == nil && from.IP.IsLoopback():
			l.col.Add(buf[:n])
		case err == nil:
			l.col.Add(nil) // counted as ignored
		case !errors.Is(err, os.ErrDeadlineExceeded):
			return
		}
		if !stopping {
			select {
			case <-l.stop:
				// Close's wake-up may have cut this read short: drain from here.
				stopping, deadline = true, time.Now().Add(maxDrain)
				continue
			default:
			}
		}
		// After Close, read what is queued until the port is quiet.
		if stopping && (err != nil || time.Now().After(deadline)) {
			return
		}
	}
}

// Close reads the events still queued, stops listening and returns the
// collector. The command has exited by then, so nothing more can come.
func (l *Listener) Close() *Collector {
	l.once.Do(func() {
		close(l.stop)
		// Wake a read waiting out its poll.
		_ = l.conn.SetReadDeadline(time.Now())
		<-l.done
		_ = l.conn.Close()
	})
	return l.col
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
