package csm

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzDatagram: whatever arrives on the port, a datagram is one event or
// nothing, never a panic; what is kept renders, and no kept message holds
// an access key id.
func FuzzDatagram(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.jsonl")
	for _, file := range files {
		b, _ := os.ReadFile(file)
		for _, line := range bytes.Split(b, []byte("\n")) {
			f.Add(line)
		}
	}
	f.Add([]byte(`{"Version":1,"Type":"ApiCallAttempt","Service":"S3","Api":"HeadObject","AwsException":"AccessDenied","AwsExceptionMessage":"AccessDenied: key AKIAIOSFODNN7EXAMPLE"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := NewCollector("")
		accepted := c.Add(data)
		calls := c.Calls()
		if accepted != (len(calls) == 1) || !accepted && c.Stats().Ignored != 1 {
			t.Fatalf("accepted %v, calls %+v, stats %+v", accepted, calls, c.Stats())
		}
		for _, call := range calls {
			if call.Action != actionName(call.Service, call.API) || !strings.Contains(call.Action, ":") {
				t.Fatalf("action %q of %q %q", call.Action, call.Service, call.API)
			}
			for code := range call.Errors {
				if m := call.Message(code); accessKeyID.MatchString(m) {
					t.Fatalf("message keeps a key: %q", m)
				}
			}
		}
		r := Analyze(calls, c.Stats(), nil)
		_ = r.Text() + r.Markdown() + r.Record()
		if _, err := json.Marshal(r); err != nil {
			t.Fatal(err)
		}
	})
}
