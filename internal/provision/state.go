package provision

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/buildrole/buildrole/internal/naming"
)

// State names what one run created or meant to create. It is saved before
// the first create so that a teardown after a crash knows what to delete.
// It holds no secrets.
type State struct {
	RunID           string `json:"run-id"`
	Region          string `json:"region"`
	Path            string `json:"path,omitempty"`
	Role            string `json:"role-name,omitempty"`
	BuildPolicy     string `json:"build-policy,omitempty"`
	InstanceRole    string `json:"instance-role-name,omitempty"`
	InstancePolicy  string `json:"instance-policy,omitempty"`
	InstanceProfile string `json:"instance-profile-name,omitempty"`
	ProfileRole     string `json:"profile-role,omitempty"`
	// Pending names resources whose create was still in flight when up
	// had to stop: they may appear after up has exited. Down waits for
	// them until PendingSince plus PendingWindow.
	Pending      string `json:"pending,omitempty"` // comma-separated kind/name
	PendingSince string `json:"pending-since,omitempty"`
}

// Empty reports whether there is nothing to delete.
func (s State) Empty() bool {
	return s.Role == "" && s.InstanceRole == "" && s.InstanceProfile == ""
}

// Map flattens the state into key/value pairs (GITHUB_STATE entries).
func (s State) Map() map[string]string {
	b, _ := json.Marshal(s)
	var m map[string]string
	_ = json.Unmarshal(b, &m)
	return m
}

// Keys are the state keys in a stable order.
func (s State) Keys() []string {
	m := s.Map()
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// StateKeys are every key a State may hold, for reading STATE_* variables.
var StateKeys = []string{"run-id", "region", "path", "role-name", "build-policy", "instance-role-name", "instance-policy", "instance-profile-name", "profile-role", "pending", "pending-since"}

// MaxStateValue bounds one state value; the longest legitimate one is an
// IAM path (512 characters) or the pending list.
const MaxStateValue = 1024

var (
	runIDRE     = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	stateRegion = regexp.MustCompile(`^[a-z]{2,4}(-[a-z]+)+-[0-9]{1,2}$`)
	iamNameRE   = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
)

// IsRunID reports whether id has the form of a run id: a lower-case UUID,
// as up makes them.
func IsRunID(id string) bool { return runIDRE.MatchString(id) }

// StateFromMap reads a saved state and validates it like input: only known
// keys (StateKeys plus extra, the caller's own), bounded values, a UUID run
// id, and names that IAM accepts and that carry the run's unique part, so
// that a stale, copied or edited state cannot send arbitrary names to IAM.
func StateFromMap(m map[string]string, extra ...string) (State, error) {
	var errs []error
	for _, k := range sortedKeys(m) {
		v := m[k]
		switch {
		case !slices.Contains(StateKeys, k) && !slices.Contains(extra, k):
			errs = append(errs, fmt.Errorf("unknown key %q", truncate(k)))
		case len(v) > MaxStateValue:
			errs = append(errs, fmt.Errorf("%s: %d bytes, more than %d", k, len(v), MaxStateValue))
		case !utf8.ValidString(v) || strings.ContainsAny(v, "\x00\r\n"):
			errs = append(errs, fmt.Errorf("%s: not one line of text", k))
		}
	}
	if len(errs) > 0 {
		return State{}, fmt.Errorf("invalid state: %w", errors.Join(errs...))
	}
	var s State
	b, _ := json.Marshal(m)
	if err := json.Unmarshal(b, &s); err != nil {
		return State{}, fmt.Errorf("invalid state: %w", err)
	}
	if err := s.Validate(); err != nil {
		return State{}, fmt.Errorf("invalid state: %w", err)
	}
	return s, nil
}

// Validate checks a state as a run of buildrole writes it.
func (s State) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if !IsRunID(s.RunID) {
		bad("run-id", "%q is not a buildrole run id (a lower-case UUID)", truncate(s.RunID))
	}
	if !stateRegion.MatchString(s.Region) {
		bad("region", "%q is not an AWS region code", truncate(s.Region))
	}
	if err := naming.ValidatePath(s.Path); err != nil {
		bad("path", "%v", err)
	}
	short := naming.Short(s.RunID)
	name := func(key, v, want string) {
		switch {
		case v == "":
		case !iamNameRE.MatchString(v):
			bad(key, "%q is not an IAM role or instance profile name", truncate(v))
		case want != "" && v != want:
			bad(key, "%q should be %q, the name buildrole derives for this run", v, want)
		}
	}
	if s.Role == "" {
		bad("role-name", "missing")
	} else if IsRunID(s.RunID) && !strings.HasSuffix(s.Role, "-"+short) {
		bad("role-name", "%q does not end in -%s, the unique part of run %s", truncate(s.Role), short, truncate(s.RunID))
	}
	name("role-name", s.Role, "")
	instance := ""
	if s.Role != "" {
		instance = s.Role + naming.InstanceSuffix
	}
	name("instance-role-name", s.InstanceRole, instance)
	switch s.InstanceProfile {
	case "", s.Role, instance:
	default:
		bad("instance-profile-name", "%q is neither the build role's name nor the instance role's", truncate(s.InstanceProfile))
	}
	name("instance-profile-name", s.InstanceProfile, "")
	if s.ProfileRole != "" && s.ProfileRole != s.Role && s.ProfileRole != s.InstanceRole {
		bad("profile-role", "%q is not one of the run's roles", truncate(s.ProfileRole))
	}
	if s.BuildPolicy != "" && s.BuildPolicy != BuildPolicyName {
		bad("build-policy", "%q should be %q", truncate(s.BuildPolicy), BuildPolicyName)
	}
	if s.InstancePolicy != "" && (s.InstancePolicy != InstancePolicyName || s.InstanceRole == "") {
		bad("instance-policy", "%q should be %q, with an instance role", truncate(s.InstancePolicy), InstancePolicyName)
	}
	for _, p := range s.PendingNames() {
		if p.Kind == "" || p.Name != s.Role && p.Name != s.InstanceRole && p.Name != s.InstanceProfile {
			bad("pending", "%q is not one of the run's resources", truncate(p.Kind+"/"+p.Name))
		}
	}
	if s.Pending != "" {
		if _, err := time.Parse(time.RFC3339, s.PendingSince); err != nil {
			bad("pending-since", "%q is not an RFC 3339 time", truncate(s.PendingSince))
		}
	}
	return errors.Join(errs...)
}

// Resource names one IAM resource of a run.
type Resource struct {
	Kind string // KindRole or KindProfile
	Name string
}

// Resource kinds, as reports name them.
const (
	KindRole    = "role"
	KindProfile = "instance-profile"
)

// PendingNames parses Pending.
func (s State) PendingNames() []Resource {
	var out []Resource
	for _, e := range strings.Split(s.Pending, ",") {
		kind, name, ok := strings.Cut(strings.TrimSpace(e), "/")
		if ok && (kind == KindRole || kind == KindProfile) {
			out = append(out, Resource{kind, name})
		} else if e != "" {
			out = append(out, Resource{"", e})
		}
	}
	return out
}

// truncate keeps error messages short whatever a state holds.
func truncate(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
