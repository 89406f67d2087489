// Package run owns the contract of one buildrole run: what up will create
// (the Plan: names, path, tags, trust and policy documents), the State the
// post step reads back (its keys, its validation, the typed resources still
// pending), the tag keys that mark a run's resources, and the resource
// kinds. Every other package refers to these definitions instead of
// spelling a key, a tag or a kind again.
//
// It computes nothing from AWS: it must not depend on the AWS SDK, on
// net/http, or on any buildrole package but the policy language (iampolicy)
// and AWS's own facts (awsfacts).
package run
