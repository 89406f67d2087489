package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/buildrole/buildrole/internal/config"
)

// flags is one subcommand's flag set: only the flags it uses, named like
// the action inputs they stand for.
type flags struct {
	fs     *flag.FlagSet
	name   string // subcommand
	usage  string // "buildrole down [flags]"
	about  string
	stdout io.Writer
	stderr io.Writer
	args   string // what positional arguments are, "" for none

	inputs    map[string]*string
	lists     map[string]*listFlag
	stateFile string
	endpoint  string
	envFile   string
	json      bool
	debug     bool
}

// Inputs each subcommand takes as flags.
var (
	authInputs = []string{"aws-region", "role-to-assume", "audience", "role-session-name", "retry-max-attempts", "mask-aws-account-id"}
	planInputs = []string{"role-duration-seconds", "name-prefix", "path", "permissions-boundary", "tags", "ttl", "max-ttl", "template", "template-vars",
		"extra-policy", "instance-policy", "instance-profile", "scope", "allowed-source-cidrs"}
)

// repeatable inputs take one value a line.
var repeatable = map[string]bool{"tags": true, "allowed-source-cidrs": true, "template-vars": true}

func newFlags(env Env, name, usage, about string) *flags {
	f := &flags{
		fs: flag.NewFlagSet("buildrole "+name, flag.ContinueOnError), name: name, usage: usage, about: about,
		stdout: env.Stdout, stderr: env.Stderr, inputs: map[string]*string{}, lists: map[string]*listFlag{},
	}
	// Parse's own messages are replaced by one line (see parse).
	f.fs.SetOutput(io.Discard)
	f.fs.Usage = func() {}
	return f
}

// withInputs adds a flag for each named action input.
func (f *flags) withInputs(names ...string) *flags {
	for _, name := range names {
		in, ok := config.Lookup(name)
		if !ok {
			panic("cli: no input " + name) // a programming error, caught by every test
		}
		desc := in.Description
		if in.Default != "" && in.Default != "false" {
			desc += " (default " + in.Default + ")"
		}
		switch {
		case repeatable[name]:
			l := &listFlag{}
			f.lists[name] = l
			f.fs.Var(l, name, desc)
		case in.Default == "true" || in.Default == "false":
			// --dry-run alone means true, as users expect of a switch.
			b := &boolFlag{}
			f.inputs[name] = &b.val
			f.fs.Var(b, name, desc)
		default:
			f.inputs[name] = f.fs.String(name, "", desc)
		}
	}
	return f
}

func (f *flags) withStateFile(desc string) *flags {
	f.fs.StringVar(&f.stateFile, "state-file", "buildrole-state.json", desc)
	return f
}

// withAWS adds what every command that calls AWS takes: the endpoint and
// debug output.
func (f *flags) withAWS() *flags {
	f.fs.StringVar(&f.endpoint, "endpoint-url", "", "AWS-compatible endpoint for IAM and STS (default: AWS, or AWS_ENDPOINT_URL)")
	f.fs.BoolVar(&f.debug, "debug", false, "print debug lines (policies, waits) on stderr")
	return f
}

func (f *flags) withJSON(desc string) *flags {
	f.fs.BoolVar(&f.json, "json", false, desc)
	return f
}

func (f *flags) withEnvFile() *flags {
	f.fs.StringVar(&f.envFile, "env-file", "", "write the exported environment, credentials included, to this file (mode 0600)")
	return f
}

// withArgs allows positional arguments, described by what.
func (f *flags) withArgs(what string) *flags {
	f.args = what
	return f
}

// input returns a flag's raw value ("" when not given).
func (f *flags) input(name string) string {
	if l, ok := f.lists[name]; ok {
		return l.String()
	}
	if v, ok := f.inputs[name]; ok {
		return *v
	}
	return ""
}

// parse reads args. done is true when the command should stop with code:
// after -h (usage on stdout, exit 0) or a bad flag (one line and the hint,
// exit 2).
func (f *flags) parse(args []string) (done bool, code int) {
	err := f.fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		f.printUsage()
		return true, ExitOK
	case err != nil:
		if name, ok := f.unknownFlag(args); ok {
			return true, f.fail("unknown flag --%s%s", name, f.didYouMean(name))
		}
		return true, f.fail("%v", err)
	case f.args == "" && f.fs.NArg() > 0:
		return true, f.fail("unexpected argument %q", f.fs.Arg(0))
	}
	return false, ExitOK
}

