package iampolicy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestValuesJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   Values
		want string
	}{
		{Values{"a"}, `"a"`},
		{Values{"a", "b"}, `["a","b"]`},
		{Values{}, `[]`},
		{Values{"<&>"}, `"<&>"`},
	}
	for _, tt := range tests {
		got, err := Marshal(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tt.want {
			t.Errorf("marshal %v = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestValuesUnmarshal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    Values
		wantErr bool
	}{
		{`"a"`, Values{"a"}, false},
		{`["a","b"]`, Values{"a", "b"}, false},
		{`[]`, Values{}, false},
		{`null`, nil, true},
		{`5`, nil, true},
		{`[1]`, nil, true},
		{`{"a":"b"}`, nil, true},
	}
	for _, tt := range tests {
		var got Values
		err := json.Unmarshal([]byte(tt.in), &got)
		if (err != nil) != tt.wantErr {
			t.Errorf("unmarshal %s: err = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if !tt.wantErr && !cmp.Equal(got, tt.want) {
			t.Errorf("unmarshal %s = %#v, want %#v", tt.in, got, tt.want)
		}
	}
}

func TestPrincipalJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		json string
		p    Principal
	}{
		{`"*"`, Principal{Any: true}},
		{`{"AWS":"arn:aws:iam::123456789012:root"}`, Principal{AWS: Values{"arn:aws:iam::123456789012:root"}}},
		{`{"AWS":["a","b"],"Federated":"f","Service":"ec2.amazonaws.com"}`, Principal{AWS: Values{"a", "b"}, Federated: Values{"f"}, Service: Values{"ec2.amazonaws.com"}}},
		{`{"CanonicalUser":"abc"}`, Principal{CanonicalUser: Values{"abc"}}},
	}
	for _, tt := range tests {
		var got Principal
		if err := json.Unmarshal([]byte(tt.json), &got); err != nil {
			t.Fatalf("unmarshal %s: %v", tt.json, err)
		}
		if diff := cmp.Diff(tt.p, got); diff != "" {
			t.Errorf("unmarshal %s (-want +got):\n%s", tt.json, diff)
		}
		b, err := Marshal(tt.p)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tt.json {
			t.Errorf("marshal = %s, want %s", b, tt.json)
		}
	}
}

func TestConditionNormalisesScalars(t *testing.T) {
	t.Parallel()
	var got Condition
	in := `{"Bool":{"aws:SecureTransport":true},"NumericLessThan":{"n":[1,2.50,"3"]},"StringEquals":{"k":"v"}}`
	if err := json.Unmarshal([]byte(in), &got); err != nil {
		t.Fatal(err)
	}
	want := Condition{
		"Bool":            {"aws:SecureTransport": {"true"}},
		"NumericLessThan": {"n": {"1", "2.50", "3"}},
		"StringEquals":    {"k": {"v"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestParseFixtures(t *testing.T) {
	t.Parallel()
	valid, _ := filepath.Glob("testdata/valid/*.json")
	invalid, _ := filepath.Glob("testdata/invalid/*.json")
	if len(valid) == 0 || len(invalid) == 0 {
		t.Fatal("no fixtures under testdata/valid or testdata/invalid")
	}
	for _, path := range valid {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			doc, err := Parse(data)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			again, err := Parse([]byte(doc.JSON()))
			if err != nil {
				t.Fatalf("Parse(JSON()): %v", err)
			}
			if diff := cmp.Diff(doc, again, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("round trip (-first +second):\n%s", diff)
			}
			if got, want := Size(doc.JSON()), Size(doc.Indent()); got != want {
				t.Errorf("Size(JSON) = %d, Size(Indent) = %d; want equal", got, want)
			}
		})
	}
	for _, path := range invalid {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if doc, err := Parse(data); err == nil {
				t.Errorf("Parse succeeded, want error; got %s", doc.JSON())
			}
		})
	}
}

func TestParseErrorsSayWhat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string
	}{
		{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Actions":"s3:*","Resource":"*"}]}`, `unknown field "Actions"`},
		{`{"Version":"2012-10-17","Statement":[{"Effect":"allow","Action":"s3:*","Resource":"*"}]}`, `Effect "allow"`},
		{`{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`, `missing Version`},
		{`{"Version":"2012-10-17"}`, `missing Statement`},
		{`{"Version":"2012-10-17","Statement":[{"Sid":"S1","Effect":"Allow","Resource":"*"}]}`, `statement 0 (S1): missing Action`},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%s) error = %v, want it to contain %q", tt.in, err, tt.want)
		}
	}
}

func TestParseStatements(t *testing.T) {
	t.Parallel()
	s3 := Statement{Effect: "Allow", Action: Values{"s3:GetObject"}, Resource: Values{"*"}}
	kms := Statement{Effect: "Allow", Action: Values{"kms:Decrypt"}, Resource: Values{"*"}}
	tests := []struct {
		name    string
		in      string
		want    []Statement
		wantErr bool
	}{
		{"document", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`, []Statement{s3}, false},
		{"document with one statement object", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}`, []Statement{s3}, false},
		{"statement", ` {"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}`, []Statement{s3}, false},
		{"array", `[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"},{"Effect":"Allow","Action":["kms:Decrypt"],"Resource":"*"}]`, []Statement{s3, kms}, false},
		{"empty array", `[]`, nil, true},
		{"bad statement in array", `[{"Effect":"Maybe","Action":"s3:GetObject","Resource":"*"}]`, nil, true},
		{"unknown field", `{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Extra":1}`, nil, true},
		{"document without version", `{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`, nil, true},
		{"not JSON", `Effect: Allow`, nil, true},
		{"string", `"s3:GetObject"`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseStatements([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestJSONDeterministicAndUnescaped(t *testing.T) {
	t.Parallel()
	doc := Document{Version: Version, ID: "x", Statement: []Statement{{
		Sid: "S", Effect: "Allow", Action: Values{"s3:GetObject"}, Resource: Values{"arn:aws:s3:::b/<&>"},
		Condition: Condition{
			"StringLike":   {"z": {"1"}, "a": {"2"}},
			"StringEquals": {"m": {"3", "4"}},
		},
	}}}
	want := `{"Version":"2012-10-17","Id":"x","Statement":[{"Sid":"S","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/<&>","Condition":{"StringEquals":{"m":["3","4"]},"StringLike":{"a":"2","z":"1"}}}]}`
	for range 20 {
		if got := doc.JSON(); got != want {
			t.Fatalf("JSON() =\n%s\nwant\n%s", got, want)
		}
	}
	wantIndent := "{\n  \"Version\": \"2012-10-17\",\n  \"Id\": \"x\",\n  \"Statement\": [\n    {\n      \"Sid\": \"S\","
	if got := doc.Indent(); !strings.HasPrefix(got, wantIndent) {
		t.Errorf("Indent() =\n%s\nwant prefix\n%s", got, wantIndent)
	}
}

func TestSize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want int
	}{
		{``, 0},
		{`{"a": "b"}`, 9},
		{"{\n  \"a\":\t\"b\"\r\n}", 9},
		{`"é"`, 3},
	}
	for _, tt := range tests {
		if got := Size(tt.in); got != tt.want {
			t.Errorf("Size(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}
