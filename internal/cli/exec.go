package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/google/uuid"

	"github.com/buildrole/buildrole/internal/config"
	"github.com/buildrole/buildrole/internal/csm"
	"github.com/buildrole/buildrole/internal/ghaction"
	"github.com/buildrole/buildrole/internal/iampolicy"
	"github.com/buildrole/buildrole/internal/observe"
	"github.com/buildrole/buildrole/internal/planner"
	"github.com/buildrole/buildrole/internal/procrun"
	"github.com/buildrole/buildrole/internal/run"
	"github.com/buildrole/buildrole/internal/runcreds"
	"github.com/buildrole/buildrole/internal/safefile"
	"github.com/buildrole/buildrole/internal/stsauth"
	"github.com/buildrole/buildrole/internal/wiretap"
)

const (
	// policyFileVar names, in a job's later steps, the file where up saved
	// the build role's policy.
	policyFileVar = "BUILDROLE_POLICY_FILE"
	// maxAnnotations bounds the error annotations one run adds to a job.
	maxAnnotations = 10
)

func execFlags(env Env) *flags {
	return newFlags(env, "exec", "buildrole exec [--state-file FILE | --template FILE [flags]] [--report FILE] [--record FILE] [--endpoint-url URL] [--credentials MODE] -- COMMAND [ARGS...]",
		"Run COMMAND with its AWS calls observed, then report every call it made: what AWS denied\n"+
			"and the grant that fixes it, what succeeded without a grant, and what the policy grants\n"+
			"that was never called. The calls pass a loopback proxy (HTTPS_PROXY, with AWS_CA_BUNDLE\n"+
			"naming a certificate authority made for this run): calls to AWS API hosts are read and\n"+
			"forwarded unchanged, every other host is tunnelled untouched. AWS SDK for Go v1 clients\n"+
			"also send client-side monitoring events (AWS_CSM_*, to a loopback port).\n"+
			"COMMAND keeps its input and output, gets the signals buildrole gets, and its exit code\n"+
			"is exec's (127: not found, 126: not runnable).\n\n"+
			"The policy calls are held against: --template (as `buildrole policy` derives it), or\n"+
			"--state-file (a `buildrole up` run), or in a job step after the action the file up\n"+
			"saved ("+policyFileVar+"), or ./buildrole-state.json when it holds a run.\n"+
			"--endpoint-url sends every AWS call to an emulator instead, with its Host and signature.\n\n"+
			"Credentials: in a job after the buildrole action (its BUILDROLE_* variables), exec\n"+
			"assumes the build role itself and serves COMMAND its sessions, renewed before they\n"+
			"expire, on a loopback endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI); the environment's\n"+
			"keys, profiles and web identity are hidden from COMMAND. --credentials environment\n"+
			"keeps the environment's own; without a run or credentials exec exits 2.").
		withInputs("aws-region", "template", "template-vars", "extra-policy", "instance-profile", "scope").
		withStateFile("the state file of a buildrole up run: hold the calls against that run's policy").
		withArgs("COMMAND [ARGS...]")
}

func runExec(_ context.Context, env Env, args []string) int {
	// The command's stderr, exec's log and the credentials' renewals
	// share it, from several goroutines.
	env.Stderr = syncWriter(env.Stderr)
	f := execFlags(env)
	x := &execRun{env: env, f: f,
		report:      f.fs.String("report", "", "write the report as JSON to this file"),
		record:      f.fs.String("record", "", "write the calls in the format of testdata/templates/*.calls to this file"),
		credMode:    f.fs.String("credentials", runcreds.Auto, "the command's AWS credentials: run (the build role up made, served and renewed by exec), environment (the command's own), or auto (run when the job has one and no --endpoint-url is given, else environment)"),
		endpointURL: f.fs.String("endpoint-url", "", "send every AWS call the command makes to this URL (an emulator), keeping its Host and signature"),
	}
	if done, code := f.parse(args); done {
		return code
	}
	if len(f.fs.Args()) == 0 {
		return f.fail("no command to run: buildrole exec [flags] -- COMMAND [ARGS...]")
	}
	if err := x.validate(); err != nil {
		fmt.Fprintf(env.Stderr, "buildrole exec: %s\nthe command was not run\n", err)
		return ExitUsage
	}
	creds, err := x.credentials()
	if err != nil {
		fmt.Fprintf(env.Stderr, "buildrole exec: %s\nthe command was not run\n", err)
		return ExitFailed
	}
	defer creds.Close()
	return x.observeAndReport(creds)
}

