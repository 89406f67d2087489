// Package provision creates and deletes one run's IAM resources over narrow
// IAM interfaces: the plan (names, tags, documents) from a validated config,
// Up with an undo journal and rollback, idempotent Down, and Sweep of what
// killed runners left behind.
//
// It depends on config and the domain packages, and on the AWS SDK's IAM
// client through one-method interfaces. It must not depend on the CLI, the
// runner (ghaction) or STS.
package provision
