// Package ghaction is the GitHub Actions runner I/O: inputs, outputs,
// environment, state, masks, groups, the step summary and the OIDC token.
// It builds on go-githubactions but writes file commands itself, with a
// random delimiter, and returns errors instead of panicking.
//
// It must not depend on other buildrole packages or on the AWS SDK.
package ghaction
