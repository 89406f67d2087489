// Package naming derives the names and tags of one run's IAM resources:
// names that fit IAM's limits and keep the run's unique part, the
// buildrole: tags (whose keys run defines) merged with the user's, and
// IAM's tag rules.
//
// It depends only on run and awsfacts, never on the AWS SDK: no I/O.
package naming
