// Package naming derives the names and tags of one run's IAM resources and
// reads them back for sweep.
//
// It must not depend on any other buildrole package or on the AWS SDK: no
// I/O.
package naming
