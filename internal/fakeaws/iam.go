package fakeaws

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// IAM quotas and patterns, from the IAM API reference.
const (
	maxRoleName        = 64
	maxProfileName     = 128
	maxPolicyName      = 128
	maxPath            = 512
	maxTags            = 50
	maxTagKey          = 128
	maxTagValue        = 256
	maxTrustPolicy     = 2048
	maxRoleInline      = 10240
	maxAttached        = 10
	maxDescription     = 1000
	minSessionDuration = 3600
	maxSessionDuration = 43200
)

var (
	namePattern       = regexp.MustCompile(`^[\w+=,.@-]+$`)
	pathPattern       = regexp.MustCompile(`^(/|/[\x21-\x7E]+/)$`)
	pathPrefixPattern = regexp.MustCompile(`^/[\x21-\x7E]*$`)
	tagPattern        = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
	policyARNPattern  = regexp.MustCompile(`^arn:[\w-]+:iam::(aws|\d{12}):policy/([\x21-\x7E]*/)?[\w+=,.@-]+$`)
)

const (
	namePatternText = `satisfy regular expression pattern: [\w+=,.@-]+`
	pathPatternText = `satisfy regular expression pattern: (\u002F)|(\u002F[\u0021-\u007E]+\u002F)`
	tagPatternText  = `satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]*`
)

// resourceTag is an IAM resource tag.
type resourceTag struct{ Key, Value string }

type role struct {
	name, path, arn, id string
	trust               string
	description         string
	boundary            string
	maxSession          int32
	tags                []resourceTag
	inline              map[string]inlinePolicy // by lower-case name
	attached            []string
	created             time.Time
	trustChanged        time.Time // start of the propagation window
}

type inlinePolicy struct{ name, doc string }

type profile struct {
	name, path, arn, id string
	roles               []string // role names (at most one)
	tags                []resourceTag
	created             time.Time
}

type provider struct {
	arn, url    string
	clientIDs   []string
	thumbprints []string
	tags        []resourceTag
	created     time.Time
}

var iamActions = map[string]handler{
	"CreateRole":                         (*Server).createRole,
	"GetRole":                            (*Server).getRole,
	"DeleteRole":                         (*Server).deleteRole,
	"UpdateRole":                         (*Server).updateRole,
	"ListRoles":                          (*Server).listRoles,
	"UpdateAssumeRolePolicy":             (*Server).updateAssumeRolePolicy,
	"TagRole":                            (*Server).tagRole,
	"UntagRole":                          (*Server).untagRole,
	"ListRoleTags":                       (*Server).listRoleTags,
	"PutRolePolicy":                      (*Server).putRolePolicy,
	"GetRolePolicy":                      (*Server).getRolePolicy,
	"DeleteRolePolicy":                   (*Server).deleteRolePolicy,
	"ListRolePolicies":                   (*Server).listRolePolicies,
	"AttachRolePolicy":                   (*Server).attachRolePolicy,
	"DetachRolePolicy":                   (*Server).detachRolePolicy,
	"ListAttachedRolePolicies":           (*Server).listAttachedRolePolicies,
	"CreateInstanceProfile":              (*Server).createInstanceProfile,
	"GetInstanceProfile":                 (*Server).getInstanceProfile,
	"DeleteInstanceProfile":              (*Server).deleteInstanceProfile,
	"AddRoleToInstanceProfile":           (*Server).addRoleToInstanceProfile,
	"RemoveRoleFromInstanceProfile":      (*Server).removeRoleFromInstanceProfile,
	"ListInstanceProfiles":               (*Server).listInstanceProfiles,
	"ListInstanceProfilesForRole":        (*Server).listInstanceProfilesForRole,
	"TagInstanceProfile":                 (*Server).tagInstanceProfile,
	"UntagInstanceProfile":               (*Server).untagInstanceProfile,
	"ListInstanceProfileTags":            (*Server).listInstanceProfileTags,
	"CreateOpenIDConnectProvider":        (*Server).createOIDCProvider,
	"GetOpenIDConnectProvider":           (*Server).getOIDCProvider,
	"DeleteOpenIDConnectProvider":        (*Server).deleteOIDCProvider,
	"ListOpenIDConnectProviders":         (*Server).listOIDCProviders,
	"AddClientIDToOpenIDConnectProvider": (*Server).addClientIDToOIDCProvider,
}

func lookupAction(action string) (handler, string, bool) {
	if h, ok := stsActions[action]; ok {
		return h, "sts", true
	}
	h, ok := iamActions[action]
	return h, "iam", ok
}

