package csm

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/buildrole/buildrole/internal/awsfacts"
	"github.com/buildrole/buildrole/internal/buildpolicy"
	"github.com/buildrole/buildrole/internal/iampolicy"
)

// Policy is the build role's permission policy a run is held against.
type Policy struct {
	Document iampolicy.Document
	// Source says where it came from, for the reader: "run 3f9c… (state
	// file run.json)", "template web.pkr.hcl".
	Source string
	// Grants are the reasons behind each statement, when the policy was
	// derived in this process; nil otherwise.
	Grants []buildpolicy.Grant
	// AnyAccount is the placeholder account id in the policy's ARNs when it
	// was derived without a run: it stands for the account AWS names.
	AnyAccount string
}

// Report is what a command did with AWS, held against a policy.
type Report struct {
	Command  string `json:"command"` // the program's name only: arguments may hold secrets
	ExitCode int    `json:"exit_code"`
	// Observed is false when no CSM event arrived: the client emits none,
	// or made no call. Then the lists below are empty and Used is null.
	Observed  bool        `json:"observed"`
	Message   string      `json:"message,omitempty"`
	Policy    string      `json:"policy"` // where the policy came from; "" without one
	Calls     []Call      `json:"calls"`
	Denied    []Denial    `json:"denied"`
	Ungranted []Ungranted `json:"ungranted"`
	// Unused are granted actions never called, Indirect those never called
	// but checked by AWS inside a call that was made (iam:PassRole inside
	// ec2:RunInstances): client-side events cannot tell if they were needed.
	Unused   []string   `json:"unused"`
	Indirect []Indirect `json:"indirect"`
	Granted  *int       `json:"granted"` // distinct actions the policy grants; null without a policy
	Used     *int       `json:"used"`    // distinct actions called that the policy grants
	Notes    []string   `json:"notes,omitempty"`
	Ignored  int        `json:"ignored_datagrams"`
	Dropped  int        `json:"dropped_events,omitempty"`
}

// Denial is an action AWS refused, with the grant that fixes it.
type Denial struct {
	Action  string         `json:"action"`
	Count   int            `json:"count"`
	Codes   map[string]int `json:"codes"`
	Regions []string       `json:"regions"`
	// Message is AWS's first message, as the SDK reported it (cut at 512
	// characters, access key ids removed).
	Message string `json:"message,omitempty"`
	// Resource and Reason are read from the message where AWS states them.
	Resource string `json:"resource,omitempty"`
	Reason   string `json:"reason,omitempty"`
	// Statement is the Sid that grants the action at the action level:
	// then the refusal came from its resources, its regions or another
	// policy (permissions boundary, SCP).
	Statement string `json:"statement,omitempty"`
	// Catalogue lists the reasons buildrole's Packer catalogue grants it.
	Catalogue []Entry `json:"catalogue,omitempty"`
	// ExtraPolicy is a statement for the extra-policy input, scoped the way
	// the catalogue scopes its own.
	ExtraPolicy *iampolicy.Statement `json:"extra_policy,omitempty"`
	Decode      string               `json:"decode,omitempty"`
	Fix         string               `json:"fix"`
}

// Ungranted is an action that succeeded though the policy does not grant it.
type Ungranted struct {
	Action    string   `json:"action"`
	Succeeded int      `json:"succeeded"`
	Regions   []string `json:"regions"`
}

// Indirect is a granted action AWS checks inside other calls.
type Indirect struct {
	Action string   `json:"action"`
	Via    []string `json:"via"` // the calls made that check it
}

// withoutPermission are calls AWS answers for any caller.
var withoutPermission = map[string]bool{"sts:getcalleridentity": true}

// checkedInside maps actions no client calls by that name to the calls
// inside which AWS checks them: PassRole when an instance gets a profile,
// CreateTags for TagSpecifications, KMS when EC2 encrypts for the caller.
var checkedInside = func() map[string][]string {
	tagOnCreate := []string{"ec2:RunInstances", "ec2:CreateKeyPair", "ec2:CreateSecurityGroup", "ec2:CreateImage", "ec2:CreateVolume",
		"ec2:CreateSnapshot", "ec2:CopyImage", "ec2:CreateLaunchTemplate", "ec2:CreateFleet", "ec2:RegisterImage"}
	kms := []string{"ec2:RunInstances", "ec2:CopyImage", "ec2:CreateImage", "ec2:CreateVolume", "ec2:CreateSnapshot", "ec2:CreateFleet", "ec2:RegisterImage"}
	m := map[string][]string{
		"iam:passrole":   {"ec2:RunInstances", "ec2:CreateFleet", "ec2:RequestSpotInstances", "ec2:AssociateIamInstanceProfile"},
		"ec2:createtags": tagOnCreate,
	}
	for _, a := range []string{"CreateGrant", "Decrypt", "DescribeKey", "Encrypt", "GenerateDataKeyWithoutPlaintext", "ReEncryptFrom", "ReEncryptTo"} {
		m["kms:"+strings.ToLower(a)] = kms
	}
	return m
}()

