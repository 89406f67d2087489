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
// A legacy JSON template is read as Packer reads it (encoding/json into
// maps): a key written twice in one object counts once, with its last
// value, and each ignored occurrence is a Note (Packer refuses such a
// template).
//
// It must not depend on other buildrole packages but safefile (bounds on
// what it reads) and jsonpos (JSON with positions), or on the AWS SDK.
package packertemplate
