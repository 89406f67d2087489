package jsonpos

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// plain turns a node into what encoding/json decodes the same text into
// (numbers as json.Number), reading each object as encoding/json does.
func plain(n *Node) any {
	switch n.Kind {
	case Object:
		out := map[string]any{}
		for _, m := range n.Members {
			out[m.Key] = plain(m.Val) // later members overwrite, as in encoding/json
		}
		return out
	case Array:
		out := []any{}
		for _, e := range n.Elems {
			out = append(out, plain(e))
		}
		return out
	case String:
		return n.Str
	case Number:
		return json.Number(n.Str)
	case Bool:
		return n.Str == "true"
	}
	return nil
}

// effective is plain read through Effective and Member: the same result
// without relying on overwriting.
func effective(n *Node) any {
	if n.Kind == Object {
		out := map[string]any{}
		for _, m := range n.Effective() {
			if n.Member(m.Key) != &n.Members[indexOf(n, m)] {
				return "Member and Effective disagree on " + m.Key
			}
			if _, dup := out[m.Key]; dup {
				return "Effective repeats " + m.Key
			}
			out[m.Key] = effective(m.Val)
		}
		return out
	}
	if n.Kind == Array {
		out := []any{}
		for _, e := range n.Elems {
			out = append(out, effective(e))
		}
		return out
	}
	return plain(n)
}

func indexOf(n *Node, m Member) int {
	for i := range n.Members {
		if n.Members[i].KeyOff == m.KeyOff {
			return i
		}
	}
	return -1
}

