// Package iamsim_test proves buildrole's least privilege with two IAM
// evaluators: the project's own (iampolicy.Evaluate) and
// @cloud-copilot/iam-simulate, written by others over AWS's Service
// Authorization Reference and run by simulate.js as a separate Node
// process (AGPL-3.0: a test tool, never linked into or shipped with
// buildrole). `make test` installs it from package-lock.json first.
//
// The corpus: for every template under testdata/templates, in both scopes
// and with and without the bootstrap boundary, every call of its .calls
// list with the request context AWS gives it, and attacks derived from
// each call (another region, account, run, key, session, profile, network
// interface); the boundary under a run role that allows everything; the
// bootstrap role's policy; the trust policies. Every Packer call must be
// allowed, every attack denied, and the two evaluators must agree on every
// request, or the request names the evaluator's gap.
package iamsim_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/buildrole/buildrole/internal/iampolicy"
	"github.com/buildrole/buildrole/internal/testenv"
)

// request is one authorization question of the corpus.
type request struct {
	ID        string              `json:"id"`
	Engine    string              `json:"engine"` // "validating" or "core" (simulate.js)
	Principal string              `json:"principal"`
	Action    string              `json:"action"`
	Resource  string              `json:"resource"`
	Account   string              `json:"account"` // the resource's account
	Context   map[string][]string `json:"context"`
	Identity  []string            `json:"identity"` // names in corpus.Policies
	Boundary  string              `json:"boundary,omitempty"`
	// ResourcePolicy is a KMS key policy, or with trust a role's trust
	// policy (then Identity is empty).
	ResourcePolicy string `json:"resourcePolicy,omitempty"`

	want  bool   // Allow expected
	class string // packer, attack, residual, bootstrap, trust
	trust bool
	// gap says why iam-simulate cannot decide this request as IAM does;
	// the evaluators must then disagree, and ours must be right.
	gap string
}

type corpus struct {
	Policies map[string]iampolicy.Document `json:"policies"`
	Requests []*request                    `json:"requests"`
}

func (c *corpus) policy(name string, d iampolicy.Document) string {
	if c.Policies == nil {
		c.Policies = map[string]iampolicy.Document{}
	}
	c.Policies[name] = d
	return name
}

func (c *corpus) add(r *request) { c.Requests = append(c.Requests, r) }

// sessionARN is the build role's session, the caller of every build call.
const sessionARN = "arn:aws:sts::123456789012:assumed-role/buildrole-octo-app-pr42-3f9c2a1b/buildrole-77-1"

// keyPolicy is a KMS key's default policy: the key's account delegates to
// IAM, so the caller's own policies decide.
func keyPolicy(acct string) iampolicy.Document {
	return iampolicy.Document{Version: iampolicy.Version, Statement: []iampolicy.Statement{{
		Sid: "EnableIAMUserPermissions", Effect: iampolicy.EffectAllow,
		Principal: &iampolicy.Principal{AWS: iampolicy.Values{"arn:aws:iam::" + acct + ":root"}},
		Action:    iampolicy.Values{"kms:*"}, Resource: iampolicy.Values{"*"},
	}}}
}

// forKey points a KMS request at the key policy of the key's account.
func (c *corpus) forKey(r *request) *request {
	if !strings.HasPrefix(r.Action, "kms:") {
		return r
	}
	parts := strings.SplitN(r.Resource, ":", 6)
	if len(parts) == 6 && parts[4] != "" {
		r.Account = parts[4]
	}
	r.ResourcePolicy = c.policy("key-policy/"+r.Account, keyPolicy(r.Account))
	return r
}

// ours decides r with iampolicy. A KMS key policy is a resource policy:
// the key's default policy allows the key's account, so the request is
// allowed when the key policy admits the caller and the identity policies
// (under the boundary) allow it; an explicit Deny in either wins.
func (c *corpus) ours(r *request) iampolicy.Decision {
	req := iampolicy.Request{Action: r.Action, Resource: r.Resource, Context: r.Context}
	if r.trust {
		typ := "AWS"
		if strings.Contains(r.Principal, ":oidc-provider/") {
			typ = "Federated"
		}
		req.Principal = map[string]string{typ: r.Principal}
		return iampolicy.EvaluateTrust(req, c.Policies[r.ResourcePolicy])
	}
	var ids []iampolicy.Document
	for _, n := range r.Identity {
		ids = append(ids, c.Policies[n])
	}
	var b *iampolicy.Document
	if r.Boundary != "" {
		d := c.Policies[r.Boundary]
		b = &d
	}
	d := iampolicy.Evaluate(req, ids, b)
	if r.ResourcePolicy == "" {
		return d
	}
	req.Principal = map[string]string{"AWS": r.Principal}
	kp := iampolicy.EvaluateTrust(req, c.Policies[r.ResourcePolicy])
	switch {
	case d == iampolicy.ExplicitDeny || kp == iampolicy.ExplicitDeny:
		return iampolicy.ExplicitDeny
	case d == iampolicy.Allow && kp == iampolicy.Allow:
		return iampolicy.Allow
	}
	return iampolicy.ImplicitDeny
}

// result is simulate.js's answer for one request.
type result struct {
	ID       string   `json:"id"`
	Decision string   `json:"decision"`
	Ignored  []string `json:"ignored"`
	Error    string   `json:"error"`
}

var theirName = map[iampolicy.Decision]string{
	iampolicy.Allow: "Allowed", iampolicy.ImplicitDeny: "ImplicitlyDenied", iampolicy.ExplicitDeny: "ExplicitlyDenied",
}

