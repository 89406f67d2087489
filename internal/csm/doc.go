// Package csm sees the AWS calls a command makes, through the client-side
// monitoring (CSM) events of the AWS SDK for Go v1 (and other SDKs of its
// generation): JSON datagrams over UDP, one ApiCallAttempt per attempt and
// one ApiCall per call, switched on with AWS_CSM_ENABLED, AWS_CSM_PORT,
// AWS_CSM_HOST and AWS_CSM_CLIENT_ID.
//
// The same aggregation takes Observations from the wire (package wiretap's
// records, which cli hands over), and Merge joins the two observers' calls,
// each call once.
//
// It owns the loopback listener, the decoding of datagrams (never the
// access key id they carry, never kept or printed), the aggregation into
// calls with counts and errors, and the comparison with a build role's
// policy: what was denied and the grant that fixes it, what succeeded
// without a grant, what was granted and never used. It renders the result
// as text, Markdown, JSON and a testdata/templates/*.calls record.
//
// Its fixes name the catalogue row that grants a refused action, read as
// data from buildpolicy.Rows.
//
// It imports the policy model (iampolicy), the Packer catalogue
// (buildpolicy) and awsfacts, read-only; never the CLI, configuration, the
// AWS SDK, or procrun: running the command is procrun's, and cli wires the
// two.
package csm
