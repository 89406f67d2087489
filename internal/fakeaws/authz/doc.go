// Package authz is fakeaws's own reading and evaluation of IAM policies:
// what IAM refuses as malformed, and whether a request is allowed. It
// deliberately shares no code with iampolicy, the product's evaluator, so
// that each checks the other; it must not depend on any buildrole package.
package authz