func decodeStd(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

func TestOffsets(t *testing.T) {
	data := []byte("{\n  \"a\" : [1, true, null],\n  \"b\":{\"c\":\"x\\u00e9\"} }")
	n, err := Parse(data, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if n.Kind != Object || n.Off != 0 || len(n.Members) != 2 {
		t.Fatalf("root = %+v", n)
	}
	a := n.Member("a")
	if a.KeyOff != 4 || data[a.KeyOff] != '"' || a.Val.Off != 10 || a.Val.Kind != Array {
		t.Errorf("a = %+v (value %+v)", a, a.Val)
	}
	for i, want := range []struct {
		kind Kind
		str  string
		off  int
	}{{Number, "1", 11}, {Bool, "true", 14}, {Null, "", 20}} {
		e := a.Val.Elems[i]
		if e.Kind != want.kind || e.Str != want.str || e.Off != want.off {
			t.Errorf("element %d = %+v, want %+v", i, e, want)
		}
	}
	c := n.Get("b").Member("c")
	if c.Val.Str != "xé" || data[c.Val.Off] != '"' {
		t.Errorf("c = %+v", c.Val)
	}
	if n.Get("zz") != nil || n.Get("a").Get("x") != nil || (*Node)(nil).Member("a") != nil {
		t.Error("lookups of what is not there return something")
	}
}

func TestDuplicateKeysLastWins(t *testing.T) {
	data := []byte(`{"k": 1, "o": {"x": 1, "x": 2, "y": 0, "x": 3}, "k": 2, "\u006b": 3, "K": 4}`)
	n, err := Parse(data, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got := n.Get("k").Str; got != "3" {
		t.Errorf("k = %s, want the last (3)", got)
	}
	if got := n.Get("o").Get("x").Str; got != "3" {
		t.Errorf("o.x = %s, want 3", got)
	}
	std, _ := decodeStd(data)
	if !reflect.DeepEqual(plain(n), std) || !reflect.DeepEqual(effective(n), std) {
		t.Errorf("read %v / %v, encoding/json reads %v", plain(n), effective(n), std)
	}
	var keys []string
	for _, m := range n.Effective() {
		keys = append(keys, m.Key)
	}
	if strings.Join(keys, ",") != "o,k,K" {
		t.Errorf("Effective keys = %v, want o,k,K (each once, where last written)", keys)
	}
	dups := n.Duplicates()
	if len(dups) != 2 {
		t.Fatalf("Duplicates = %+v", dups)
	}
	at := func(s string, nth int) int {
		i := -1
		for ; nth > 0; nth-- {
			i += 1 + strings.Index(string(data[i+1:]), s)
		}
		return i
	}
	if d := dups[0]; d.Key != "k" || d.Object != n || !reflect.DeepEqual(d.Offs, []int{at(`"k"`, 1), at(`"k"`, 2), at(`"\u006b"`, 1)}) {
		t.Errorf("first duplicate = %+v", d)
	}
	if d := dups[1]; d.Key != "x" || d.Object != n.Get("o") || !reflect.DeepEqual(d.Offs, []int{at(`"x"`, 1), at(`"x"`, 2), at(`"x"`, 3)}) {
		t.Errorf("second duplicate = %+v", d)
	}
}

func TestFieldPrefersExactThenCase(t *testing.T) {
	n, err := Parse([]byte(`{"Builders": 1, "region": 2, "REGION": 3, "Name": 4, "NAME": 5}`), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"builders": "1", "region": "2", "name": "5", "Name": "4"} {
		if m := n.Field(name); m == nil || m.Val.Str != want {
			t.Errorf("Field(%q) = %+v, want value %s", name, m, want)
		}
	}
	if n.Field("nothing") != nil || n.Member("builders") != nil {
		t.Error("Member matches by case, or Field finds what is not there")
	}
}

func TestSyntaxErrorsAreEncodingJSONs(t *testing.T) {
	for _, in := range []string{``, ` `, `{`, `{"a":1,}`, `{"a" 1}`, `[1,]`, `{} {}`, `{}x`, `"\x"`, `{1: 2}`, `nul`} {
		_, err := Parse([]byte(in), Limits{})
		var raw json.RawMessage
		want := json.Unmarshal([]byte(in), &raw)
		var se, wse *json.SyntaxError
		if !errors.As(err, &se) || !errors.As(want, &wse) || se.Offset != wse.Offset || se.Error() != wse.Error() {
			t.Errorf("Parse(%q) = %v, encoding/json says %v", in, err, want)
		}
	}
	if n, err := Parse([]byte(" \n[ ]\t\n"), Limits{}); err != nil || n.Kind != Array || n.Off != 2 {
		t.Errorf("surrounding whitespace: %+v, %v", n, err)
	}
}

func TestLimits(t *testing.T) {
	deep := strings.Repeat("[", 5) + strings.Repeat("]", 5)
	if _, err := Parse([]byte(deep), Limits{MaxDepth: 5}); err != nil {
		t.Errorf("5 levels under a limit of 5: %v", err)
	}
	_, err := Parse([]byte(`{"a":`+deep+`}`), Limits{MaxDepth: 5})
	var le *LimitError
	if !errors.As(err, &le) || le.Off != 9 || !strings.Contains(le.Msg, "5 levels") {
		t.Errorf("6 levels under a limit of 5: %v", err)
	}
	if _, err := Parse([]byte(`"12345"`), Limits{MaxBytes: 6}); !errors.As(err, &le) {
		t.Errorf("7 bytes under a limit of 6: %v", err)
	}
	// The defaults apply when no limit is given: no stack exhaustion.
	huge := strings.Repeat("[", DefaultMaxDepth+1) + strings.Repeat("]", DefaultMaxDepth+1)
	if _, err := Parse([]byte(huge), Limits{}); !errors.As(err, &le) {
		t.Errorf("past the default depth: %v", err)
	}
}

func TestKindString(t *testing.T) {
	if Object.String() != "an object" || Null.String() != "null" || Kind(9).String() != "Kind(9)" {
		t.Error(Object, Null, Kind(9))
	}
}

func TestTruncated(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]bool{
		``: true, `  `: true, `{`: true, `{"a":`: true, `[1, 2`: true, `"abc`: true,
		`{}`: false, `{} x`: false, `{"a" 1}`: false, `[1,]`: false,
	} {
		if got := Truncated([]byte(in)); got != want {
			t.Errorf("Truncated(%q) = %v, want %v", in, got, want)
		}
	}
}
