package fakeaws

import (
	"slices"
	"strings"
	"time"
)

// Seeding methods may be called before Start; they fix the defaults of any
// unset configuration field, so set fields first.

// Snapshot is a deep copy of the IAM state, each list sorted by name or ARN.
type Snapshot struct {
	Roles            []Role
	InstanceProfiles []InstanceProfile
	OIDCProviders    []OIDCProvider
}

// Role is a snapshot of an IAM role.
type Role struct {
	Name, Path, ARN, RoleID string
	AssumeRolePolicy        string // as given, not URL-encoded
	Description             string
	PermissionsBoundary     string // policy ARN
	MaxSessionDuration      int32
	Tags                    map[string]string
	InlinePolicies          map[string]string // name → document
	AttachedPolicies        []string          // policy ARNs
	Created                 time.Time
}

// InstanceProfile is a snapshot of an IAM instance profile.
type InstanceProfile struct {
	Name, Path, ARN, ID string
	Roles               []string // role names
	Tags                map[string]string
	Created             time.Time
}

// OIDCProvider is a snapshot of an IAM OpenID Connect provider.
type OIDCProvider struct {
	ARN, URL    string
	ClientIDs   []string
	Thumbprints []string
}

// Snapshot returns a deep copy of all IAM resources.
func (s *Server) Snapshot() Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out Snapshot
	for _, k := range sortedKeys(s.roles) {
		r := s.roles[k]
		inline := map[string]string{}
		for _, ip := range r.inline {
			inline[ip.name] = ip.doc
		}
		out.Roles = append(out.Roles, Role{
			Name: r.name, Path: r.path, ARN: r.arn, RoleID: r.id, AssumeRolePolicy: r.trust,
			Description: r.description, PermissionsBoundary: r.boundary, MaxSessionDuration: r.maxSession,
			Tags: tagMap(r.tags), InlinePolicies: inline, AttachedPolicies: slices.Clone(r.attached), Created: r.created,
		})
	}
	for _, k := range sortedKeys(s.profiles) {
		p := s.profiles[k]
		out.InstanceProfiles = append(out.InstanceProfiles, InstanceProfile{
			Name: p.name, Path: p.path, ARN: p.arn, ID: p.id, Roles: slices.Clone(p.roles),
			Tags: tagMap(p.tags), Created: p.created,
		})
	}
	for _, k := range sortedKeys(s.providers) {
		p := s.providers[k]
		out.OIDCProviders = append(out.OIDCProviders, OIDCProvider{
			ARN: p.arn, URL: p.url, ClientIDs: slices.Clone(p.clientIDs), Thumbprints: slices.Clone(p.thumbprints),
		})
	}
	return out
}

func tagMap(tags []resourceTag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	return m
}

// Empty reports whether no roles or instance profiles exist (OIDC providers
// are account setup, not per-run resources).
func (snap Snapshot) Empty() bool { return len(snap.Roles) == 0 && len(snap.InstanceProfiles) == 0 }

// AddOIDCProvider registers an OIDC provider without a logged request and
// returns its ARN; clientIDs default to "sts.amazonaws.com". An existing
// provider for url gets the client IDs added.
func (s *Server) AddOIDCProvider(url string, clientIDs ...string) (arn string) {
	s.setDefaults()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(clientIDs) == 0 {
		clientIDs = []string{"sts.amazonaws.com"}
	}
	if p := s.providers[s.providerARN(url)]; p != nil {
		for _, id := range clientIDs {
			if !slices.Contains(p.clientIDs, id) {
				p.clientIDs = append(p.clientIDs, id)
			}
		}
		return p.arn
	}
	p := &provider{arn: s.providerARN(url), url: url, clientIDs: slices.Clone(clientIDs),
		thumbprints: []string{githubThumbprint}, created: s.now()}
	s.providers[p.arn] = p
	return p.arn
}

// AddRole creates or replaces a role without a logged request, validation
// or propagation delay, and returns its ARN. path "" means "/"; the role's
// MaxSessionDuration is 3600.
func (s *Server) AddRole(name, path, trustPolicyJSON string) (arn string) {
	s.setDefaults()
	s.mu.Lock()
	defer s.mu.Unlock()
	if path == "" {
		path = "/"
	}
	now := s.now()
	r := &role{
		name: name, path: path, arn: s.roleARN(path, name), id: "AROA" + randString(upperAlnum, 17),
		trust: trustPolicyJSON, maxSession: minSessionDuration, inline: map[string]inlinePolicy{},
		created: now, // zero trustChanged: seeded roles are always propagated
	}
	if old := s.roles[strings.ToLower(name)]; old != nil {
		r.id, r.created, r.inline, r.attached, r.tags = old.id, old.created, old.inline, old.attached, old.tags
	}
	s.roles[strings.ToLower(name)] = r
	return r.arn
}

// SetRoleMaxSessionDuration changes a seeded role's MaxSessionDuration
// (seconds); it reports false if the role does not exist.
func (s *Server) SetRoleMaxSessionDuration(role string, seconds int32) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.roles[strings.ToLower(role)]
	if r == nil {
		return false
	}
	r.maxSession = seconds
	return true
}

// SetRoleDescription changes a seeded role's Description; it reports false
// if the role does not exist.
func (s *Server) SetRoleDescription(role, description string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.roles[strings.ToLower(role)]
	if r == nil {
		return false
	}
	r.description = description
	return true
}

// PutRolePolicyDirect sets an inline policy without a logged request or
// validation; it does nothing if the role does not exist.
func (s *Server) PutRolePolicyDirect(role, name, doc string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.roles[strings.ToLower(role)]; r != nil {
		r.inline[strings.ToLower(name)] = inlinePolicy{name: name, doc: doc}
	}
}

// Sessions returns the number of credential sets STS has issued.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// SetRoleCreated sets the CreateDate IAM reports for a role, which IAM
// alone sets (to seed an old role); it reports false if the role does not
// exist.
func (s *Server) SetRoleCreated(name string, t time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.roles[strings.ToLower(name)]
	if r == nil {
		return false
	}
	r.created = t.UTC()
	return true
}

// SetInstanceProfileCreated is SetRoleCreated for an instance profile.
func (s *Server) SetInstanceProfileCreated(name string, t time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.profiles[strings.ToLower(name)]
	if p == nil {
		return false
	}
	p.created = t.UTC()
	return true
}
