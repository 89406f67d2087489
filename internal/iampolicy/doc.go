// Package iampolicy is the IAM policy language: documents and their strict
// JSON form, policy JSON with positions (jsonpos within a policy's bounds,
// for findings that name a line and column), condition operators, the
// evaluator that decides a request against identity policies, a
// permissions boundary or a trust policy, and AWS partitions.
//
// It owns no opinion about what a buildrole run may do. It must not depend on
// any other buildrole package but safefile (bounds on what it reads) and
// jsonpos (JSON with positions), on Packer, or on the AWS SDK: no network.
package iampolicy
