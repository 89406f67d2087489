package run

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/buildrole/buildrole/internal/awsfacts"
)

// State names what one run created or meant to create, and how its post
// step authenticates. Up saves it before the first create, so that a
// teardown after a crash knows what to delete. It holds no secret.
type State struct {
	RunID  string
	Region string
	// Regions are the build's regions, where its EC2 leftovers may be;
	// empty in a state saved before they were kept: Region alone.
	Regions         []string
	Path            string
	Role            string
	BuildPolicy     string
	InstanceRole    string
	InstancePolicy  string
	InstanceProfile string
	ProfileRole     string
	// Pending are resources IAM may not show yet: every resource from
	// up's first create, and after an unknown outcome what may still
	// appear. Down waits for them until PendingSince plus its window.
	Pending      []Resource
	PendingSince time.Time
	// Confirmed are resources up saw exist after creating them (read
	// back, assumed, listed in the profile): IAM showed them, so a later
	// NoSuchEntity means gone, and down does not wait for them.
	Confirmed []Resource

	// RoleToAssume and Audience are the bootstrap inputs the post step
	// reuses.
	RoleToAssume string
	Audience     string
	// ExportedKeyID is the access key id of the build-role credentials up
	// exported: teardown never signs with them.
	ExportedKeyID string
}

// State keys, as GITHUB_STATE names them and --state-file's JSON object
// holds them.
const (
	KeyRunID           = "run-id"
	KeyRegion          = "region"
	KeyRegions         = "regions"
	KeyPath            = "path"
	KeyRole            = "role-name"
	KeyBuildPolicy     = "build-policy"
	KeyInstanceRole    = "instance-role-name"
	KeyInstancePolicy  = "instance-policy"
	KeyInstanceProfile = "instance-profile-name"
	KeyProfileRole     = "profile-role"
	KeyPending         = "pending"
	KeyPendingSince    = "pending-since"
	KeyConfirmed       = "confirmed"
	KeyRoleToAssume    = "role-to-assume"
	KeyAudience        = "audience"
	KeyExportedKeyID   = "exported-key-id"
)

// stringFields maps the keys of plain text values to their fields.
func (s *State) stringFields() []struct {
	key string
	v   *string
} {
	return []struct {
		key string
		v   *string
	}{
		{KeyRunID, &s.RunID}, {KeyRegion, &s.Region}, {KeyPath, &s.Path},
		{KeyRole, &s.Role}, {KeyBuildPolicy, &s.BuildPolicy},
		{KeyInstanceRole, &s.InstanceRole}, {KeyInstancePolicy, &s.InstancePolicy},
		{KeyInstanceProfile, &s.InstanceProfile}, {KeyProfileRole, &s.ProfileRole},
		{KeyRoleToAssume, &s.RoleToAssume}, {KeyAudience, &s.Audience},
		{KeyExportedKeyID, &s.ExportedKeyID},
	}
}

// StateKeys are every key a state may hold, sorted, for reading STATE_*
// variables.
func StateKeys() []string {
	var s State
	keys := []string{KeyPending, KeyPendingSince, KeyConfirmed, KeyRegions}
	for _, f := range s.stringFields() {
		keys = append(keys, f.key)
	}
	slices.Sort(keys)
	return keys
}

// MaxStateValue bounds one state value; the longest legitimate one is an
// IAM path (512 characters) or the pending list.
const MaxStateValue = 1024

// Empty reports whether there is nothing to delete.
func (s State) Empty() bool {
	return s.Role == "" && s.InstanceRole == "" && s.InstanceProfile == ""
}

// Map flattens the state into key/value pairs (GITHUB_STATE entries); empty
// values are left out.
func (s State) Map() map[string]string {
	m := map[string]string{}
	for _, f := range s.stringFields() {
		if *f.v != "" {
			m[f.key] = *f.v
		}
	}
	if len(s.Regions) > 0 {
		m[KeyRegions] = strings.Join(s.Regions, ",")
	}
	if len(s.Pending) > 0 {
		// A pending state always says since when.
		m[KeyPending] = resourceList(s.Pending)
		m[KeyPendingSince] = s.PendingSince.UTC().Format(time.RFC3339)
	}
	if len(s.Confirmed) > 0 {
		m[KeyConfirmed] = resourceList(s.Confirmed)
	}
	return m
}