// execRun is one exec: its flags and what validate found in them.
type execRun struct {
	env                                   Env
	f                                     *flags
	report, record, credMode, endpointURL *string
	pol                                   *csm.Policy
	endpoint                              *url.URL
	up                                    wiretap.Upstream
	handover                              run.Handover
	serve                                 bool
}

// validate reads every flag and the environment before anything starts.
func (x *execRun) validate() error {
	stateGiven := false
	x.f.fs.Visit(func(fl *flag.Flag) { stateGiven = stateGiven || fl.Name == "state-file" })
	var err, eerr, uerr error
	x.pol, err = execPolicy(x.env, x.f, stateGiven)
	x.endpoint, eerr = observe.ParseEndpoint(*x.endpointURL)
	x.up, uerr = observe.Upstream(x.env.Environ())
	if err == nil {
		err = errors.Join(checkOutput("--report", *x.report), checkOutput("--record", *x.record), eerr, uerr)
	}
	if err == nil {
		x.handover, x.serve, err = runcreds.Find(credentialsMode(*x.credMode, *x.endpointURL), x.env.Getenv, x.env.Environ())
	}
	return err
}

// credentials starts serving the run's build role when the command gets
// it, else gives it nothing (the environment's own).
func (x *execRun) credentials() (*runcreds.Creds, error) {
	env := x.env
	if !x.serve {
		return &runcreds.Creds{}, nil
	}
	logf := func(format string, a ...any) { fmt.Fprintf(env.Stderr, "buildrole exec: "+format+"\n", a...) }
	var tokens stsauth.TokenSource
	if x.handover.Trust == run.TrustWebIdentity {
		tokens = ghaction.New(env.Getenv, env.Stderr, env.HTTPClient).IDToken
	}
	// AWS's STS (or AWS_ENDPOINT_URL), never --endpoint-url: the job's
	// OIDC token is a bearer token an emulator has no use for.
	o := awsOptions(env, config.Auth{Region: orDefault(env.Getenv("AWS_REGION"), env.Getenv("AWS_DEFAULT_REGION"))}, "")
	return runcreds.Serve(o, x.handover, tokens, logf)
}

// observeAndReport runs the command with its calls observed, then
// reports them; the command's exit code is exec's.
func (x *execRun) observeAndReport(creds *runcreds.Creds) int {
	env, argv := x.env, x.f.fs.Args()
	obs, err := observe.Start(x.up, x.endpoint, clientID())
	if err != nil {
		fmt.Fprintf(env.Stderr, "buildrole exec: %s\nthe command was not run\n", err)
		return ExitFailed
	}
	code, started, err := procrun.Command{
		Argv: argv, Env: creds.Environ(obs.Environ(env.Environ())), Stdin: env.Stdin, Stdout: env.Stdout, Stderr: env.Stderr,
		Signals: env.Signals,
	}.Run()
	if err != nil {
		fmt.Fprintf(env.Stderr, "buildrole exec: %s\n", err)
	}
	calls, stats, notes := obs.Close()
	if !started {
		return code
	}
	if cerr := creds.Err(); cerr != nil && len(calls) == 0 {
		// Nothing observed because nothing could be signed.
		stats.Reason = "the command got no credentials from exec: " + cerr.Error() + "; " + stats.Reason
	}
	rep := csm.Analyze(calls, stats, x.pol)
	rep.Command, rep.ExitCode = filepath.Base(argv[0]), code
	rep.Notes = append(append(rep.Notes, notes...), creds.Note())
	if err := x.publish(&rep); err != nil {
		fmt.Fprintf(env.Stderr, "buildrole exec: %s\n", err)
		if code == ExitOK {
			return ExitFailed
		}
	}
	return code
}