// ---- XML shapes (field names follow the IAM API reference) ----

type tagXML struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

type boundaryXML struct {
	PermissionsBoundaryType string `xml:"PermissionsBoundaryType"`
	PermissionsBoundaryArn  string `xml:"PermissionsBoundaryArn"`
}

type roleXML struct {
	Path                     string       `xml:"Path"`
	RoleName                 string       `xml:"RoleName"`
	RoleId                   string       `xml:"RoleId"`
	Arn                      string       `xml:"Arn"`
	CreateDate               string       `xml:"CreateDate"`
	AssumeRolePolicyDocument string       `xml:"AssumeRolePolicyDocument,omitempty"`
	Description              string       `xml:"Description,omitempty"`
	MaxSessionDuration       int32        `xml:"MaxSessionDuration,omitempty"`
	PermissionsBoundary      *boundaryXML `xml:"PermissionsBoundary,omitempty"`
	Tags                     []tagXML     `xml:"Tags>member,omitempty"`
}

type profileXML struct {
	Path                string    `xml:"Path"`
	InstanceProfileName string    `xml:"InstanceProfileName"`
	InstanceProfileId   string    `xml:"InstanceProfileId"`
	Arn                 string    `xml:"Arn"`
	CreateDate          string    `xml:"CreateDate"`
	Roles               []roleXML `xml:"Roles>member"`
	Tags                []tagXML  `xml:"Tags>member,omitempty"`
}

type page struct {
	IsTruncated bool   `xml:"IsTruncated"`
	Marker      string `xml:"Marker,omitempty"`
}

func tagsXML(tags []resourceTag) []tagXML {
	out := make([]tagXML, len(tags))
	for i, t := range tags {
		out[i] = tagXML(t)
	}
	return out
}

// roleOut renders a role; full adds what ListRoles leaves out, as IAM does.
func (r *role) out(full bool) roleXML {
	x := roleXML{
		Path: r.path, RoleName: r.name, RoleId: r.id, Arn: r.arn,
		CreateDate:               isoTime(r.created),
		AssumeRolePolicyDocument: url.QueryEscape(r.trust),
		Description:              r.description,
		MaxSessionDuration:       r.maxSession,
	}
	if full {
		if r.boundary != "" {
			x.PermissionsBoundary = &boundaryXML{"Policy", r.boundary}
		}
		x.Tags = tagsXML(r.tags)
	}
	return x
}

func (s *Server) profileOut(p *profile, withTags bool) profileXML {
	x := profileXML{
		Path: p.path, InstanceProfileName: p.name, InstanceProfileId: p.id, Arn: p.arn,
		CreateDate: isoTime(p.created), Roles: []roleXML{},
	}
	for _, rn := range p.roles {
		if r := s.roles[strings.ToLower(rn)]; r != nil {
			x.Roles = append(x.Roles, r.out(false))
		}
	}
	if withTags {
		x.Tags = tagsXML(p.tags)
	}
	return x
}

// ---- parameter helpers ----

func listParam(p url.Values, prefix string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := p[fmt.Sprintf("%s.member.%d", prefix, i)]
		if !ok {
			return out
		}
		out = append(out, v[0])
	}
}

func tagsParam(p url.Values, prefix string) []resourceTag {
	var out []resourceTag
	for i := 1; ; i++ {
		k, ok := p[fmt.Sprintf("%s.member.%d.Key", prefix, i)]
		if !ok {
			return out
		}
		out = append(out, resourceTag{Key: k[0], Value: p.Get(fmt.Sprintf("%s.member.%d.Value", prefix, i))})
	}
}

func checkName(v *validation, field, name string, max int) {
	switch {
	case name == "":
		v.add(field, nil, "not be null")
	case utf8.RuneCountInString(name) > max:
		v.add(field, name, fmt.Sprintf("have length less than or equal to %d", max))
	case !namePattern.MatchString(name):
		v.add(field, name, namePatternText)
	}
}

func checkPath(v *validation, path string) {
	switch {
	case len(path) > maxPath:
		v.add("path", path, fmt.Sprintf("have length less than or equal to %d", maxPath))
	case !pathPattern.MatchString(path):
		v.add("path", path, pathPatternText)
	}
}