// resourceList is the saved form of a list of the run's resources:
// "role/NAME,instance-profile/NAME".
func resourceList(rs []Resource) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = r.Kind.IAMType() + "/" + r.Name
	}
	return strings.Join(parts, ",")
}

// Resources lists the run's resources the state names, the instance
// profile first (it holds a role).
func (s State) Resources() []Resource {
	var out []Resource
	if s.InstanceProfile != "" {
		out = append(out, Resource{KindInstanceProfile, s.InstanceProfile})
	}
	if s.Role != "" {
		out = append(out, Resource{KindRole, s.Role})
	}
	if s.InstanceRole != "" && s.InstanceRole != s.Role {
		out = append(out, Resource{KindInstanceRole, s.InstanceRole})
	}
	return out
}

// PolicyOf is the inline policy the state names for a role ("" if none).
func (s State) PolicyOf(role string) string {
	switch role {
	case s.Role:
		return s.BuildPolicy
	case s.InstanceRole:
		return s.InstancePolicy
	}
	return ""
}

// IsPending reports whether the state saved r as pending.
func (s State) IsPending(r Resource) bool { return slices.Contains(s.Pending, r) }

// IsConfirmed reports whether up saw r exist.
func (s State) IsConfirmed(r Resource) bool { return slices.Contains(s.Confirmed, r) }

var (
	runIDRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	keyIDRE = regexp.MustCompile(`^[A-Z0-9]{16,128}$`)
)

// IsRunID reports whether id has the form of a run id: a lower-case UUID,
// as up makes them.
func IsRunID(id string) bool { return runIDRE.MatchString(id) }

// StateFromMap reads a saved state and validates it like input: only known
// keys, bounded one-line values, a UUID run id, and names that IAM accepts
// and that carry the run's unique part, so that a stale, copied or edited
// state cannot send arbitrary names to IAM.
func StateFromMap(m map[string]string) (State, error) {
	known := StateKeys()
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v := m[k]
		switch {
		case !slices.Contains(known, k):
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
	for _, f := range s.stringFields() {
		*f.v = m[f.key]
	}
	if v := m[KeyRegions]; v != "" {
		s.Regions = strings.Split(v, ",")
	}
	errs = append(errs, s.readPending(m[KeyPending], m[KeyPendingSince]))
	var cerr error
	s.Confirmed, cerr = s.readResources(KeyConfirmed, m[KeyConfirmed])
	errs = append(errs, cerr)
	errs = append(errs, s.Validate())
	if err := errors.Join(errs...); err != nil {
		return State{}, fmt.Errorf("invalid state: %w", err)
	}
	return s, nil
}

// readPending parses "role/NAME,instance-profile/NAME": each entry must be
// one of the run's resources, which gives it its kind.
func (s *State) readPending(list, since string) error {
	if list == "" {
		return nil
	}
	var errs []error
	var err error
	s.Pending, err = s.readResources(KeyPending, list)
	errs = append(errs, err)
	t, err := time.Parse(time.RFC3339, since)
	if err != nil {
		errs = append(errs, fmt.Errorf("%s: %q is not an RFC 3339 time", KeyPendingSince, truncate(since)))
	}
	// The saved form has whole seconds; so has the state read back.
	s.PendingSince = t.UTC().Truncate(time.Second)
	return errors.Join(errs...)
}

// readResources parses a list of the run's resources saved under key;
// each entry must be one of them, which gives it its kind. A resource
// named twice is read once.
func (s State) readResources(key, list string) ([]Resource, error) {
	var out []Resource
	var errs []error
	for _, e := range strings.Split(list, ",") {
		if strings.TrimSpace(e) == "" {
			continue
		}
		typ, name, _ := strings.Cut(strings.TrimSpace(e), "/")
		r, ok := s.resource(typ, name)
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("%s: %q is not one of the run's resources", key, truncate(e)))
		case !slices.Contains(out, r):
			out = append(out, r)
		}
	}
	return out, errors.Join(errs...)
}

// resource finds the run's resource of IAM type typ named name.
func (s State) resource(typ, name string) (Resource, bool) {
	for _, r := range s.Resources() {
		if r.Kind.IAMType() == typ && r.Name == name && name != "" {
			return r, true
		}
	}
	return Resource{}, false
}

