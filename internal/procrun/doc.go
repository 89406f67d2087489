// Package procrun runs the command `buildrole exec` wraps, in the
// foreground: it starts the command with the environment it is given and
// the caller's stdin, stdout and stderr, passes on the signals the caller
// gets (SIGINT, SIGTERM and the others a shell job gets), and returns the
// command's exit code as a shell reports it (128 plus the signal's number
// when one killed it; 126 not runnable, 127 not found).
//
// It owns the signal subscription and the process; what the environment
// holds (client-side monitoring) is its caller's. It imports no buildrole
// package: not the CLI, not csm, not the policy packages, not the AWS SDK.
package procrun