// checkTags validates tags for a request; the ValidationError part goes into
// v, reserved and duplicate keys are InvalidInput as in IAM.
func checkTags(v *validation, tags []resourceTag) *apiError {
	if len(tags) > maxTags {
		v.add("tags", fmt.Sprint(tagsXML(tags)), fmt.Sprintf("have length less than or equal to %d", maxTags))
	}
	seen := map[string]bool{}
	var dup, reserved bool
	for i, t := range tags {
		f := fmt.Sprintf("tags.%d.member.", i+1)
		switch {
		case t.Key == "":
			v.add(f+"key", t.Key, "have length greater than or equal to 1")
		case utf8.RuneCountInString(t.Key) > maxTagKey:
			v.add(f+"key", t.Key, fmt.Sprintf("have length less than or equal to %d", maxTagKey))
		case !tagPattern.MatchString(t.Key):
			v.add(f+"key", t.Key, tagPatternText)
		}
		switch {
		case utf8.RuneCountInString(t.Value) > maxTagValue:
			v.add(f+"value", t.Value, fmt.Sprintf("have length less than or equal to %d", maxTagValue))
		case !tagPattern.MatchString(t.Value):
			v.add(f+"value", t.Value, tagPatternText)
		}
		lk := strings.ToLower(t.Key)
		reserved = reserved || strings.HasPrefix(lk, "aws:")
		dup = dup || seen[lk]
		seen[lk] = true
	}
	if reserved {
		return newErr("InvalidInput", "User-defined tag keys can't start with 'aws:'. This prefix is reserved for AWS tags.")
	}
	if dup {
		return newErr("InvalidInput", "Duplicate tag keys found. Please note that Tag keys are case insensitive.")
	}
	return nil
}

// mergeTags overwrites existing keys (compared case-insensitively).
func mergeTags(have, add []resourceTag) []resourceTag {
	out := slices.Clone(have)
	for _, t := range add {
		i := slices.IndexFunc(out, func(o resourceTag) bool { return strings.EqualFold(o.Key, t.Key) })
		if i >= 0 {
			out[i] = t
		} else {
			out = append(out, t)
		}
	}
	return out
}

func removeTags(have []resourceTag, keys []string) []resourceTag {
	return slices.DeleteFunc(slices.Clone(have), func(t resourceTag) bool {
		return slices.ContainsFunc(keys, func(k string) bool { return strings.EqualFold(k, t.Key) })
	})
}

// pagination: Marker is the opaque encoding of the next item's sort key.
func paginate(keys []string, p url.Values) (from, to int, pg page, aerr *apiError) {
	maxItems := 100
	if v := p.Get("MaxItems"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			var val validation
			if err == nil && n < 1 {
				val.add("maxItems", v, "have value greater than or equal to 1")
			} else {
				val.add("maxItems", v, "have value less than or equal to 1000")
			}
			return 0, 0, page{}, val.err()
		}
		maxItems = n
	}
	if m := p.Get("Marker"); m != "" {
		raw, err := base64.RawURLEncoding.DecodeString(m)
		if err != nil {
			return 0, 0, page{}, newErr("ValidationError", "Invalid Marker.")
		}
		from, _ = slices.BinarySearch(keys, string(raw))
	}
	to = min(from+maxItems, len(keys))
	if to < len(keys) {
		pg = page{IsTruncated: true, Marker: base64.RawURLEncoding.EncodeToString([]byte(keys[to]))}
	}
	return from, to, pg, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// policySize counts characters excluding whitespace, as IAM's quotas do.
func policySize(doc string) int {
	n := 0
	for _, r := range doc {
		if !unicode.IsSpace(r) {
			n++
		}
	}
	return n
}

func (s *Server) roleARN(path, name string) string {
	return fmt.Sprintf("arn:%s:iam::%s:role%s%s", s.Partition, s.AccountID, path, name)
}

func (s *Server) findRole(name string) (*role, *apiError) {
	r := s.roles[strings.ToLower(name)]
	if r == nil {
		return nil, errNoSuchRole(name)
	}
	return r, nil
}

func (s *Server) findProfile(name string) (*profile, *apiError) {
	p := s.profiles[strings.ToLower(name)]
	if p == nil {
		return nil, errNoSuchProfile(name)
	}
	return p, nil
}

func (s *Server) propagated(changed, now time.Time) bool {
	return !now.Before(changed.Add(s.propagation))
}

// lagging reports a resource IAM's reads do not show yet (SetReadLag).
func (s *Server) lagging(created, now time.Time) bool {
	return s.readLag > 0 && now.Before(created.Add(s.readLag))
}

// ---- roles ----

