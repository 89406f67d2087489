// Package fakeaws is an in-process fake of AWS IAM, AWS STS, EC2 and the
// GitHub Actions OIDC token issuer, served over HTTP on loopback. EC2
// (package ec2, reached through Server.EC2) is stateful and answers a
// real Packer amazon-ebs build; its calls are authorized like IAM's: a
// session by its role's policies, an AddUser key by its user's policy,
// any other signer as the administrator.
//
// The real AWS SDK for Go v2 talks to it through BaseEndpoint, so the wire
// format (AWS Query requests, XML responses and errors) is what AWS sends.
// Tests steer it with latency, fault injection and IAM propagation delay, and
// inspect it with the request log and Snapshot.
//
// It serves the tests, the benchmarks and `buildrole demo`. It must not
// depend on other buildrole packages but its own (authz, ec2): it matches
// policies with its own code, so that it checks buildrole's evaluator
// instead of repeating it.
package fakeaws
