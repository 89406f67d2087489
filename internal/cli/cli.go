package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/buildrole/buildrole/internal/config"
	"github.com/buildrole/buildrole/internal/stsauth"
)

// Exit codes.
const (
	ExitOK        = 0 // done
	ExitFailed    = 1 // failed; whatever was created has been removed
	ExitUsage     = 2 // bad flags or input; no AWS call was made
	ExitLeftovers = 3 // failed, and some resources could not be deleted
)

// Version is set at build time with -ldflags "-X ...cli.Version=v1.2.3".
var Version = "dev"

// Env is everything the CLI takes from its process.
type Env struct {
	Getenv     func(string) string // default os.Getenv
	Stdout     io.Writer           // default os.Stdout
	Stderr     io.Writer           // default os.Stderr
	Now        func() time.Time    // default time.Now
	HTTPClient *http.Client        // default http.DefaultClient
	// AWS adjusts the AWS options after flags are read; tests shorten
	// backoffs or supply credentials for the default-chain mode.
	AWS func(*stsauth.Options)
	// NewRunID makes the run's UUID. Default uuid.NewString.
	NewRunID func() string
}

func (e Env) withDefaults() Env {
	if e.Getenv == nil {
		e.Getenv = os.Getenv
	}
	if e.Stdout == nil {
		e.Stdout = os.Stdout
	}
	if e.Stderr == nil {
		e.Stderr = os.Stderr
	}
	if e.Now == nil {
		e.Now = time.Now
	}
	if e.HTTPClient == nil {
		e.HTTPClient = http.DefaultClient
	}
	return e
}

const usage = `buildrole: ephemeral, least-privilege IAM roles for Packer builds in GitHub Actions

Usage:
  buildrole up      [flags]   create this run's build role, instance role and profile
  buildrole down    [flags]   delete what up created (reads the saved state)
  buildrole sweep   [flags]   delete runs a killed runner left behind (expired by default)
  buildrole policy  [flags]   print what the build role may do and why (--template PATH), no AWS call
  buildrole lint    FILE...   lint IAM policy documents (file:line:col: message [rule])
  buildrole bootstrap --repository ORG/REPO --account-id ID [--format json|cloudformation|terraform]
                              print the one-time account setup (OIDC provider, bootstrap role, boundary)
  buildrole demo    [--json]  run up and down against an embedded fake AWS
  buildrole version           print the version

Inside a GitHub Action (GITHUB_ACTIONS=true) up and down read INPUT_* and
STATE_* and write the runner's files; elsewhere they take flags.
Run 'buildrole COMMAND -h' for a command's flags.
`

// Main runs the command line and returns the exit code.
func Main(ctx context.Context, args []string, env Env) int {
	env = env.withDefaults()
	if len(args) > 0 {
		// Called as buildrole-up or buildrole-down (the action's entry
		// points), the name is the subcommand.
		if sub, ok := strings.CutPrefix(filepath.Base(args[0]), "buildrole-"); ok {
			args = append([]string{sub}, args[1:]...)
		} else {
			args = args[1:]
		}
	}
	if len(args) == 0 {
		fmt.Fprint(env.Stderr, usage)
		return ExitUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "up":
		return runUp(ctx, env, rest)
	case "down":
		return runDown(ctx, env, rest)
	case "sweep":
		return runSweep(ctx, env, rest)
	case "policy":
		return runPolicy(ctx, env, rest)
	case "lint":
		return runLint(ctx, env, rest)
	case "bootstrap":
		return runBootstrap(ctx, env, rest)
	case "demo":
		return runDemo(ctx, env, rest)
	case "version", "--version":
		fmt.Fprintf(env.Stdout, "buildrole %s\n", Version)
		return ExitOK
	case "help", "-h", "--help":
		fmt.Fprint(env.Stdout, usage)
		return ExitOK
	}
	fmt.Fprintf(env.Stderr, "buildrole: unknown command %q\n\n%s", cmd, usage)
	return ExitUsage
}

// listFlag collects a repeatable flag, one value a line.
type listFlag struct{ vals []string }

func (l *listFlag) String() string { return strings.Join(l.vals, "\n") }
func (l *listFlag) Set(v string) error {
	l.vals = append(l.vals, v)
	return nil
}

// boolFlag is a true/false input as a switch; its text is still checked by
// config like any input ("--dry-run=maybe" is an input error).
type boolFlag struct{ val string }

func (b *boolFlag) String() string     { return b.val }
func (b *boolFlag) Set(v string) error { b.val = v; return nil }
func (b *boolFlag) IsBoolFlag() bool   { return true }

// flags holds the shared flags of up and down.
type flags struct {
	fs        *flag.FlagSet
	inputs    map[string]*string
	lists     map[string]*listFlag
	stateFile string
	endpoint  string
	envFile   string
	json      bool
}

// repeatable inputs take one value a line.
var repeatable = map[string]bool{"tags": true, "allowed-source-cidrs": true, "template-vars": true}

func newFlags(name string, stderr io.Writer) *flags {
	f := &flags{fs: flag.NewFlagSet("buildrole "+name, flag.ContinueOnError), inputs: map[string]*string{}, lists: map[string]*listFlag{}}
	f.fs.SetOutput(stderr)
	for _, in := range config.Inputs {
		desc := in.Description
		if in.Default != "" {
			desc += " (default " + in.Default + ")"
		}
		if repeatable[in.Name] {
			l := &listFlag{}
			f.lists[in.Name] = l
			f.fs.Var(l, in.Name, desc)
			continue
		}
		if in.Default == "true" || in.Default == "false" {
			// --dry-run alone means true, as users expect of a switch.
			b := &boolFlag{}
			f.inputs[in.Name] = &b.val
			f.fs.Var(b, in.Name, desc)
			continue
		}
		f.inputs[in.Name] = f.fs.String(in.Name, "", desc)
	}
	f.fs.StringVar(&f.stateFile, "state-file", "buildrole-state.json", "where up saves, and down reads, the names of the run's resources")
	f.fs.StringVar(&f.endpoint, "endpoint-url", "", "AWS-compatible endpoint for IAM and STS (default: AWS, or AWS_ENDPOINT_URL)")
	f.fs.BoolVar(&f.json, "json", false, "print results as JSON")
	f.fs.StringVar(&f.envFile, "env-file", "", "outside Actions: write the exported environment, credentials included, to this file (mode 0600)")
	return f
}

func (f *flags) input(name string) string {
	if l, ok := f.lists[name]; ok {
		return l.String()
	}
	if v, ok := f.inputs[name]; ok {
		return *v
	}
	return ""
}

// parse returns ExitOK, or the exit code to stop with.
func (f *flags) parse(args []string) int {
	if err := f.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return -1
		}
		return ExitUsage
	}
	if f.fs.NArg() > 0 {
		fmt.Fprintf(f.fs.Output(), "%s: unexpected argument %q\n", f.fs.Name(), f.fs.Arg(0))
		return ExitUsage
	}
	return ExitOK
}

func awsOptions(env Env, a config.Auth, endpoint string) stsauth.Options {
	if endpoint == "" {
		endpoint = env.Getenv("AWS_ENDPOINT_URL")
	}
	o := stsauth.Options{
		Region:           a.Region,
		EndpointURL:      endpoint,
		RetryMaxAttempts: a.RetryMaxAttempts,
		HTTPClient:       env.HTTPClient,
	}
	if env.AWS != nil {
		env.AWS(&o)
	}
	return o
}