// Analyze holds calls against pol (nil: no policy known).
func Analyze(calls []Call, stats Stats, pol *Policy) Report {
	r := Report{Observed: len(calls) > 0, Calls: calls, Denied: []Denial{}, Ungranted: []Ungranted{}, Unused: []string{}, Indirect: []Indirect{},
		Ignored: stats.Ignored, Dropped: stats.Overflow}
	if r.Calls == nil {
		r.Calls = []Call{}
	}
	if stats.Overflow > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d events were dropped: the command made more than %d distinct calls", stats.Overflow, maxCalls))
	}
	var g *grants
	if pol != nil {
		r.Policy = pol.Source
		g = newGrants(pol.Document, calls)
		n := len(g.names)
		r.Granted = &n
		if g.notAction {
			r.Notes = append(r.Notes, "the policy allows with NotAction: granted counts only the actions of buildrole's catalogue and of this run")
		}
	}
	if !r.Observed {
		r.Message = firstOf(stats.Reason, NoEventsMessage)
		return r
	}
	called := map[string]bool{}
	for _, c := range calls {
		called[strings.ToLower(c.Action)] = true
		if d := denial(c, pol, g); d != nil {
			r.Denied = append(r.Denied, *d)
		}
		if g != nil && c.Count > c.Failed() && !g.allows(c.Action) && !withoutPermission[strings.ToLower(c.Action)] {
			r.Ungranted = append(r.Ungranted, Ungranted{Action: c.Action, Succeeded: c.Count - c.Failed(), Regions: c.Regions})
		}
	}
	if g == nil {
		return r
	}
	used := 0
	for _, a := range g.names {
		l := strings.ToLower(a)
		switch {
		case called[l]:
			used++
		case len(via(l, called)) > 0:
			r.Indirect = append(r.Indirect, Indirect{Action: a, Via: via(l, called)})
		default:
			r.Unused = append(r.Unused, a)
		}
	}
	r.Used = &used
	if len(r.Ungranted) > 0 {
		r.Notes = append(r.Notes, "ungranted calls succeeded without the build role's grant: the command did not run as the build role (AWS_PROFILE, other credentials), or the policy held against it is not the run's")
	}
	return r
}

// NoEventsMessage is what a run without CSM events reports.
const NoEventsMessage = "no AWS calls observed (this client does not emit client-side monitoring events)"

func via(action string, called map[string]bool) []string {
	var out []string
	for _, c := range checkedInside[action] {
		if called[strings.ToLower(c)] {
			out = append(out, c)
		}
	}
	return out
}

// grants is a policy seen at the action level: resources and conditions
// set aside, as the report's figures count actions.
type grants struct {
	// doc holds the Allow statements on "*" without conditions, and the
	// Denies that hold whatever the request; orig[i] is doc.Statement[i]
	// as the policy has it.
	doc       iampolicy.Document
	orig      []iampolicy.Statement
	names     []string // distinct actions granted, sorted
	notAction bool
}

func newGrants(doc iampolicy.Document, calls []Call) *grants {
	g := &grants{doc: iampolicy.Document{Version: doc.Version}}
	for _, st := range doc.Statement {
		unconditional := len(st.Condition) == 0 && slices.Contains(st.Resource, "*")
		if st.Effect == iampolicy.EffectAllow || unconditional {
			g.notAction = g.notAction || st.Effect == iampolicy.EffectAllow && len(st.NotAction) > 0
			g.doc.Statement = append(g.doc.Statement, iampolicy.Statement{Sid: st.Sid, Effect: st.Effect, Action: st.Action, NotAction: st.NotAction, Resource: iampolicy.Values{"*"}})
			g.orig = append(g.orig, st)
		}
	}
	// Wildcards count by what they match among the actions buildrole knows
	// of and the ones this run called.
	candidates := buildpolicy.CatalogueActions()
	for _, st := range doc.Statement {
		for _, a := range st.Action {
			if !strings.ContainsAny(a, "*?") {
				candidates = append(candidates, a)
			}
		}
	}
	for _, c := range calls {
		candidates = append(candidates, c.Action)
	}
	seen := map[string]bool{}
	for _, a := range candidates {
		if l := strings.ToLower(a); !seen[l] && g.allows(a) {
			seen[l] = true
			g.names = append(g.names, a)
		}
	}
	sort.Slice(g.names, func(i, j int) bool { return strings.ToLower(g.names[i]) < strings.ToLower(g.names[j]) })
	return g
}