func (s *Server) createRole(rc *reqCtx) (any, *apiError) {
	p := rc.params
	name, path := p.Get("RoleName"), p.Get("Path")
	if path == "" {
		path = "/"
	}
	var v validation
	checkName(&v, "roleName", name, maxRoleName)
	checkPath(&v, path)
	maxSess := int32(minSessionDuration)
	if ms := p.Get("MaxSessionDuration"); ms != "" {
		n, err := strconv.Atoi(ms)
		switch {
		case err != nil || n > maxSessionDuration:
			v.add("maxSessionDuration", ms, fmt.Sprintf("have value less than or equal to %d", maxSessionDuration))
		case n < minSessionDuration:
			v.add("maxSessionDuration", ms, fmt.Sprintf("have value greater than or equal to %d", minSessionDuration))
		default:
			maxSess = int32(n)
		}
	}
	desc := p.Get("Description")
	if utf8.RuneCountInString(desc) > maxDescription {
		v.add("description", desc, fmt.Sprintf("have length less than or equal to %d", maxDescription))
	}
	tags := tagsParam(p, "Tags")
	tagErr := checkTags(&v, tags)
	if e := v.err(); e != nil {
		return nil, e
	}
	if tagErr != nil {
		return nil, tagErr
	}
	boundary := p.Get("PermissionsBoundary")
	if boundary != "" && !policyARNPattern.MatchString(boundary) {
		return nil, newErr("InvalidInput", "ARN %s is not valid.", boundary)
	}
	if boundary != "" && strings.Contains(boundary, ":"+s.AccountID+":") && s.policies[boundary] == nil {
		return nil, newErr("NoSuchEntity", "Scope ARN: %s does not exist or is not attachable.", boundary)
	}
	trust := p.Get("AssumeRolePolicyDocument")
	if e := s.checkTrustPolicy(trust); e != nil {
		return nil, e
	}
	if _, exists := s.roles[strings.ToLower(name)]; exists {
		return nil, newErr("EntityAlreadyExists", "Role with name %s already exists.", name)
	}
	if e := quotaError(quotaRoles, s.roleQuota, len(s.roles)); e != nil {
		return nil, e
	}
	r := &role{
		name: name, path: path, arn: s.roleARN(path, name), id: "AROA" + randString(upperAlnum, 17),
		trust: trust, description: desc, boundary: boundary, maxSession: maxSess, tags: tags,
		inline: map[string]inlinePolicy{}, created: rc.now, trustChanged: rc.now,
	}
	s.roles[strings.ToLower(name)] = r
	return struct {
		Role roleXML `xml:"Role"`
	}{r.out(true)}, nil
}

func (s *Server) getRole(rc *reqCtx) (any, *apiError) {
	r, e := s.findRole(rc.params.Get("RoleName"))
	if e != nil {
		return nil, e
	}
	if s.lagging(r.created, rc.now) {
		return nil, errNoSuchRole(r.name)
	}
	return struct {
		Role roleXML `xml:"Role"`
	}{r.out(true)}, nil
}

func (s *Server) deleteRole(rc *reqCtx) (any, *apiError) {
	r, e := s.findRole(rc.params.Get("RoleName"))
	if e != nil {
		return nil, e
	}
	for _, p := range s.profiles {
		if slices.ContainsFunc(p.roles, func(n string) bool { return strings.EqualFold(n, r.name) }) {
			return nil, newErr("DeleteConflict", "Cannot delete entity, must remove roles from instance profile first.")
		}
	}
	if len(r.inline) > 0 {
		return nil, newErr("DeleteConflict", "Cannot delete entity, must delete policies first.")
	}
	if len(r.attached) > 0 {
		return nil, newErr("DeleteConflict", "Cannot delete entity, must detach all policies first.")
	}
	delete(s.roles, strings.ToLower(r.name))
	return nil, nil
}

func (s *Server) updateRole(rc *reqCtx) (any, *apiError) {
	r, e := s.findRole(rc.params.Get("RoleName"))
	if e != nil {
		return nil, e
	}
	var v validation
	maxSess := r.maxSession
	if ms := rc.params.Get("MaxSessionDuration"); ms != "" {
		n, err := strconv.Atoi(ms)
		if err != nil || n < minSessionDuration || n > maxSessionDuration {
			v.add("maxSessionDuration", ms, fmt.Sprintf("have value between %d and %d", minSessionDuration, maxSessionDuration))
		}
		maxSess = int32(n)
	}
	if e := v.err(); e != nil {
		return nil, e
	}
	if _, ok := rc.params["Description"]; ok {
		r.description = rc.params.Get("Description")
	}
	r.maxSession = maxSess
	return struct{}{}, nil
}

