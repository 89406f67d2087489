// Package credserve hands a role's credentials to a child process and
// keeps them fresh for as long as it runs. It speaks the container
// credentials protocol, which the AWS SDKs for Go v1 and v2 both read
// from a loopback http URL (AWS_CONTAINER_CREDENTIALS_FULL_URI, with
// AWS_CONTAINER_AUTHORIZATION_TOKEN in the Authorization header). Both
// SDKs fetch again when a session is within five minutes of its
// Expiration, so the server renews well before that and a client never
// holds credentials that lapse mid-call.
package credserve