func (g *grants) allows(action string) bool {
	return iampolicy.Evaluate(iampolicy.Request{Action: action, Resource: "*"}, []iampolicy.Document{g.doc}, nil) == iampolicy.Allow
}

// statementFor is the first statement that grants action at the action
// level, as the policy has it.
func (g *grants) statementFor(action string) (iampolicy.Statement, bool) {
	if !g.allows(action) {
		return iampolicy.Statement{}, false
	}
	for i, st := range g.doc.Statement {
		one := iampolicy.Document{Version: g.doc.Version, Statement: []iampolicy.Statement{st}}
		if st.Effect == iampolicy.EffectAllow && iampolicy.Evaluate(iampolicy.Request{Action: action, Resource: "*"}, []iampolicy.Document{one}, nil) == iampolicy.Allow {
			return g.orig[i], true
		}
	}
	return iampolicy.Statement{}, false
}

var (
	onResource  = regexp.MustCompile(`not authorized to perform: \S+ on resource: (.+?)(?: because | with an explicit |\.? Encoded |$)`)
	whyRefused  = regexp.MustCompile(`(because no [a-z -]+ allows the \S+ action|with an explicit deny in an? [a-z -]+policy)`)
	encodedNote = "Encoded authorization failure message"
)

func denial(c Call, pol *Policy, g *grants) *Denial {
	d := &Denial{Action: c.Action, Codes: map[string]int{}, Regions: c.Regions}
	for _, code := range sortedKeys(c.Errors) {
		if awsfacts.IsDenied(code) {
			d.Codes[code] = c.Errors[code]
			d.Count += c.Errors[code]
			if d.Message == "" {
				d.Message = c.Message(code)
			}
		}
	}
	if d.Count == 0 {
		return nil
	}
	if m := onResource.FindStringSubmatch(d.Message); m != nil {
		d.Resource = strings.TrimRight(m[1], ".,; ")
	}
	if m := whyRefused.FindStringSubmatch(d.Message); m != nil {
		d.Reason = m[1]
	}
	if strings.Contains(d.Message, encodedNote) {
		d.Decode = "EC2 encoded why it refused the call in the message packer printed (buildrole keeps 512 characters of a message, not the whole encoded reason). " +
			"Decode it with credentials allowed sts:DecodeAuthorizationMessage (the build role is not): " +
			"aws sts decode-authorization-message --encoded-message \"$MESSAGE\" --query DecodedMessage --output text"
	}
	d.Catalogue = catalogueFor(c.Action)
	var st iampolicy.Statement
	granted := false
	if g != nil {
		if st, granted = g.statementFor(c.Action); granted {
			d.Statement = st.Sid
			if d.Statement == "" {
				d.Statement = "(no Sid)"
			}
		}
	}
	switch lower := strings.ToLower(c.Action); {
	case strings.Contains(d.Reason, "permissions boundary"):
		d.Fix = fmt.Sprintf("the permissions boundary refused %s: the account administrator adds it to the boundary (the one `buildrole bootstrap` prints allows every action of the catalogue)", c.Action)
	case strings.Contains(d.Reason, "service control policy") || strings.Contains(d.Reason, "resource control policy"):
		d.Fix = fmt.Sprintf("an AWS Organizations policy refused %s (%s): only the organization's administrator can allow it", c.Action, d.Reason)
	case lower == "iam:passrole" || lower == "iam:getinstanceprofile":
		d.Fix = profileFix(c, d)
	case granted:
		d.Fix = scopeFix(c, d, st, pol)
	default:
		d.Fix = grantFix(c, d, g)
		d.ExtraPolicy = extraStatement(c, d, pol)
		d.Fix += "; or add the statement " + d.ExtraPolicy.Sid + " to extra-policy"
		return d
	}
	if granted && strings.Contains(d.Reason, "policy") && !strings.Contains(d.Reason, "identity-based") {
		d.Fix += fmt.Sprintf(" (the build role's own policy grants it: statement %s)", d.Statement)
	}
	return d
}

