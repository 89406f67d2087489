package iampolicy

import (
	"bytes"
	"encoding/json"
	"io"
	"strconv"
	"strings"
)

// JSONKind is the kind of a JSON value.
type JSONKind int

// Kinds of JSON values.
const (
	JSONObject JSONKind = iota
	JSONArray
	JSONString
	JSONNumber
	JSONBool
	JSONNull
)

// String names the kind as messages do ("an object").
func (k JSONKind) String() string {
	return [...]string{"an object", "an array", "a string", "a number", "a boolean", "null"}[k]
}

// JSONNode is a JSON value with the byte offset of its first character.
type JSONNode struct {
	Kind    JSONKind
	Off     int
	Str     string // string value, number literal, "true" or "false"
	Members []JSONMember
	Elems   []*JSONNode
}

// JSONMember is one key of an object, with the offset of the key.
type JSONMember struct {
	Key    string
	KeyOff int
	Val    *JSONNode
}

// Member returns the last member named key (encoding/json's choice for a
// duplicate key) or nil.
func (n *JSONNode) Member(key string) *JSONMember {
	for i := len(n.Members) - 1; i >= 0; i-- {
		if n.Members[i].Key == key {
			return &n.Members[i]
		}
	}
	return nil
}

// ParseJSON reads a JSON document into values that know the byte offset
// of their first character, so that findings can name a line and column.
// A malformed document gives encoding/json's error (a *json.SyntaxError
// carries the offset).
func ParseJSON(data []byte) (*JSONNode, error) {
	if err := CheckBounds(data); err != nil {
		return nil, err
	}
	var raw json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	p := &posReader{data: data}
	return p.value(dec)
}

type posReader struct{ data []byte }

// skipSep returns the offset of the next token at or after off.
func (p *posReader) skipSep(off int) int {
	for off < len(p.data) && strings.IndexByte(" \t\r\n,:", p.data[off]) >= 0 {
		off++
	}
	return off
}

func (p *posReader) value(dec *json.Decoder) (*JSONNode, error) {
	start := p.skipSep(int(dec.InputOffset()))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	n := &JSONNode{Off: start}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			n.Kind = JSONObject
			for dec.More() {
				keyOff := p.skipSep(int(dec.InputOffset()))
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key, _ := kt.(string)
				v, err := p.value(dec)
				if err != nil {
					return nil, err
				}
				n.Members = append(n.Members, JSONMember{Key: key, KeyOff: keyOff, Val: v})
			}
		case '[':
			n.Kind = JSONArray
			for dec.More() {
				v, err := p.value(dec)
				if err != nil {
					return nil, err
				}
				n.Elems = append(n.Elems, v)
			}
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return nil, err
		}
	case string:
		n.Kind, n.Str = JSONString, t
	case json.Number:
		n.Kind, n.Str = JSONNumber, t.String()
	case bool:
		n.Kind, n.Str = JSONBool, strconv.FormatBool(t)
	case nil:
		n.Kind = JSONNull
	default:
		return nil, io.ErrUnexpectedEOF
	}
	return n, nil
}
