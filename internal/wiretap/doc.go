// Package wiretap is `buildrole exec`'s loopback HTTP(S) proxy: it sees the
// AWS calls a command makes whatever client makes them (AWS SDK for Go v1
// or v2, the AWS CLI), by intercepting TLS to AWS API hosts with a
// certificate authority made for the run, and records each call from its
// request line, signing scope and response: service, API, region, status,
// error code and attempt. Every other host is tunnelled byte for byte.
//
// Requests are forwarded as the client wrote them (headers, Host and body),
// so their SigV4 signatures stay valid; with an endpoint URL they go there
// instead of AWS, keeping their Host. Upstream, the user's HTTPS_PROXY,
// HTTP_PROXY and NO_PROXY are followed and TLS is verified against the
// system roots plus the user's AWS_CA_BUNDLE.
//
// Only the command is served: the proxy's URL carries a token made for the
// run, and a request without it is refused (407). The run's CA is
// name-constrained to AWS's domains and the endpoint's host, and a leaf is
// minted only for the host the client asked to CONNECT to.
//
// Never kept or written: the Authorization header, tokens, request bodies,
// query strings. Memory is bounded whatever the command sends.
//
// It imports only awsfacts (regions, S3's operation names).
package wiretap
