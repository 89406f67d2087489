package jsonpos

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// FuzzParse: Parse accepts exactly what encoding/json accepts (within the
// limits), reads the same values, a repeated key included (the last
// counts), and every offset points at its value's first character.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"a": 1, "a": {"b": [true, null, "x"], "b": 2}}`,
		`[{"K": 1, "k": 2, "\u006b": 3}]`,
		`{"Statement": [{"Effect": "Allow"}], "Statement": {}}`,
		"\"\xff\"", `{"a":1,}`, `1e400`, `{"\ud800": 1, "\ufffd": 2}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := Parse(data, Limits{MaxDepth: 16})
		var le *LimitError
		if errors.As(err, &le) {
			return
		}
		std, stdErr := decodeStd(data)
		if stdErr == nil && !json.Valid(data) {
			return // the decoder stops after one value; Parse reads them all
		}
		if (err == nil) != (stdErr == nil) {
			t.Fatalf("Parse error %v, encoding/json error %v", err, stdErr)
		}
		if err != nil {
			return
		}
		if got := plain(n); !reflect.DeepEqual(got, std) {
			t.Fatalf("read %#v, encoding/json reads %#v", got, std)
		}
		if got := effective(n); !reflect.DeepEqual(got, std) {
			t.Fatalf("through Effective %#v, encoding/json reads %#v", got, std)
		}
		checkOffsets(t, data, n)
		for _, d := range n.Duplicates() {
			if len(d.Offs) < 2 || d.Object.Member(d.Key).KeyOff != d.Offs[len(d.Offs)-1] {
				t.Fatalf("duplicate %+v: the last occurrence is not the one read", d)
			}
		}
	})
}

func checkOffsets(t *testing.T, data []byte, n *Node) {
	first := map[Kind]string{Object: "{", Array: "[", String: `"`, Null: "n", Bool: "tf", Number: "-0123456789"}[n.Kind]
	if n.Off < 0 || n.Off >= len(data) || !containsByte(first, data[n.Off]) {
		t.Fatalf("%s at %d does not start there in %q", n.Kind, n.Off, data)
	}
	for _, m := range n.Members {
		if data[m.KeyOff] != '"' {
			t.Fatalf("key %q at %d is not a string there", m.Key, m.KeyOff)
		}
		checkOffsets(t, data, m.Val)
	}
	for _, e := range n.Elems {
		checkOffsets(t, data, e)
	}
}

func containsByte(s string, b byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == b {
			return true
		}
	}
	return false
}
