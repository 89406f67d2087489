package jsonpos

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Kind is the kind of a JSON value.
type Kind int

// Kinds of JSON values.
const (
	Object Kind = iota
	Array
	String
	Number
	Bool
	Null
)

// String names the kind as messages do ("an object").
func (k Kind) String() string {
	if k < Object || k > Null {
		return "Kind(" + strconv.Itoa(int(k)) + ")"
	}
	return [...]string{"an object", "an array", "a string", "a number", "a boolean", "null"}[k]
}

// Node is a JSON value with the byte offset of its first character.
type Node struct {
	Kind Kind
	Off  int
	// Str is a string's value, a number's literal, or "true" or "false".
	Str string
	// Members are an object's keys in the order written, repeated keys
	// included (see Member.Shadowed).
	Members []Member
	// Elems are an array's elements.
	Elems []*Node
}

// Member is one key of an object, with the offset of the key's opening
// quote.
type Member struct {
	Key    string
	KeyOff int
	Val    *Node
	// Shadowed is true when a later member of the same object has the
	// same key: encoding/json keeps only the last, so this one is ignored.
	Shadowed bool
}

// Limits bound what Parse reads, and so the memory and stack it takes:
// Parse refuses a document over MaxBytes bytes or with objects and arrays
// nested more than MaxDepth levels (a top-level object is one level). A
// limit that is not positive takes its default.
type Limits struct {
	MaxBytes int
	MaxDepth int
}

// Defaults of Limits.
const (
	DefaultMaxBytes = 1 << 20
	DefaultMaxDepth = 64
)

// LimitError is a document Parse refuses for its size or nesting; Off is
// where the limit is passed.
type LimitError struct {
	Off int
	Msg string
}

func (e *LimitError) Error() string { return e.Msg }

// Parse reads one JSON value (surrounding whitespace allowed). A malformed
// document gives encoding/json's error: a *json.SyntaxError carries the
// offset (encoding/json's: one past the offending byte). Keys and strings
// are decoded as encoding/json decodes them (escapes resolved, invalid
// UTF-8 replaced), so two keys are the same key exactly when encoding/json
// would store them under one map key.
func Parse(data []byte, lim Limits) (*Node, error) {
	if lim.MaxBytes <= 0 {
		lim.MaxBytes = DefaultMaxBytes
	}
	if lim.MaxDepth <= 0 {
		lim.MaxDepth = DefaultMaxDepth
	}
	if len(data) > lim.MaxBytes {
		return nil, &LimitError{Off: lim.MaxBytes, Msg: fmt.Sprintf("%d bytes; JSON is read up to %d", len(data), lim.MaxBytes)}
	}
	if !json.Valid(data) {
		// encoding/json's error, with its offset and message.
		var raw json.RawMessage
		if err := json.Unmarshal(data, &raw); err != nil {
			return nil, err
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	r := &reader{data: data, dec: dec, maxDepth: lim.MaxDepth}
	return r.value(1)
}

type reader struct {
	data     []byte
	dec      *json.Decoder
	maxDepth int
}

// next returns the offset of the next token at or after the decoder's
// position (the decoder's offset points before separators).
func (r *reader) next() int {
	off := int(r.dec.InputOffset())
	for off < len(r.data) && strings.IndexByte(" \t\r\n,:", r.data[off]) >= 0 {
		off++
	}
	return off
}

func (r *reader) value(depth int) (*Node, error) {
	off := r.next()
	tok, err := r.dec.Token()
	if err != nil {
		return nil, err
	}
	n := &Node{Off: off}
	switch t := tok.(type) {
	case json.Delim:
		if depth > r.maxDepth {
			return nil, &LimitError{Off: off, Msg: fmt.Sprintf("nested more than %d levels deep", r.maxDepth)}
		}
		if t == '{' {
			n.Kind = Object
			err = r.members(n, depth)
		} else {
			n.Kind = Array
			err = r.elems(n, depth)
		}
		if err != nil {
			return nil, err
		}
		if _, err := r.dec.Token(); err != nil { // the closing delimiter
			return nil, err
		}
	case string:
		n.Kind, n.Str = String, t
	case json.Number:
		n.Kind, n.Str = Number, t.String()
	case bool:
		n.Kind, n.Str = Bool, strconv.FormatBool(t)
	case nil:
		n.Kind = Null
	default:
		return nil, io.ErrUnexpectedEOF
	}
	return n, nil
}

func (r *reader) members(n *Node, depth int) error {
	last := map[string]int{} // key -> index of its latest member
	for r.dec.More() {
		keyOff := r.next()
		kt, err := r.dec.Token()
		if err != nil {
			return err
		}
		key, _ := kt.(string) // the document is valid: keys are strings
		v, err := r.value(depth + 1)
		if err != nil {
			return err
		}
		if i, dup := last[key]; dup {
			n.Members[i].Shadowed = true
		}
		last[key] = len(n.Members)
		n.Members = append(n.Members, Member{Key: key, KeyOff: keyOff, Val: v})
	}
	return nil
}

func (r *reader) elems(n *Node, depth int) error {
	for r.dec.More() {
		v, err := r.value(depth + 1)
		if err != nil {
			return err
		}
		n.Elems = append(n.Elems, v)
	}
	return nil
}
