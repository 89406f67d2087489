package iampolicy

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: every policy reader returns a value or an error for any input,
// never panics; a document Parse accepts marshals to JSON Parse accepts
// again, with the same meaning.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"testdata/valid", "testdata/invalid"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
		for _, file := range files {
			if b, err := os.ReadFile(file); err == nil {
				f.Add(b)
			}
		}
	}
	f.Add([]byte(`[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = ParseStatements(data)
		_, _ = ParseJSON(data)
		d, err := Parse(data)
		if err != nil {
			return
		}
		again, err := Parse([]byte(d.JSON()))
		if err != nil {
			t.Fatalf("Parse accepted %q but not its own JSON %q: %v", data, d.JSON(), err)
		}
		if again.JSON() != d.JSON() {
			t.Fatalf("JSON changed on the round trip:\n%s\n%s", d.JSON(), again.JSON())
		}
	})
}
