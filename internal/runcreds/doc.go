// Package runcreds gives a command (exec's) the credentials of the run's
// build role: it finds the run up handed over in the job's environment,
// and serves sessions of the build role through credserve, the first once
// IAM has propagated the trust and the instance profile, then renewals.
package runcreds
