// Package stsauth turns the job's GitHub OIDC token (or the default
// credential chain) into a bootstrap session, and assumes the build role once
// its trust policy has propagated: Wait polls IAM's eventually consistent
// changes on a schedule shaped by when they usually show, within a budget
// of STS calls.
//
// It depends on the AWS SDK only. It must not depend on other buildrole
// packages: tokens come in through a TokenSource.
package stsauth
