// Package cli is the buildrole command line: subcommands, each with its own
// flags, and exit codes. Main runs in-process with an injected environment,
// so tests drive the real CLI. Inside a job step, up and down read the
// runner's INPUT_* and STATE_* instead of flags.
//
// It sits on top: it may import every internal package; none imports it
// but cmd/buildrole.
package cli
