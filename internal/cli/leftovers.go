package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/buildrole/buildrole/internal/awsfacts"
	"github.com/buildrole/buildrole/internal/config"
	"github.com/buildrole/buildrole/internal/leftovers"
	"github.com/buildrole/buildrole/internal/run"
	"github.com/buildrole/buildrole/internal/stsauth"
)

// ec2Cleanup is what teardown did to the build's EC2 leftovers: the
// report, and the regions it could not list (their leftovers unknown).
type ec2Cleanup struct {
	report   leftovers.Report
	unlisted map[string]error
	as       string // who acted: the build role or the bootstrap session
}

// remaining counts what is or may still be there.
func (c *ec2Cleanup) remaining() int { return len(c.report.Remaining()) + len(c.unlisted) }

// cleanEC2 removes what the run's build left in EC2 in every build region,
// before the roles go: as the build role while it exists (its policy
// allows exactly its run's leftovers), else, and for what it was refused,
// as the bootstrap session.
func cleanEC2(ctx context.Context, env Env, rio runIO, opts stsauth.Options, sess *stsauth.Session, state run.State, auth config.Auth) *ec2Cleanup {
	out := &ec2Cleanup{unlisted: map[string]error{}, as: "the bootstrap session"}
	primary := sess.Config
	if cfg, err := buildRoleConfig(ctx, opts, sess, state, auth, rio.token); err == nil {
		primary, out.as = cfg, "build role "+state.Role
	} else {
		rio.printf("EC2 leftovers: not as the build role (%s); as the bootstrap session", err)
	}
	lo := leftovers.Options{RunID: state.RunID, Now: env.Now, Progress: rio.printf}
	if env.Leftovers != nil {
		env.Leftovers(&lo)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, region := range state.BuildRegions() {
		wg.Go(func() {
			rep, err := cleanRegion(ctx, primary, sess.Config, region, lo, out.as != "the bootstrap session")
			mu.Lock()
			defer mu.Unlock()
			out.report.Add(rep)
			if err != nil {
				out.unlisted[region] = err
			}
		})
	}
	wg.Wait()
	return out
}

// cleanRegion cleans one region as cfg; what cfg was refused (a listing, a
// removal) is tried again as the bootstrap session when cfg is the build
// role.
func cleanRegion(ctx context.Context, cfg, bootstrap aws.Config, region string, lo leftovers.Options, asBuildRole bool) (*leftovers.Report, error) {
	client := func(c aws.Config) leftovers.API {
		return ec2.NewFromConfig(c, func(o *ec2.Options) { o.Region = region })
	}
	rep, err := leftovers.Clean(ctx, client(cfg), region, lo)
	if !asBuildRole || (err == nil && !refused(rep)) {
		return rep, err
	}
	again, err := leftovers.Clean(ctx, client(bootstrap), region, lo)
	rep.Retried(again)
	return rep, err
}

// refused: EC2 denied one of the removals.
func refused(rep *leftovers.Report) bool {
	for _, o := range rep.Remaining() {
		if awsfacts.IsDenied(o.Code) {
			return true
		}
	}
	return false
}

// buildRoleConfig assumes the run's build role for teardown: with a fresh
// OIDC token as the job (web identity), or from the bootstrap session in
// chain mode. One short try: a role already gone is no reason to wait.
func buildRoleConfig(ctx context.Context, opts stsauth.Options, sess *stsauth.Session, state run.State, auth config.Auth, tokens stsauth.TokenSource) (aws.Config, error) {
	if auth.RoleToAssume != "" && tokens == nil {
		return aws.Config{}, fmt.Errorf("no OIDC token here")
	}
	req := stsauth.BuildRoleRequest{
		RoleARN:         fmt.Sprintf("arn:%s:iam::%s:role%s%s", auth.Partition, sess.AccountID, orDefault(state.Path, "/"), state.Role),
		SessionName:     auth.RoleSessionName,
		DurationSeconds: 900,
		Chain:           auth.RoleToAssume == "",
		Audience:        auth.Audience,
		MaxWait:         buildRoleWait,
	}
	creds, _, err := stsauth.AssumeBuildRole(ctx, opts, sess, req, tokens)
	if err != nil {
		return aws.Config{}, err
	}
	cfg := sess.Config.Copy()
	cfg.Credentials = aws.NewCredentialsCache(staticCreds{creds})
	return cfg, nil
}

// buildRoleWait bounds the try to assume the build role at teardown.
const buildRoleWait = 3 * time.Second

type staticCreds struct{ c aws.Credentials }

func (s staticCreds) Retrieve(context.Context) (aws.Credentials, error) { return s.c, nil }

// lines renders the outcomes for the log.
func (c *ec2Cleanup) lines() []string {
	var out []string
	for _, o := range c.report.Outcomes {
		line := fmt.Sprintf("%-18s %-60s %s", "ec2 "+o.Kind, o.Region+" "+o.ID+nameSuffix(o.Name), o.Status)
		if o.Detail != "" {
			line += ": " + o.Detail
		}
		out = append(out, line)
	}
	for _, r := range sortedRegions(c.unlisted) {
		out = append(out, fmt.Sprintf("%-18s %-60s unknown: %s", "ec2 region", r, c.unlisted[r]))
	}
	return out
}

func nameSuffix(n string) string {
	if n == "" {
		return ""
	}
	return " (" + n + ")"
}

func sortedRegions(m map[string]error) []string {
	var out []string
	for r := range m {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}

// finishCommands are the commands that finish what teardown could not:
// one per resource left, and a sweep per region it could not list.
func (c *ec2Cleanup) finishCommands(state run.State, roleToAssume string) []string {
	var out []string
	regions := map[string]error{}
	for _, o := range c.report.Remaining() {
		out = append(out, o.Command())
		regions[o.Region] = nil
	}
	for r := range c.unlisted {
		regions[r] = nil
	}
	// Sweep, with the bootstrap role, finds them by the run's tags.
	for _, r := range sortedRegions(regions) {
		s := state
		s.Region = r
		out = append(out, sweepCommand(s, roleToAssume))
	}
	return out
}

// summary is the step summary's EC2 part.
func (c *ec2Cleanup) summary(state run.State, roleToAssume string) string {
	if len(c.report.Outcomes) == 0 && len(c.unlisted) == 0 {
		return fmt.Sprintf("\nEC2: nothing of the build left in %s.\n", strings.Join(state.BuildRegions(), ", "))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n**EC2 leftovers of the build** (as %s): %d removed, %d remaining.\n\n| region | kind | id | result |\n|---|---|---|---|\n", c.as, c.report.Removed(), c.remaining())
	for _, o := range c.report.Outcomes {
		fmt.Fprintf(&b, "| %s | %s | `%s` | %s |\n", o.Region, o.Kind, o.ID, o.Status)
	}
	for _, r := range sortedRegions(c.unlisted) {
		fmt.Fprintf(&b, "| %s | (all) | | unknown: could not list |\n", r)
	}
	if cmds := c.finishCommands(state, roleToAssume); len(cmds) > 0 {
		b.WriteString("\nTo finish:\n\n```\n" + strings.Join(cmds, "\n") + "\n```\n")
	}
	return b.String()
}
