package run

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/buildrole/buildrole/internal/awsfacts"
	"github.com/buildrole/buildrole/internal/iampolicy"
)

// Lifetimes: a run's ttl, and the account's longest (max-ttl), which up
// refuses to exceed and sweep holds every managed resource to.
const (
	MinTTL = 5 * time.Minute
	MaxTTL = 30 * 24 * time.Hour
	// DefaultMaxTTL is the account's longest ttl when its bootstrap says
	// none: four times the action's default ttl and a GitHub-hosted job's
	// limit (6 h); self-hosted jobs of more than a day need --max-ttl.
	DefaultMaxTTL = 24 * time.Hour
	// ClockSkew is how far the runner's clock, which writes expires-at,
	// may run ahead of IAM's, which sets CreateDate, before sweep doubts
	// an expiry. The SDK corrects its requests for skew, so the calls
	// succeed on a runner whose clock is off; an hour covers any runner
	// clock without time sync in practice, and lets a planted role outlive
	// max-ttl by at most that.
	ClockSkew = time.Hour
)

// FormatTTL writes a duration as the ttl inputs take it: "3d", "24h",
// "90m".
func FormatTTL(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0 && d >= 48*time.Hour:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d%time.Hour == 0 && d > 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0 && d > 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

// JobGate is the bootstrap role and its trust policy. The job that created
// a build role came in through it, so a build role trusts only a job token
// it admits, or (chain mode, when the job had itself assumed the bootstrap
// role) a session of the bootstrap role: a role trusting another
// repository's exact subject, or any other role or user, is not
// buildrole's.
type JobGate struct {
	role  string // the bootstrap role's name
	trust iampolicy.Document
	repos []string // the repo:OWNER/NAME patterns its sub conditions name
}

// NewJobGate reads the trust policy of the bootstrap role named role. It
// refuses one that conditions more of a token than its aud and sub: a
// build role's trust keeps only those, so whether its job passes could not
// be told.
func NewJobGate(role, trust string) (*JobGate, error) {
	doc, err := iampolicy.Parse([]byte(trust))
	if err != nil {
		return nil, err
	}
	g := &JobGate{role: role, trust: doc}
	for _, st := range doc.Statement {
		for op, keys := range st.Condition {
			for k, v := range keys {
				lk := strings.ToLower(k)
				switch {
				case strings.HasSuffix(lk, ":sub"):
					for _, sub := range v {
						g.repos = append(g.repos, repository(sub))
					}
				case !strings.HasSuffix(lk, ":aud"):
					return nil, fmt.Errorf("its trust policy conditions %s (%s), more of a token than its aud and sub", k, op)
				}
			}
		}
	}
	return g, nil
}

// repository is the repo:OWNER/NAME part of a GitHub subject (or subject
// pattern), "" when it names none.
func repository(sub string) string {
	for part := sub; ; {
		if rest, ok := strings.CutPrefix(part, "repo:"); ok {
			name, _, _ := strings.Cut(rest, ":")
			return "repo:" + name
		}
		var ok bool
		if _, part, ok = strings.Cut(part, ":"); !ok {
			return ""
		}
	}
}

// names reports whether the bootstrap role's trust names the repository of
// sub. Two bootstrap roles may share a path (one per repository): a build
// role trusting a repository this one does not name may be the other's
// live run, so only one naming a repository this one does can be told
// planted from this trust alone.
func (g *JobGate) names(sub string) bool {
	repo := repository(sub)
	if repo == "" {
		return false
	}
	for _, p := range g.repos {
		if p != "" && iampolicy.GlobMatch(strings.ToLower(p), strings.ToLower(repo)) {
			return true
		}
	}
	return false
}

// admits reports whether the bootstrap role admits a token of this
// provider (named name in condition keys) with this aud and sub.
func (g *JobGate) admits(provider, name, aud, sub string) bool {
	return iampolicy.EvaluateTrust(iampolicy.Request{
		Principal: map[string]string{"Federated": provider},
		Action:    iampolicy.ActionAssumeRoleWithWebIdentity,
		Resource:  "*",
		Context:   map[string][]string{name + ":aud": {aud}, name + ":sub": {sub}},
	}, g.trust) == iampolicy.Allow
}

// TrustProblem says why trust, a role's trust policy as IAM returns it
// (decoded), is not one buildrole writes in this partition and account, or
// "" when it is; instanceRole says which role it is then. An instance role
// trusts EC2 alone. A build role trusts this account's OIDC provider with
// exactly one aud and one sub by StringEquals, a pair gate admits when gate
// is known (web identity), or one session of the bootstrap role when gate
// is known and otherwise one role, role session or user of this account
// (chain), and EC2 besides when it is its own instance role
// (instance-profile: shared). doubt, when why is "", says the role trusts
// a repository gate does not name: planted, or another bootstrap role's
// run on the same path, which this trust cannot tell apart.
func TrustProblem(trust, partition, account string, gate *JobGate) (instanceRole bool, why, doubt string) {
	doc, err := iampolicy.Parse([]byte(trust))
	if err != nil {
		return false, "its trust policy is not one buildrole writes: " + err.Error(), ""
	}
	var job, ec2 int
	for i, st := range doc.Statement {
		kind, why, d := trustStatement(st, partition, account, gate)
		if why != "" {
			return false, fmt.Sprintf("its trust policy's statement %d %s", i+1, why), ""
		}
		doubt += d
		if kind == trustEC2 {
			ec2++
		} else {
			job++
		}
	}
	if job > 1 || ec2 > 1 {
		return false, fmt.Sprintf("its trust policy has %d statements for jobs and %d for EC2; buildrole writes at most one of each", job, ec2), ""
	}
	return job == 0, "", doubt
}

type trustKind int

const (
	trustEC2 trustKind = iota + 1
	trustWebIdentity
	trustChain
)

// trustStatement sorts one statement into the kinds buildrole writes, or
// says why it is none of them, or what leaves it in doubt.
func trustStatement(st iampolicy.Statement, partition, account string, gate *JobGate) (trustKind, string, string) {
	p := st.Principal
	switch {
	case st.Effect != iampolicy.EffectAllow:
		return 0, "is not an Allow", ""
	case st.NotPrincipal != nil || len(st.NotAction) > 0 || len(st.Resource) > 0 || len(st.NotResource) > 0:
		return 0, "uses NotPrincipal, NotAction or Resource", ""
	case p == nil || p.Any:
		return 0, "admits any principal", ""
	case len(st.Action) != 1:
		return 0, fmt.Sprintf("allows %d actions", len(st.Action)), ""
	}
	kinds := 0
	for _, v := range []iampolicy.Values{p.AWS, p.Federated, p.Service, p.CanonicalUser} {
		if len(v) > 0 {
			kinds++
		}
	}
	switch {
	case kinds != 1:
		return 0, "admits more than one kind of principal", ""
	case len(p.Service) > 0:
		return trustEC2, ec2Trust(st, partition), ""
	case len(p.Federated) > 0:
		why, doubt := webIdentityTrust(st, partition, account, gate)
		return trustWebIdentity, why, doubt
	case len(p.AWS) > 0:
		return trustChain, chainTrust(st, partition, account, gate), ""
	}
	return 0, "admits a canonical user", ""
}

func ec2Trust(st iampolicy.Statement, partition string) string {
	want := awsfacts.ServicePrincipal(partition, "ec2")
	switch {
	case len(st.Principal.Service) != 1 || st.Principal.Service[0] != want:
		return fmt.Sprintf("admits the services %s, not %s alone", strings.Join(st.Principal.Service, ", "), want)
	case !strings.EqualFold(st.Action[0], iampolicy.ActionAssumeRole):
		return "allows EC2 " + st.Action[0]
	case len(st.Condition) > 0:
		return "puts conditions on EC2"
	}
	return ""
}

func webIdentityTrust(st iampolicy.Statement, partition, account string, gate *JobGate) (why, doubt string) {
	own := "arn:" + partition + ":iam::" + account + ":oidc-provider/"
	fed := st.Principal.Federated
	if len(fed) != 1 || !strings.HasPrefix(fed[0], own) || len(fed[0]) == len(own) {
		return fmt.Sprintf("admits the identity providers %s, not one of account %s", strings.Join(fed, ", "), account), ""
	}
	name := strings.TrimPrefix(fed[0], own)
	if !strings.EqualFold(st.Action[0], iampolicy.ActionAssumeRoleWithWebIdentity) {
		return "allows " + st.Action[0] + " to an identity provider", ""
	}
	for op := range st.Condition {
		if op != iampolicy.OpStringEquals {
			return fmt.Sprintf("matches tokens with %s; buildrole binds exactly one aud and one sub with %s", op, iampolicy.OpStringEquals), ""
		}
	}
	keys := st.Condition[iampolicy.OpStringEquals]
	var aud, sub iampolicy.Values
	for k, v := range keys {
		switch {
		case strings.EqualFold(k, name+":aud"):
			aud = v
		case strings.EqualFold(k, name+":sub"):
			sub = v
		default:
			return fmt.Sprintf("conditions %s, which buildrole never binds", k), ""
		}
	}
	switch {
	case len(aud) != 1 || len(sub) != 1:
		return fmt.Sprintf("admits %d audiences and %d subjects; buildrole binds exactly one of each", len(aud), len(sub)), ""
	case gate == nil:
		if !strings.HasPrefix(sub[0], "repo:") {
			return fmt.Sprintf("admits the subject %q, which is no GitHub job's", sub[0]), ""
		}
	case gate.admits(fed[0], name, aud[0], sub[0]):
		// The bootstrap role's trust is the authority (a customised sub
		// claim need not begin "repo:").
	case !gate.names(sub[0]):
		return "", fmt.Sprintf("admits the subject %q, whose repository the bootstrap role %s does not admit", sub[0], gate.role)
	default:
		return fmt.Sprintf("admits the subject %q with audience %q, which the bootstrap role does not admit", sub[0], aud[0]), ""
	}
	return "", ""
}

// chainTrust checks a trust of one AWS principal. With the bootstrap role
// known, a chain-mode run was made by a session of it (a job that had
// itself assumed the bootstrap role): any other role, session or user of
// the account is planted. Without it (up as the runner's own identity),
// only the form can be checked.
func chainTrust(st iampolicy.Statement, partition, account string, gate *JobGate) string {
	aws := st.Principal.AWS
	if len(aws) != 1 {
		return fmt.Sprintf("admits %d AWS principals; buildrole trusts one session", len(aws))
	}
	p := aws[0]
	sessions := "arn:" + partition + ":sts::" + account + ":assumed-role/"
	session := strings.HasPrefix(p, sessions)
	identity := strings.HasPrefix(p, "arn:"+partition+":iam::"+account+":role/") || strings.HasPrefix(p, "arn:"+partition+":iam::"+account+":user/")
	switch {
	case !session && !identity:
		return fmt.Sprintf("admits %s, which is not a role, role session or user of account %s", p, account)
	case gate != nil && !bootstrapSession(strings.TrimPrefix(p, sessions), gate.role, session):
		return fmt.Sprintf("admits %s, which is no session of the bootstrap role %s", p, gate.role)
	case !strings.EqualFold(st.Action[0], iampolicy.ActionAssumeRole):
		return "allows " + st.Action[0] + " to an AWS principal"
	case len(st.Condition) > 0:
		return "puts conditions on its AWS principal, which buildrole never does"
	}
	return ""
}

// bootstrapSession reports whether rest, what follows assumed-role/ in a
// session ARN, is ROLE/SESSION for the role named role (IAM role names
// are unique whatever their case).
func bootstrapSession(rest, role string, session bool) bool {
	name, sess, ok := strings.Cut(rest, "/")
	return session && ok && sess != "" && !strings.Contains(sess, "/") && strings.EqualFold(name, role)
}

// ParseTTL reads a ttl as the inputs take it: a Go duration, or a whole
// number of days ("2d").
func ParseTTL(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

// The bootstrap role's Description carries the account's max-ttl, which up
// and sweep read from the bootstrap role's ListRoles entry: what the
// role is, then "; max-ttl=" and the duration.
const (
	bootstrapPurpose = "Assumed by buildrole in GitHub Actions to create and delete per-run roles"
	maxTTLField      = "max-ttl="
)

// BootstrapDescription is the bootstrap role's Description for an account
// whose longest ttl is maxTTL (within IAM's 1000 printable characters).
func BootstrapDescription(maxTTL time.Duration) string {
	return bootstrapPurpose + "; " + maxTTLField + FormatTTL(maxTTL)
}

// MaxTTLOf reads the max-ttl a bootstrap role's Description carries; ok is
// false when it carries none (a bootstrap older than the field, or a
// description written by hand), err when it carries one that is no
// duration from MinTTL to MaxTTL.
func MaxTTLOf(description string) (d time.Duration, ok bool, err error) {
	var raw string
	for _, part := range strings.Split(description, ";") {
		if v, found := strings.CutPrefix(strings.TrimSpace(part), maxTTLField); found {
			raw, ok = v, true
		}
	}
	if !ok {
		return 0, false, nil
	}
	d, err = ParseTTL(raw)
	if err != nil || d < MinTTL || d > MaxTTL {
		return 0, true, fmt.Errorf("the bootstrap role's description says %s%q, not a duration from %s to %s", maxTTLField, raw, FormatTTL(MinTTL), FormatTTL(MaxTTL))
	}
	return d, true, nil
}
