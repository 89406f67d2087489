package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/buildrole/buildrole/internal/config"
	"github.com/buildrole/buildrole/internal/leftovers"
	"github.com/buildrole/buildrole/internal/procrun"
	"github.com/buildrole/buildrole/internal/stsauth"
)

// Exit codes.
const (
	ExitOK        = 0 // done
	ExitFailed    = 1 // failed; whatever was created has been removed
	ExitUsage     = 2 // bad flags or input; no AWS call was made
	ExitLeftovers = 3 // failed, and some resources could not be deleted (or may appear)
	ExitInternal  = 4 // a bug in buildrole, not bad input
)

// Version is set at build time with -ldflags "-X ...cli.Version=v1.2.3".
// Left "dev", buildrole reports the module version `go install` recorded
// (version).
var Version = "dev"

// version is the version buildrole reports: Version as stamped, or for
// `go install .../cmd/buildrole@vX.Y.Z`, which stamps nothing, the module
// version Go recorded.
func version() string {
	info, ok := debug.ReadBuildInfo()
	return versionOf(Version, info, ok)
}

func versionOf(stamped string, info *debug.BuildInfo, ok bool) string {
	if stamped == "dev" && ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return stamped
}

// Env is everything the CLI takes from its process.
type Env struct {
	Getenv     func(string) string // default os.Getenv
	Stdout     io.Writer           // default os.Stdout
	Stderr     io.Writer           // default os.Stderr
	Now        func() time.Time    // default time.Now
	HTTPClient *http.Client        // default: the default transport with a 60 s response-header timeout
	// AWS adjusts the AWS options after flags are read; tests shorten
	// backoffs or supply credentials for the default-chain mode.
	AWS func(*stsauth.Options)
	// Leftovers adjusts teardown's EC2 cleanup; tests shorten its waits.
	Leftovers func(*leftovers.Options)
	// NewRunID makes the run's UUID. Default uuid.NewString.
	NewRunID func() string
	// Stdin is what exec's command reads. Default os.Stdin.
	Stdin io.Reader
	// Environ is the environment exec's command starts from. Default
	// os.Environ.
	Environ func() []string
	// Signals subscribes c to the signals exec forwards to its command and
	// returns how to unsubscribe. Default procrun.Notify.
	Signals func(c chan<- os.Signal) (stop func())
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
	if e.Stdin == nil {
		e.Stdin = os.Stdin
	}
	if e.Environ == nil {
		e.Environ = os.Environ
	}
	if e.Signals == nil {
		e.Signals = procrun.Notify
	}
	if e.Now == nil {
		e.Now = time.Now
	}
	if e.HTTPClient == nil {
		// A server or proxy that accepts a connection and never answers
		// must not hold a post step until the job's timeout.
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.ResponseHeaderTimeout = 60 * time.Second
		e.HTTPClient = &http.Client{Transport: t}
	}
	return e
}

const usage = `buildrole: ephemeral, least-privilege IAM roles for Packer builds in GitHub Actions

Usage:
  buildrole up      [flags]   create this run's build role, instance role and profile
  buildrole down    [flags]   delete what up created (reads the saved state)
  buildrole sweep   [flags]   delete runs a killed runner left behind (expired by default)
  buildrole exec    [flags] -- COMMAND [ARGS...]
                              run COMMAND (packer build ...) and report the AWS calls it made against
                              the build role's policy: denied (and the fix), ungranted, unused
  buildrole policy  [flags]   print what the build role may do and why (--template PATH), no AWS call
  buildrole lint    FILE...   lint IAM policy documents (file:line:col: message [rule])
  buildrole bootstrap --repository ORG/REPO --account-id ID [--region R]... [--oidc-provider-arn ARN] [--format json|cloudformation|terraform]
                              print the one-time account setup (OIDC provider, bootstrap role, boundary)
  buildrole demo    [--json]  run up and down against an embedded fake AWS
  buildrole version           print the version

Inside a GitHub Action (GITHUB_ACTIONS=true) up and down read INPUT_* and
STATE_* and write the runner's files; elsewhere they take flags.
Run 'buildrole COMMAND -h' for a command's flags.
`

// Main runs the command line and returns the exit code.
func Main(ctx context.Context, args []string, env Env) (code int) {
	env = env.withDefaults()
	defer func() {
		// A panic is a bug; Go's own exit code for it (2) would read as
		// "bad input".
		if r := recover(); r != nil {
			fmt.Fprintf(env.Stderr, "buildrole: internal error: %v\nThis is a bug in buildrole %s, not a problem with your input; please report it with the trace below.\n"+
				"If up or down was running, the post step or `buildrole down` removes what the run created.\n%s", r, version(), debug.Stack())
			code = ExitInternal
		}
	}()
	if len(args) > 0 {
		// Called as buildrole-up or buildrole-down (the image's entry
		// points), the name is the subcommand; any other name, such as a
		// downloaded buildrole-linux-amd64, is just the program.
		name := strings.TrimSuffix(filepath.Base(args[0]), ".exe")
		if sub, ok := strings.CutPrefix(name, "buildrole-"); ok && (sub == "up" || sub == "down" || sub == "version") {
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
	case "exec":
		return runExec(ctx, env, rest)
	case "policy":
		return runPolicy(ctx, env, rest)
	case "lint":
		return runLint(ctx, env, rest)
	case "bootstrap":
		return runBootstrap(ctx, env, rest)
	case "demo":
		return runDemo(ctx, env, rest)
	case "version", "--version":
		f := newFlags(env, "version", "buildrole version", "Print the version.")
		if done, code := f.parse(rest); done {
			return code
		}
		fmt.Fprintf(env.Stdout, "buildrole %s\n", version())
		return ExitOK
	case "help", "-h", "--help":
		fmt.Fprint(env.Stdout, usage)
		return ExitOK
	}
	fmt.Fprintf(env.Stderr, "buildrole: unknown command %q%s\n\n%s", cmd, nearestCommand(cmd), usage)
	return ExitUsage
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
		Getenv:           env.Getenv,
		Now:              env.Now,
		// Every run of an organisation shares the account's IAM rate:
		// slow down when throttled.
		Adaptive: true,
	}
	if env.AWS != nil {
		env.AWS(&o)
	}
	return o
}