// unknownFlag finds the first flag in args that the set does not define,
// reading args as flag.Parse does (it stops at "--" or the first
// argument that is not a flag).
func (f *flags) unknownFlag(args []string) (string, bool) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || len(a) < 2 || a[0] != '-' {
			return "", false
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		fl := f.fs.Lookup(name)
		switch {
		case fl == nil && name != "h" && name != "help":
			return name, true
		case fl == nil || hasValue:
		default:
			if bf, ok := fl.Value.(interface{ IsBoolFlag() bool }); !ok || !bf.IsBoolFlag() {
				i++ // its value
			}
		}
	}
	return "", false
}

// didYouMean names the defined flag nearest to name, when one is near.
func (f *flags) didYouMean(name string) string {
	var names, prefixed []string // prefixed: flags name abbreviates (--repo)
	f.fs.VisitAll(func(fl *flag.Flag) {
		names = append(names, fl.Name)
		if strings.HasPrefix(fl.Name, name) {
			prefixed = append(prefixed, fl.Name)
		}
	})
	best := config.Nearest(name, names)
	if best == "" && len(prefixed) > 0 {
		// The shortest, when the others extend it (--repository, not
		// --repository-id).
		slices.SortFunc(prefixed, func(a, b string) int { return len(a) - len(b) })
		best = prefixed[0]
		for _, p := range prefixed[1:] {
			if !strings.HasPrefix(p, best) {
				best = ""
			}
		}
	}
	if best == "" {
		return ""
	}
	return "; did you mean --" + best + "?"
}

// fail prints one line and how to get help; it returns ExitUsage.
func (f *flags) fail(format string, args ...any) int {
	fmt.Fprintf(f.stderr, "buildrole %s: %s\nRun 'buildrole %s -h' for its flags.\n", f.name, fmt.Sprintf(format, args...), f.name)
	return ExitUsage
}

func (f *flags) printUsage() {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: %s\n\n%s\n", f.usage, f.about)
	first := true
	f.fs.VisitAll(func(fl *flag.Flag) {
		if first {
			b.WriteString("\nFlags:\n")
			first = false
		}
		// flag.UnquoteUsage names the value from `backquotes` or the type.
		kind, usage := flag.UnquoteUsage(fl)
		if bf, ok := fl.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
			kind = ""
		} else if kind == "" || kind == "value" {
			kind = "string"
		}
		fmt.Fprintf(&b, "  --%s", fl.Name)
		if kind != "" {
			b.WriteString(" " + kind)
		}
		fmt.Fprintf(&b, "\n    \t%s", usage)
		switch {
		case fl.DefValue == "" || fl.DefValue == "false":
		case kind == "string":
			fmt.Fprintf(&b, " (default %q)", fl.DefValue)
		default:
			fmt.Fprintf(&b, " (default %s)", fl.DefValue)
		}
		b.WriteString("\n")
	})
	fmt.Fprint(f.stdout, b.String())
}

// flagName names an input the way the user gave it: --name on the command
// line.
func flagName(input string) string { return "--" + input }

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

// commands are the subcommands, for nearestCommand.
var commands = []string{"up", "down", "sweep", "exec", "policy", "lint", "bootstrap", "demo", "version"}

// nearestCommand names the subcommand cmd is a slip of, if any.
func nearestCommand(cmd string) string {
	if c := config.Nearest(cmd, commands); c != "" {
		return "; did you mean '" + c + "'?"
	}
	return ""
}

// inputsKnown reports the step's unknown inputs: false after a typo,
// which is refused before anything else.
func inputsKnown(rio runIO, env Env) bool {
	typos, others := config.UnknownInputs(env.Environ())
	for _, o := range others {
		rio.warnf("with: %s", o)
	}
	if len(typos) > 0 {
		rio.errorf("buildrole: invalid input; nothing was created:\nwith: %s", strings.Join(typos, "\nwith: "))
		return false
	}
	return true
}
