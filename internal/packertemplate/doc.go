// Package packertemplate reads Packer templates (HCL2 native, HCL2 JSON and
// legacy JSON) into the Amazon builder options that change what the build
// role needs. It is pure: it reads the named files and nothing else (no
// network, no process environment except through Options.Env).
//
// Values are resolved statically: variable defaults, *.auto.pkrvars.hcl
// files, PKR_VAR_* (through Options.Env) and -var (Options.Vars) in Packer's
// order, locals evaluated to a fixed point, and a set of pure functions.
// Whatever depends on data sources, build-time values (source.*, build.*,
// path.*, packer.*), impure functions (timestamp(), uuidv4(), ...) or
// variables without a value is reported with Known=false, its references in
// Refs, and a Note, so that callers can grant conservatively.
// It must not depend on other buildrole packages or on the AWS SDK.
package packertemplate