// publish writes the report: the log, in a job the annotations and the
// step summary, and the files asked for.
func (x *execRun) publish(rep *csm.Report) error {
	env := x.env
	inActions := ghaction.InActions(env.Getenv)
	text := strings.TrimRight(rep.Text(), "\n")
	if inActions {
		text = defuseAll(text)
	}
	fmt.Fprintln(env.Stderr, text)
	var errs []error
	if inActions {
		runner := ghaction.New(env.Getenv, env.Stderr, env.HTTPClient)
		for i, d := range rep.Denied {
			if i == maxAnnotations {
				break
			}
			runner.Errorf("buildrole exec: %s was denied (%s). Fix: %s", d.Action, strings.Join(sortedCodes(d.Codes), ", "), d.Fix)
		}
		for _, u := range rep.Ungranted {
			runner.Warningf("buildrole exec: %s succeeded though the build role's policy does not grant it: the command did not run as the build role", u.Action)
		}
		errs = append(errs, runner.AddSummary(rep.Markdown()), runner.Err())
	}
	if *x.report != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		errs = append(errs, writeOutput("report", *x.report, append(b, '\n')))
	}
	if *x.record != "" {
		errs = append(errs, writeOutput("record", *x.record, []byte(rep.Record())))
	}
	return errors.Join(errs...)
}

// credentialsMode is --credentials as given, except that auto with
// --endpoint-url (an emulator) means the environment's own: serving the
// run would send the build role's real credentials to the emulator.
func credentialsMode(mode, endpointURL string) string {
	if mode == runcreds.Auto && endpointURL != "" {
		return runcreds.Environment
	}
	return mode
}

// syncWriter serialises writes to w; a file is already safe, and stays a
// file so that the command writes to it directly.
func syncWriter(w io.Writer) io.Writer {
	if _, ok := w.(*os.File); ok || w == nil {
		return w
	}
	return &lockedWriter{w: w}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// clientID tells this run's events from any other sender's.
func clientID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "buildrole-" + hex.EncodeToString(b)
}

func sortedCodes(m map[string]int) []string {
	var out []string
	for k, v := range m {
		out = append(out, fmt.Sprintf("%s x%d", k, v))
	}
	sort.Strings(out)
	return out
}

// checkOutput refuses, before the command runs, a file exec could not write.
func checkOutput(flag, path string) error {
	if path == "" {
		return nil
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return fmt.Errorf("%s %s is a directory: name a file", flag, path)
	}
	st, err := os.Stat(filepath.Dir(path))
	if err != nil || !st.IsDir() {
		return fmt.Errorf("%s %s: directory %s does not exist: create it or name another file", flag, path, filepath.Dir(path))
	}
	return nil
}

func writeOutput(what, path string, data []byte) error {
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("write the %s: %w", what, err)
	}
	return nil
}

// execPolicy finds the policy the calls are held against: --template,
// --state-file, the file up saved in this job, or the default state file
// when it holds a run; nil when there is none. Only what the flags name is
// an error: a policy found without asking never stops the build.
func execPolicy(env Env, f *flags, stateGiven bool) (*csm.Policy, error) {
	template := f.input("template")
	if template == "" {
		for _, n := range []string{"aws-region", "template-vars", "extra-policy", "instance-profile", "scope"} {
			if f.input(n) != "" {
				return nil, fmt.Errorf("%s shapes the policy derived from --template: pass --template too, or leave it out", flagName(n))
			}
		}
	}
	switch {
	case template != "" && stateGiven:
		return nil, errors.New("--template and --state-file both name a policy: pass one of them")
	case template != "":
		input := func(name string) string {
			v := f.input(name)
			if name == "aws-region" && v == "" {
				// After the action, the build's region is in the environment.
				v = env.Getenv("AWS_REGION")
				if v == "" {
					v = env.Getenv("AWS_DEFAULT_REGION")
				}
			}
			return v
		}
		_, plan, err := previewPlan(env, input, config.GitHubFromEnv(env.Getenv))
		if err != nil {
			return nil, err
		}
		pol := &csm.Policy{Document: *plan.BuildRole.Policy, Source: "derived from template " + template, Grants: plan.Grants}
		if plan.AccountID == run.PlaceholderAccount {
			pol.AnyAccount = plan.AccountID
		}
		return pol, nil
	case stateGiven:
		return statePolicyFile(f.stateFile, true)
	case env.Getenv(policyFileVar) != "":
		path := env.Getenv(policyFileVar)
		doc, err := readPolicy(path)
		if err != nil {
			// Found, not asked for: the build runs all the same.
			fmt.Fprintf(env.Stderr, "buildrole exec: warning: %s=%s: %s; the calls are reported without a policy (pass --template to compare)\n", policyFileVar, path, err)
			return nil, nil
		}
		return &csm.Policy{Document: doc, Source: "the run's build role policy (" + policyFileVar + "=" + path + ")"}, nil
	}
	pol, err := statePolicyFile(f.stateFile, false)
	if err != nil {
		fmt.Fprintf(env.Stderr, "buildrole exec: warning: %s; the calls are reported without a policy (pass --state-file or --template to compare)\n", err)
		return nil, nil
	}
	return pol, nil
}

