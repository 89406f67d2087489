// Package policylint checks IAM policy documents the way a reviewer would:
// grammar IAM rejects, unknown and wildcard actions, PassRole and privilege
// escalation, condition operators and keys, sizes, trust principals. Each
// finding is "file:line:col: message [rule]".
//
// It owns the lint rules and the generated action catalogue
// (actions_gen.go, written by internal/genactions from the AWS SDK's service
// modules). It depends only on iampolicy; it must not know about Packer,
// buildrole's generated policies or account setup.
package policylint