// evaluator is node with iam-simulate installed beside simulate.js, or
// the test ends: skipped, or failed under BUILDROLE_TEST_REQUIRE=1.
func evaluator(t *testing.T) string {
	t.Helper()
	node := testenv.Tool(t, "node", "the independent IAM evaluator (test/iamsim) needs Node.js 20 and `npm ci` in test/iamsim; make test runs it")
	if _, err := os.Stat(filepath.Join("node_modules", "@cloud-copilot", "iam-simulate", "package.json")); err != nil {
		testenv.Missing(t, "test/iamsim/node_modules not installed: the independent IAM evaluator needs `npm ci` in test/iamsim (from its package-lock.json); make test runs it")
	}
	return node
}

// simulate runs the corpus through iam-simulate in one Node process.
func simulate(t *testing.T, node string, c *corpus) map[string]result {
	t.Helper()
	data, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "corpus.json")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, "simulate.js", file)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node simulate.js: %v\n%s", err, stderr.String())
	}
	var results []result
	if err := json.Unmarshal(out, &results); err != nil {
		t.Fatalf("node simulate.js: reading its output: %v", err)
	}
	byID := map[string]result{}
	for _, r := range results {
		byID[r.ID] = r
	}
	return byID
}

func TestIndependentEvaluatorAgrees(t *testing.T) {
	var c corpus
	stats := map[string]int{}
	addTemplates(t, &c, stats)
	addBoundary(t, &c)
	addBootstrap(t, &c)
	if t.Failed() {
		t.FailNow()
	}

	seen := map[string]bool{}
	for _, r := range c.Requests {
		if seen[r.ID] {
			t.Fatalf("request id %q is not unique", r.ID)
		}
		seen[r.ID] = true
	}

	// buildrole's evaluator: Packer's calls allowed, attacks denied.
	ours := map[string]iampolicy.Decision{}
	wrong := map[string]int{}
	for _, r := range c.Requests {
		stats[r.class]++
		got := c.ours(r)
		ours[r.ID] = got
		if (got == iampolicy.Allow) != r.want {
			wrong[r.class]++
			t.Errorf("%s (%s): buildrole's evaluator says %v, want allowed=%v", r.ID, r.class, got, r.want)
		}
	}
	t.Logf("corpus: %d requests (%d Packer calls, %d attacks, %d residual capabilities, %d bootstrap calls, %d trust checks); %d templates refused in scope tags, %d templates refused outright",
		len(c.Requests), stats["packer"], stats["attack"], stats["residual"], stats["bootstrap"], stats["trust"], stats["refused-tags"], stats["refused"])
	t.Logf("Packer calls denied: %d; attacks allowed: %d", wrong["packer"], wrong["attack"])

	// The independent evaluator must decide every request as ours does.
	t.Run("iam-simulate", func(t *testing.T) {
		theirs := simulate(t, evaluator(t), &c)
		agree, gaps := 0, 0
		for _, r := range c.Requests {
			got := ours[r.ID]
			res, ok := theirs[r.ID]
			switch {
			case !ok:
				t.Errorf("%s: iam-simulate gave no answer", r.ID)
				continue
			case res.Error != "":
				t.Errorf("%s: iam-simulate refused the request: %s", r.ID, res.Error)
				continue
			}
			same := res.Decision == theirName[got]
			switch {
			case same && r.gap != "":
				t.Errorf("%s: both evaluators say %s, but the request is marked as iam-simulate's gap (%s): drop the mark", r.ID, res.Decision, r.gap)
			case same:
				agree++
			case r.gap != "":
				gaps++
			default:
				t.Errorf("%s (%s): evaluators disagree: buildrole %v, iam-simulate %s (context keys it dropped as unsupported for the action: %v)", r.ID, r.class, got, res.Decision, res.Ignored)
			}
		}
		t.Logf("evaluators agree on %d of %d (%d documented iam-simulate gaps)", agree, len(c.Requests), gaps)
	})
}

// expect is the outcome and class of a generated request.
type expect struct {
	want  bool
	class string
	gap   string
}

var (
	allowPacker = expect{want: true, class: "packer"}
	denyAttack  = expect{want: false, class: "attack"}
)

// newRequest makes a request of the build role's session.
func newRequest(id, action, resource string, ctx map[string][]string, e expect) *request {
	r := &request{
		ID: id, Engine: "validating", Principal: sessionARN, Action: action, Resource: resource,
		Account: account, Context: ctx, want: e.want, class: e.class, gap: e.gap,
	}
	// The validating entry point refuses AWS-owned SSM documents, whose
	// ARNs have no account, and has no type for ec2:osuser, the one key of
	// ec2-instance-connect: the core engine decides those.
	if strings.Contains(resource, ":ssm:") && strings.Contains(resource, "::document/") || strings.HasPrefix(action, "ec2-instance-connect:") {
		r.Engine = "core"
	}
	return r
}

func cloneCtx(ctx map[string][]string) map[string][]string {
	out := make(map[string][]string, len(ctx))
	for k, v := range ctx {
		out[k] = slices.Clone(v)
	}
	return out
}

// errMissing tells a missing .calls file from other errors.
func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, os.ErrNotExist)
}

func idOf(parts ...any) string {
	s := make([]string, len(parts))
	for i, p := range parts {
		s[i] = fmt.Sprint(p)
	}
	return strings.Join(s, "/")
}