func readPolicy(path string) (iampolicy.Document, error) {
	b, err := safefile.Read(path, iampolicy.MaxDocumentBytes)
	if err != nil {
		return iampolicy.Document{}, err
	}
	return iampolicy.Parse(b)
}

// policyBeside names the file where up, on the command line, keeps the
// build role's policy beside its state file: run.json, run.policy.json.
// (The state holds only short values.)
func policyBeside(stateFile string) string {
	return strings.TrimSuffix(stateFile, filepath.Ext(stateFile)) + ".policy.json"
}

// statePolicyFile reads the policy up saved beside its state file. Without
// --state-file, a missing default state means no policy; a named state
// must be a run's, with its policy.
func statePolicyFile(path string, required bool) (*csm.Policy, error) {
	b, err := safefile.Read(path, maxStateFile)
	if errors.Is(err, os.ErrNotExist) && !required {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state file: %w", err)
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("state file %s is not the JSON object `buildrole up` writes: %w", path, err)
	}
	st, err := run.StateFromMap(m)
	if err != nil {
		return nil, fmt.Errorf("state file %s: %w", path, err)
	}
	doc, err := readPolicy(policyBeside(path))
	switch {
	case errors.Is(err, os.ErrNotExist) && !required:
		return nil, nil
	case errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("no policy beside state file %s (%s): the `buildrole up` that wrote it did not finish, or predates exec; pass --template instead", path, policyBeside(path))
	case err != nil:
		return nil, fmt.Errorf("%s: %w", policyBeside(path), err)
	}
	return &csm.Policy{Document: doc, Source: fmt.Sprintf("run %s (state file %s)", st.RunID, path)}, nil
}

// previewPlan is the plan up would make, computed without any call: what
// `buildrole policy` prints and what `exec --template` holds calls against.
func previewPlan(env Env, input func(string) string, gh config.GitHub) (*config.Config, *planner.Plan, error) {
	cfg, err := config.Parse(config.Source{Input: input, Flags: true, GitHub: gh, RunID: uuid.NewString(), Now: env.Now(), Getenv: env.Getenv})
	if err != nil {
		return nil, nil, fmt.Errorf("invalid input:\n%w", err)
	}
	plan, err := planBeforeCalls(cfg)
	return cfg, plan, err
}

// savePolicy keeps the build role's policy where `buildrole exec` finds it
// in a later step: in a job, a file under RUNNER_TEMP named by
// BUILDROLE_POLICY_FILE; on the command line, a file beside the state
// file. The policy is no secret. A failure costs exec its comparison, not
// the run.
func savePolicy(rio runIO, getenv func(string) string, stateFile string, p *planner.Plan) {
	var err error
	if !rio.flags() {
		dir := getenv("RUNNER_TEMP")
		if dir == "" {
			return
		}
		path := filepath.Join(dir, "buildrole-"+p.RunID+"-policy.json")
		if err = os.WriteFile(path, []byte(p.BuildRole.Policy.Indent()+"\n"), 0o644); err == nil {
			err = rio.setEnv(policyFileVar, path)
		}
	} else {
		err = os.WriteFile(policyBeside(stateFile), []byte(p.BuildRole.Policy.Indent()+"\n"), 0o644)
	}
	if err != nil {
		rio.warnf("save the build role's policy for `buildrole exec`: %s; exec will need --template", err)
	}
}