// profileFix: buildrole grants PassRole and GetInstanceProfile on the
// run's own instance role and profile only.
func profileFix(c Call, d *Denial) string {
	what := "an instance profile other than the run's own"
	if d.Resource != "" {
		what = d.Resource + ", not the run's own profile"
	}
	return fmt.Sprintf("%s was refused on %s (statements %s and %s grant only the run's): set `iam_instance_profile = var.iam_instance_profile` in the template (up exports PKR_VAR_iam_instance_profile) and keep instance-profile at separate or shared",
		c.Action, what, buildpolicy.SidPassInstanceRole, buildpolicy.SidReadInstanceProfile)
}

// scopeFix explains a refusal of an action the policy grants.
func scopeFix(c Call, d *Denial, st iampolicy.Statement, pol *Policy) string {
	label := "statement " + d.Statement
	if why := reasonsFor(pol, st.Sid); why != "" {
		label += " (" + why + ")"
	}
	regions := st.Condition[iampolicy.OpStringEquals][iampolicy.KeyRequestedRegion]
	var outside []string
	for _, r := range c.Regions {
		if len(regions) > 0 && !slices.Contains(regions, r) {
			outside = append(outside, r)
		}
	}
	if len(outside) > 0 {
		return fmt.Sprintf("%s grants %s only in %s, and the call went to %s: set aws-region to the build's region, or list the region in the template's ami_regions",
			label, c.Action, strings.Join(regions, ", "), strings.Join(outside, ", "))
	}
	others := conditionKeys(st.Condition, iampolicy.KeyRequestedRegion)
	// The resource AWS named, or any when the statement takes any: if the
	// statement allows that call, the call ran under another policy.
	resource := d.Resource
	if !strings.HasPrefix(resource, "arn:") && slices.Equal(st.Resource, iampolicy.Values{"*"}) {
		resource = "*"
	}
	if resource == "*" || strings.HasPrefix(resource, "arn:") {
		st = inAccount(st, pol, resource)
		req := iampolicy.Request{Action: c.Action, Resource: resource}
		if len(c.Regions) > 0 {
			req.Context = map[string][]string{iampolicy.KeyRequestedRegion: {c.Regions[0]}}
		}
		one := []iampolicy.Document{{Version: iampolicy.Version, Statement: []iampolicy.Statement{st}}}
		if iampolicy.Evaluate(req, one, nil) == iampolicy.Allow {
			where := " in " + strings.Join(c.Regions, ", ")
			if resource != "*" {
				where = " on " + resource + where
			}
			return fmt.Sprintf("%s allows %s%s, where AWS refused it: the call did not run under this policy (credentials other than the build role's, or another run's policy)", label, c.Action, where)
		}
	}
	if strings.HasPrefix(d.Resource, "arn:") {
		if others != "" {
			return fmt.Sprintf("%s grants %s on %s when %s hold: AWS refused it on %s, so a condition failed%s", label, c.Action, strings.Join(st.Resource, ", "), others, d.Resource, decodeHint(d))
		}
		return fmt.Sprintf("%s grants %s on %s, not on %s, where AWS refused it: %s", label, c.Action, strings.Join(st.Resource, ", "), d.Resource, resourceHint)
	}
	msg := fmt.Sprintf("%s grants %s only on %s", label, c.Action, strings.Join(st.Resource, ", "))
	if others != "" {
		msg += " when " + others + " hold"
	}
	return msg + ": the call touched another resource or failed a condition" + decodeHint(d) + "; " + resourceHint
}

// inAccount puts the account of the resource AWS named where a policy
// derived without a run has its placeholder.
func inAccount(st iampolicy.Statement, pol *Policy, resource string) iampolicy.Statement {
	parts := strings.SplitN(resource, ":", 6)
	if pol == nil || pol.AnyAccount == "" || len(parts) < 6 || parts[4] == "" {
		return st
	}
	out := st
	out.Resource = nil
	for _, r := range st.Resource {
		out.Resource = append(out.Resource, strings.ReplaceAll(r, ":"+pol.AnyAccount+":", ":"+parts[4]+":"))
	}
	return out
}

const resourceHint = "if the template names that resource in a way up cannot resolve (a filter, a value known only at build time), set it literally so up scopes the grant to it, or add a statement to extra-policy"