// Validate checks a state as a run of buildrole writes it.
func (s State) Validate() error {
	v := &validator{}
	if !IsRunID(s.RunID) {
		v.bad(KeyRunID, "%q is not a buildrole run id (a lower-case UUID)", truncate(s.RunID))
	}
	if !awsfacts.IsRegion(s.Region) {
		v.bad(KeyRegion, "%q is not an AWS region code", truncate(s.Region))
	}
	if err := ValidatePath(s.Path); err != nil {
		v.bad(KeyPath, "%v", err)
	}
	s.validateRegions(v)
	s.validateNames(v)
	s.validatePolicies(v)
	for _, r := range s.Pending {
		if !slices.Contains(s.Resources(), r) {
			v.bad(KeyPending, "%q is not one of the run's resources", truncate(r.String()))
		}
	}
	for _, r := range s.Confirmed {
		if !slices.Contains(s.Resources(), r) {
			v.bad(KeyConfirmed, "%q is not one of the run's resources", truncate(r.String()))
		}
	}
	if s.ExportedKeyID != "" && !keyIDRE.MatchString(s.ExportedKeyID) {
		v.bad(KeyExportedKeyID, "%q is not an AWS access key id", truncate(s.ExportedKeyID))
	}
	return errors.Join(v.errs...)
}

type validator struct{ errs []error }

func (v *validator) bad(key, format string, args ...any) {
	v.errs = append(v.errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
}

// validateNames checks that every name is IAM's and the run's own: the
// build role ends in the run's unique part, the instance role and profile
// follow from it.
func (s State) validateNames(v *validator) {
	name := func(key, got, want string) {
		switch {
		case got == "":
		case !awsfacts.IsRoleName(got):
			v.bad(key, "%q is not an IAM role or instance profile name", truncate(got))
		case want != "" && got != want:
			v.bad(key, "%q should be %q, the name buildrole derives for this run", got, want)
		}
	}
	short := Short(s.RunID)
	if s.Role == "" {
		v.bad(KeyRole, "missing")
	} else if IsRunID(s.RunID) && !strings.HasSuffix(s.Role, "-"+short) {
		v.bad(KeyRole, "%q does not end in -%s, the unique part of run %s", truncate(s.Role), short, truncate(s.RunID))
	}
	name(KeyRole, s.Role, "")
	instance := ""
	if s.Role != "" {
		instance = s.Role + InstanceSuffix
	}
	name(KeyInstanceRole, s.InstanceRole, instance)
	switch s.InstanceProfile {
	case "", s.Role, instance:
	default:
		v.bad(KeyInstanceProfile, "%q is neither the build role's name nor the instance role's", truncate(s.InstanceProfile))
	}
	name(KeyInstanceProfile, s.InstanceProfile, "")
	if s.ProfileRole != "" && s.ProfileRole != s.Role && s.ProfileRole != s.InstanceRole {
		v.bad(KeyProfileRole, "%q is not one of the run's roles", truncate(s.ProfileRole))
	}
}

// MaxRegions bounds the build regions a state names: EC2 has fewer.
const MaxRegions = 64

// validateRegions checks the build regions: distinct region codes.
func (s State) validateRegions(v *validator) {
	if len(s.Regions) > MaxRegions {
		v.bad(KeyRegions, "%d regions, more than %d", len(s.Regions), MaxRegions)
		return
	}
	for i, r := range s.Regions {
		switch {
		case !awsfacts.IsRegion(r):
			v.bad(KeyRegions, "%q is not an AWS region code", truncate(r))
		case slices.Contains(s.Regions[:i], r):
			v.bad(KeyRegions, "%q is listed twice", r)
		}
	}
}

// BuildRegions are the regions where the run's build may have left EC2
// resources: the saved build regions, else the run's region.
func (s State) BuildRegions() []string {
	if len(s.Regions) > 0 {
		return s.Regions
	}
	return []string{s.Region}
}

func (s State) validatePolicies(v *validator) {
	if s.BuildPolicy != "" && s.BuildPolicy != BuildPolicyName {
		v.bad(KeyBuildPolicy, "%q should be %q", truncate(s.BuildPolicy), BuildPolicyName)
	}
	if s.InstancePolicy != "" && (s.InstancePolicy != InstancePolicyName || s.InstanceRole == "") {
		v.bad(KeyInstancePolicy, "%q should be %q, with an instance role", truncate(s.InstancePolicy), InstancePolicyName)
	}
}

// truncate keeps error messages short whatever a state holds.
func truncate(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}