func (s *Server) listRoles(rc *reqCtx) (any, *apiError) {
	prefix := rc.params.Get("PathPrefix")
	if prefix == "" {
		prefix = "/"
	}
	if !pathPrefixPattern.MatchString(prefix) {
		var v validation
		v.add("pathPrefix", prefix, `satisfy regular expression pattern: \u002F[\u0021-\u007F]*`)
		return nil, v.err()
	}
	var keys []string
	for k, r := range s.roles {
		if strings.HasPrefix(r.path, prefix) && !s.lagging(r.created, rc.now) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	from, to, pg, e := paginate(keys, rc.params)
	if e != nil {
		return nil, e
	}
	out := struct {
		Roles []roleXML `xml:"Roles>member"`
		page
	}{Roles: []roleXML{}, page: pg}
	for _, k := range keys[from:to] {
		out.Roles = append(out.Roles, s.roles[k].out(false))
	}
	return out, nil
}

func (s *Server) updateAssumeRolePolicy(rc *reqCtx) (any, *apiError) {
	r, e := s.findRole(rc.params.Get("RoleName"))
	if e != nil {
		return nil, e
	}
	doc := rc.params.Get("PolicyDocument")
	if e := s.checkTrustPolicy(doc); e != nil {
		return nil, e
	}
	r.trust, r.trustChanged = doc, rc.now
	return nil, nil
}

func (s *Server) tagRole(rc *reqCtx) (any, *apiError) {
	r, e := s.findRole(rc.params.Get("RoleName"))
	if e != nil {
		return nil, e
	}
	tags, e := checkedTagUpdate(r.tags, tagsParam(rc.params, "Tags"), "TagsPerRole")
	if e != nil {
		return nil, e
	}
	r.tags = tags
	return nil, nil
}

func checkedTagUpdate(have, add []resourceTag, quota string) ([]resourceTag, *apiError) {
	var v validation
	tagErr := checkTags(&v, add)
	if e := v.err(); e != nil {
		return nil, e
	}
	if tagErr != nil {
		return nil, tagErr
	}
	merged := mergeTags(have, add)
	if len(merged) > maxTags {
		return nil, newErr("LimitExceeded", "Cannot exceed quota for %s: %d", quota, maxTags)
	}
	return merged, nil
}

func (s *Server) untagRole(rc *reqCtx) (any, *apiError) {
	r, e := s.findRole(rc.params.Get("RoleName"))
	if e != nil {
		return nil, e
	}
	r.tags = removeTags(r.tags, listParam(rc.params, "TagKeys"))
	return nil, nil
}

func listTags(tags []resourceTag, p url.Values) (any, *apiError) {
	keys := make([]string, len(tags))
	for i := range tags {
		keys[i] = fmt.Sprintf("%06d", i) // insertion order, sortable
	}
	from, to, pg, e := paginate(keys, p)
	if e != nil {
		return nil, e
	}
	return struct {
		Tags []tagXML `xml:"Tags>member"`
		page
	}{tagsXML(tags[from:to]), pg}, nil
}

func (s *Server) listRoleTags(rc *reqCtx) (any, *apiError) {
	r, e := s.findRole(rc.params.Get("RoleName"))
	if e != nil {
		return nil, e
	}
	return listTags(r.tags, rc.params)
}

// ---- role policies ----

func (s *Server) putRolePolicy(rc *reqCtx) (any, *apiError) {
	p := rc.params
	roleName, name, doc := p.Get("RoleName"), p.Get("PolicyName"), p.Get("PolicyDocument")
	var v validation
	checkName(&v, "roleName", roleName, maxRoleName)
	checkName(&v, "policyName", name, maxPolicyName)
	if e := v.err(); e != nil {
		return nil, e
	}
	r, e := s.findRole(roleName)
	if e != nil {
		return nil, e
	}
	if e := checkPermissionPolicy(doc); e != nil {
		return nil, e
	}
	total := policySize(doc)
	for k, ip := range r.inline {
		if k != strings.ToLower(name) {
			total += policySize(ip.doc)
		}
	}
	if total > maxRoleInline {
		return nil, newErr("LimitExceeded", "Maximum policy size of %d bytes exceeded for role %s", maxRoleInline, r.name)
	}
	r.inline[strings.ToLower(name)] = inlinePolicy{name: name, doc: doc}
	return nil, nil
}

func (s *Server) findRolePolicy(p url.Values) (*role, inlinePolicy, *apiError) {
	r, e := s.findRole(p.Get("RoleName"))
	if e != nil {
		return nil, inlinePolicy{}, e
	}
	name := p.Get("PolicyName")
	ip, ok := r.inline[strings.ToLower(name)]
	if !ok {
		return nil, inlinePolicy{}, newErr("NoSuchEntity", "The role policy with name %s cannot be found.", name)
	}
	return r, ip, nil
}

func (s *Server) getRolePolicy(rc *reqCtx) (any, *apiError) {
	r, ip, e := s.findRolePolicy(rc.params)
	if e != nil {
		return nil, e
	}
	return struct {
		RoleName       string `xml:"RoleName"`
		PolicyName     string `xml:"PolicyName"`
		PolicyDocument string `xml:"PolicyDocument"`
	}{r.name, ip.name, url.QueryEscape(ip.doc)}, nil
}

func (s *Server) deleteRolePolicy(rc *reqCtx) (any, *apiError) {
	r, ip, e := s.findRolePolicy(rc.params)
	if e != nil {
		return nil, e
	}
	delete(r.inline, strings.ToLower(ip.name))
	return nil, nil
}

func (s *Server) listRolePolicies(rc *reqCtx) (any, *apiError) {
	r, e := s.findRole(rc.params.Get("RoleName"))
	if e != nil {
		return nil, e
	}
	keys := sortedKeys(r.inline)
	from, to, pg, e := paginate(keys, rc.params)
	if e != nil {
		return nil, e
	}
	out := struct {
		PolicyNames []string `xml:"PolicyNames>member"`
		page
	}{PolicyNames: []string{}, page: pg}
	for _, k := range keys[from:to] {
		out.PolicyNames = append(out.PolicyNames, r.inline[k].name)
	}
	return out, nil
}

func (s *Server) attachRolePolicy(rc *reqCtx) (any, *apiError) {
	r, e := s.findRole(rc.params.Get("RoleName"))
	if e != nil {
		return nil, e
	}
	arn := rc.params.Get("PolicyArn")
	if !policyARNPattern.MatchString(arn) {
		return nil, newErr("InvalidInput", "ARN %s is not valid.", arn)
	}
	if slices.Contains(r.attached, arn) {
		return nil, nil
	}
	if len(r.attached) >= maxAttached {
		return nil, newErr("LimitExceeded", "Cannot exceed quota for PoliciesPerRole: %d", maxAttached)
	}
	r.attached = append(r.attached, arn)
	return nil, nil
}

func (s *Server) detachRolePolicy(rc *reqCtx) (any, *apiError) {
	r, e := s.findRole(rc.params.Get("RoleName"))
	if e != nil {
		return nil, e
	}
	arn := rc.params.Get("PolicyArn")
	i := slices.Index(r.attached, arn)
	if i < 0 {
		return nil, newErr("NoSuchEntity", "Policy %s was not found.", arn)
	}
	r.attached = slices.Delete(r.attached, i, i+1)
	return nil, nil
}

func (s *Server) listAttachedRolePolicies(rc *reqCtx) (any, *apiError) {
	r, e := s.findRole(rc.params.Get("RoleName"))
	if e != nil {
		return nil, e
	}
	keys := slices.Sorted(slices.Values(r.attached))
	from, to, pg, e := paginate(keys, rc.params)
	if e != nil {
		return nil, e
	}
	type attached struct {
		PolicyName string `xml:"PolicyName"`
		PolicyArn  string `xml:"PolicyArn"`
	}
	out := struct {
		AttachedPolicies []attached `xml:"AttachedPolicies>member"`
		page
	}{AttachedPolicies: []attached{}, page: pg}
	for _, arn := range keys[from:to] {
		out.AttachedPolicies = append(out.AttachedPolicies, attached{arn[strings.LastIndex(arn, "/")+1:], arn})
	}
	return out, nil
}

// ---- instance profiles ----

func (s *Server) createInstanceProfile(rc *reqCtx) (any, *apiError) {
	p := rc.params
	name, path := p.Get("InstanceProfileName"), p.Get("Path")
	if path == "" {
		path = "/"
	}
	var v validation
	checkName(&v, "instanceProfileName", name, maxProfileName)
	checkPath(&v, path)
	tags := tagsParam(p, "Tags")
	tagErr := checkTags(&v, tags)
	if e := v.err(); e != nil {
		return nil, e
	}
	if tagErr != nil {
		return nil, tagErr
	}
	if _, exists := s.profiles[strings.ToLower(name)]; exists {
		return nil, newErr("EntityAlreadyExists", "Instance Profile %s already exists.", name)
	}
	if e := quotaError(quotaProfiles, s.profileQuota, len(s.profiles)); e != nil {
		return nil, e
	}
	ip := &profile{
		name: name, path: path, id: "AIPA" + randString(upperAlnum, 17),
		arn:  fmt.Sprintf("arn:%s:iam::%s:instance-profile%s%s", s.Partition, s.AccountID, path, name),
		tags: tags, created: rc.now,
	}
	s.profiles[strings.ToLower(name)] = ip
	return struct {
		InstanceProfile profileXML `xml:"InstanceProfile"`
	}{s.profileOut(ip, true)}, nil
}

func (s *Server) getInstanceProfile(rc *reqCtx) (any, *apiError) {
	name := rc.params.Get("InstanceProfileName")
	ip, e := s.findProfile(name)
	if e != nil {
		return nil, e
	}
	if !s.propagated(ip.created, rc.now) || s.lagging(ip.created, rc.now) {
		return nil, errNoSuchProfile(name)
	}
	return struct {
		InstanceProfile profileXML `xml:"InstanceProfile"`
	}{s.profileOut(ip, true)}, nil
}

func (s *Server) deleteInstanceProfile(rc *reqCtx) (any, *apiError) {
	ip, e := s.findProfile(rc.params.Get("InstanceProfileName"))
	if e != nil {
		return nil, e
	}
	if len(ip.roles) > 0 {
		return nil, newErr("DeleteConflict", "Cannot delete entity, must remove roles from instance profile first.")
	}
	delete(s.profiles, strings.ToLower(ip.name))
	return nil, nil
}

func (s *Server) addRoleToInstanceProfile(rc *reqCtx) (any, *apiError) {
	ip, e := s.findProfile(rc.params.Get("InstanceProfileName"))
	if e != nil {
		return nil, e
	}
	r, e := s.findRole(rc.params.Get("RoleName"))
	if e != nil {
		return nil, e
	}
	if len(ip.roles) >= 1 {
		return nil, newErr("LimitExceeded", "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1")
	}
	ip.roles = append(ip.roles, r.name)
	return nil, nil
}

func (s *Server) removeRoleFromInstanceProfile(rc *reqCtx) (any, *apiError) {
	ip, e := s.findProfile(rc.params.Get("InstanceProfileName"))
	if e != nil {
		return nil, e
	}
	name := rc.params.Get("RoleName")
	i := slices.IndexFunc(ip.roles, func(n string) bool { return strings.EqualFold(n, name) })
	if i < 0 {
		return nil, errNoSuchRole(name)
	}
	ip.roles = slices.Delete(ip.roles, i, i+1)
	return nil, nil
}

func (s *Server) listProfiles(keys []string, p url.Values) (any, *apiError) {
	slices.Sort(keys)
	from, to, pg, e := paginate(keys, p)
	if e != nil {
		return nil, e
	}
	out := struct {
		InstanceProfiles []profileXML `xml:"InstanceProfiles>member"`
		page
	}{InstanceProfiles: []profileXML{}, page: pg}
	for _, k := range keys[from:to] {
		out.InstanceProfiles = append(out.InstanceProfiles, s.profileOut(s.profiles[k], false))
	}
	return out, nil
}

func (s *Server) listInstanceProfiles(rc *reqCtx) (any, *apiError) {
	prefix := rc.params.Get("PathPrefix")
	if prefix == "" {
		prefix = "/"
	}
	var keys []string
	for k, ip := range s.profiles {
		if strings.HasPrefix(ip.path, prefix) && !s.lagging(ip.created, rc.now) {
			keys = append(keys, k)
		}
	}
	return s.listProfiles(keys, rc.params)
}

func (s *Server) listInstanceProfilesForRole(rc *reqCtx) (any, *apiError) {
	r, e := s.findRole(rc.params.Get("RoleName"))
	if e != nil {
		return nil, e
	}
	var keys []string
	for k, ip := range s.profiles {
		if slices.ContainsFunc(ip.roles, func(n string) bool { return strings.EqualFold(n, r.name) }) {
			keys = append(keys, k)
		}
	}
	return s.listProfiles(keys, rc.params)
}

func (s *Server) tagInstanceProfile(rc *reqCtx) (any, *apiError) {
	ip, e := s.findProfile(rc.params.Get("InstanceProfileName"))
	if e != nil {
		return nil, e
	}
	tags, e := checkedTagUpdate(ip.tags, tagsParam(rc.params, "Tags"), "TagsPerInstanceProfile")
	if e != nil {
		return nil, e
	}
	ip.tags = tags
	return nil, nil
}

func (s *Server) untagInstanceProfile(rc *reqCtx) (any, *apiError) {
	ip, e := s.findProfile(rc.params.Get("InstanceProfileName"))
	if e != nil {
		return nil, e
	}
	ip.tags = removeTags(ip.tags, listParam(rc.params, "TagKeys"))
	return nil, nil
}

func (s *Server) listInstanceProfileTags(rc *reqCtx) (any, *apiError) {
	ip, e := s.findProfile(rc.params.Get("InstanceProfileName"))
	if e != nil {
		return nil, e
	}
	return listTags(ip.tags, rc.params)
}

// ---- OIDC providers ----

func providerKey(rawURL string) string {
	u := strings.TrimPrefix(strings.TrimPrefix(rawURL, "https://"), "http://")
	return strings.ToLower(strings.TrimSuffix(u, "/"))
}

func (s *Server) providerARN(rawURL string) string {
	return fmt.Sprintf("arn:%s:iam::%s:oidc-provider/%s", s.Partition, s.AccountID, providerKey(rawURL))
}

// GitHub's published intermediate thumbprint; IAM no longer needs it for
// GitHub but stores what it is given.
const githubThumbprint = "6938fd4d98bab03faadb97b34396831e3780aea1"

func (s *Server) addProvider(rawURL string, clientIDs, thumbprints []string, tags []resourceTag, now time.Time) (*provider, *apiError) {
	if !strings.HasPrefix(rawURL, "https://") || len(rawURL) > 255 {
		return nil, newErr("ValidationError", "1 validation error detected: Value '%s' at 'url' failed to satisfy constraint: Member must be a valid HTTPS URL", rawURL)
	}
	arn := s.providerARN(rawURL)
	if _, ok := s.providers[arn]; ok {
		return nil, newErr("EntityAlreadyExists", "Provider with url %s already exists.", rawURL)
	}
	if len(clientIDs) > 100 {
		return nil, newErr("LimitExceeded", "Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: 100")
	}
	p := &provider{arn: arn, url: rawURL, clientIDs: clientIDs, thumbprints: thumbprints, tags: tags, created: now}
	s.providers[arn] = p
	return p, nil
}

func (s *Server) createOIDCProvider(rc *reqCtx) (any, *apiError) {
	tags := tagsParam(rc.params, "Tags")
	var v validation
	tagErr := checkTags(&v, tags)
	if e := v.err(); e != nil {
		return nil, e
	}
	if tagErr != nil {
		return nil, tagErr
	}
	p, e := s.addProvider(rc.params.Get("Url"), listParam(rc.params, "ClientIDList"), listParam(rc.params, "ThumbprintList"), tags, rc.now)
	if e != nil {
		return nil, e
	}
	return struct {
		OpenIDConnectProviderArn string   `xml:"OpenIDConnectProviderArn"`
		Tags                     []tagXML `xml:"Tags>member,omitempty"`
	}{p.arn, tagsXML(p.tags)}, nil
}

func (s *Server) findProvider(arn string) (*provider, *apiError) {
	p := s.providers[arn]
	if p == nil {
		return nil, newErr("NoSuchEntity", "OpenIDConnect Provider not found for arn %s", arn)
	}
	return p, nil
}

func (s *Server) getOIDCProvider(rc *reqCtx) (any, *apiError) {
	p, e := s.findProvider(rc.params.Get("OpenIDConnectProviderArn"))
	if e != nil {
		return nil, e
	}
	return struct {
		Url            string   `xml:"Url"`
		ClientIDList   []string `xml:"ClientIDList>member"`
		ThumbprintList []string `xml:"ThumbprintList>member"`
		CreateDate     string   `xml:"CreateDate"`
		Tags           []tagXML `xml:"Tags>member,omitempty"`
	}{providerKey(p.url), p.clientIDs, p.thumbprints, isoTime(p.created), tagsXML(p.tags)}, nil
}

func (s *Server) deleteOIDCProvider(rc *reqCtx) (any, *apiError) {
	p, e := s.findProvider(rc.params.Get("OpenIDConnectProviderArn"))
	if e != nil {
		return nil, e
	}
	delete(s.providers, p.arn)
	return nil, nil
}

func (s *Server) listOIDCProviders(_ *reqCtx) (any, *apiError) {
	type entry struct {
		Arn string `xml:"Arn"`
	}
	out := struct {
		List []entry `xml:"OpenIDConnectProviderList>member"`
	}{List: []entry{}}
	for _, arn := range sortedKeys(s.providers) {
		out.List = append(out.List, entry{arn})
	}
	return out, nil
}

func (s *Server) addClientIDToOIDCProvider(rc *reqCtx) (any, *apiError) {
	p, e := s.findProvider(rc.params.Get("OpenIDConnectProviderArn"))
	if e != nil {
		return nil, e
	}
	if id := rc.params.Get("ClientID"); !slices.Contains(p.clientIDs, id) {
		p.clientIDs = append(p.clientIDs, id)
	}
	return nil, nil
}
