// Package fakeaws is an in-process fake of AWS IAM, AWS STS and the GitHub
// Actions OIDC token issuer, served over HTTP on loopback. On the same
// endpoint, EC2 refuses every call (package ec2), so a real EC2 client
// (Packer's) meets EC2's own refusal.
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
