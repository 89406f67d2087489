// Package jsonpos reads JSON into values that know where they are written
// (the byte offset of each value and object key), so that a policy finding
// or a template note can name a line and column. It owns how buildrole
// reads an object's keys the way Go's decoders do: a key written twice
// counts once, with the value of its last occurrence (encoding/json into a
// map, and so Packer and buildrole's own policy reader), and the repeated
// keys are reported with their positions so a caller can warn; a lookup
// that prefers the exact key and falls back to one differing only in case
// is what a struct decoder such as mapstructure (Packer's) does.
//
// It reads within limits given by the caller (size and nesting) and is
// pure. It must not depend on any other buildrole package or on the AWS
// SDK.
package jsonpos
