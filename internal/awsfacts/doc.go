// Package awsfacts holds what AWS itself defines and several buildrole
// packages need: partitions and their regions, the error codes that mean a
// permission is missing, and the S3 operations authorized by an action of
// another name. Each fact is defined here once.
//
// It must not depend on any other buildrole package or on the AWS SDK.
package awsfacts