func decodeHint(d *Denial) string {
	if d.Decode == "" {
		return ""
	}
	return " (the decoded message names which)"
}

// conditionKeys lists the condition keys of c but skip.
func conditionKeys(c iampolicy.Condition, skip string) string {
	var keys []string
	for _, op := range sortedKeys(c) {
		for _, k := range sortedKeys(c[op]) {
			if !strings.EqualFold(k, skip) {
				keys = append(keys, k)
			}
		}
	}
	return strings.Join(keys, ", ")
}

func reasonsFor(pol *Policy, sid string) string {
	if pol == nil {
		return ""
	}
	for _, g := range pol.Grants {
		// With several reasons, which is this action's is not known.
		if g.Sid == sid && len(g.Why) == 1 {
			return g.Why[0]
		}
	}
	return ""
}

// grantFix explains a refusal of an action the policy does not grant.
func grantFix(c Call, d *Denial, g *grants) string {
	subject := "the build role's policy does not grant " + c.Action
	if g == nil {
		subject = "no policy to compare with (run up first, or pass --template)"
	}
	if len(d.Catalogue) == 0 {
		return subject + "; buildrole's Packer catalogue has no entry for it"
	}
	var when []string
	for _, e := range d.Catalogue {
		when = append(when, e.String())
	}
	return fmt.Sprintf("%s; buildrole grants it %s: set that in the template packer builds and give up the same template (input template)", subject, strings.Join(when, "; or "))
}

func (e Entry) String() string {
	who := "to every build"
	if !e.Always {
		who = "when a source sets"
	}
	if e.Builders == nil {
		return fmt.Sprintf("for %s (statement %s)", e.When, e.Sid)
	}
	if e.Always {
		return fmt.Sprintf("%s of %s (statement %s: %s)", who, strings.Join(e.Builders, ", "), e.Sid, e.When)
	}
	return fmt.Sprintf("%s %s [%s] (statement %s)", who, e.When, strings.Join(e.Builders, ", "), e.Sid)
}

// extraStatement is the statement that grants what was refused, scoped as
// the catalogue scopes: the resource AWS named (its id widened to *, its
// region to * under aws:RequestedRegion), else "*", bound to the regions
// of the policy and of the call; IAM is global and takes no region.
func extraStatement(c Call, d *Denial, pol *Policy) *iampolicy.Statement {
	st := &iampolicy.Statement{Sid: "Extra" + sidPart(c.API), Effect: iampolicy.EffectAllow, Action: iampolicy.Values{c.Action}, Resource: iampolicy.Values{"*"}}
	if strings.HasPrefix(d.Resource, "arn:") {
		st.Resource = iampolicy.Values{widen(d.Resource)}
	}
	if c.Service == "iam" {
		return st
	}
	var regions iampolicy.Values
	if pol != nil {
		for _, s := range pol.Document.Statement {
			for _, r := range s.Condition[iampolicy.OpStringEquals][iampolicy.KeyRequestedRegion] {
				if !slices.Contains(regions, r) {
					regions = append(regions, r)
				}
			}
		}
	}
	for _, r := range c.Regions {
		if !slices.Contains(regions, r) {
			regions = append(regions, r)
		}
	}
	if len(regions) > 0 {
		st.Condition = iampolicy.Condition{iampolicy.OpStringEquals: {iampolicy.KeyRequestedRegion: regions}}
	}
	return st
}

var arnParts = regexp.MustCompile(`^(arn:[^:]+:[^:]+):([^:]*):([^:]*):([a-z-]+)([/:])(.+)$`)

// widen turns "arn:aws:ec2:us-east-1:1234:volume/vol-0abc" into
// "arn:aws:ec2:*:1234:volume/*": a build's resources get new ids each run.
func widen(arn string) string {
	m := arnParts.FindStringSubmatch(arn)
	if m == nil || strings.HasSuffix(m[1], ":iam") {
		return arn
	}
	region := m[2]
	if region != "" {
		region = "*"
	}
	return fmt.Sprintf("%s:%s:%s:%s%s*", m[1], region, m[3], m[4], m[5])
}

func sidPart(api string) string {
	var b strings.Builder
	for _, r := range api {
		if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func mustJSON(v any) []byte {
	b, err := iampolicy.Marshal(v)
	if err != nil {
		return []byte(fmt.Sprintf("%q", err.Error()))
	}
	return b
}
