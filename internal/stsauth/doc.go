// Package stsauth turns the job's GitHub OIDC token (or the default
// credential chain) into a bootstrap session, and assumes the build role once
// its trust policy has propagated.
//
// It depends on the AWS SDK only. It must not depend on other buildrole
// packages: tokens come in through a TokenSource.
package stsauth
