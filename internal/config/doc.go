// Package config turns raw inputs (action INPUT_* or CLI flags) into the
// validated description of one run. Every input is checked here so that bad
// input fails before the first AWS call.
//
// It depends on the domain packages (naming, packertemplate, iampolicy,
// buildpolicy, policylint). It must not depend on provisioning, STS, the
// runner or the AWS SDK: no network.
package config
