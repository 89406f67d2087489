package packertemplate

import (
	"path/filepath"
	"strings"
	"testing"
)

// A legacy JSON template is decoded by Packer with encoding/json into maps:
// of a key written twice in one object only the last counts. buildrole
// must derive the policy from that one, and say that the key is repeated
// (Packer 1.6.6 and later refuse such a template: "template has duplicate
// field").
func TestLegacyDuplicateKeys(t *testing.T) {
	tests := []struct {
		name    string
		content string
		typ     string            // the one source's type
		srcName string            // its name
		str     map[string]string // known options
		absent  []string
		dupKey  string // the note names this key
		dupLine int    // at the ignored occurrence
		noNote  string // no note contains this
	}{
		{
			name: "builders twice, another region",
			content: `{
  "builders": [{"type": "amazon-ebs", "name": "first", "region": "us-east-1"}],
  "builders": [{"type": "amazon-ebs", "name": "second", "region": "us-west-2"}]
}
`,
			typ: "amazon-ebs", srcName: "second", str: map[string]string{"region": "us-west-2"},
			dupKey: "builders", dupLine: 2,
		},
		{
			name: "builders twice, another builder type",
			content: `{
  "builders": [{"type": "amazon-ebs", "region": "us-east-1", "encrypt_boot": true}],
  "builders": [{"type": "amazon-chroot", "region": "eu-west-1"}]
}
`,
			typ: "amazon-chroot", srcName: "amazon-chroot", str: map[string]string{"region": "eu-west-1"}, absent: []string{"encrypt_boot"},
			dupKey: "builders", dupLine: 2,
		},
		{
			name: "type twice in a builder",
			content: `{
  "builders": [{
    "type": "docker",
    "region": "us-east-1",
    "type": "amazon-ebs"
  }]
}
`,
			typ: "amazon-ebs", srcName: "amazon-ebs", str: map[string]string{"region": "us-east-1"},
			dupKey: "type", dupLine: 3, noNote: "not an Amazon builder",
		},
		{
			name: "option twice in a builder",
			content: `{
  "builders": [{
    "type": "amazon-ebs",
    "region": "{{user ` + "`nowhere`" + `}}",
    "region": "ap-south-1"
  }]
}
`,
			typ: "amazon-ebs", srcName: "amazon-ebs", str: map[string]string{"region": "ap-south-1"},
			dupKey: "region", dupLine: 4, noNote: "undeclared var.nowhere",
		},
		{
			name: "variables twice and a variable twice",
			content: `{
  "variables": {"region": "us-east-1"},
  "variables": {"region": "eu-central-1", "region": "sa-east-1"},
  "builders": [{"type": "amazon-ebs", "region": "{{user ` + "`region`" + `}}"}]
}
`,
			typ: "amazon-ebs", srcName: "amazon-ebs", str: map[string]string{"region": "sa-east-1"},
			dupKey: "variables", dupLine: 2,
		},
		{
			name: "a variable twice, a number last",
			content: `{
  "variables": {"volume": "{{env ` + "`NOWHERE`" + `}}", "volume": 20},
  "builders": [{"type": "amazon-ebs", "region": "us-east-1", "launch_block_device_mappings": [{"volume_size": "{{user ` + "`volume`" + `}}"}]}]
}
`,
			typ: "amazon-ebs", srcName: "amazon-ebs", str: map[string]string{"region": "us-east-1"},
			dupKey: "volume", dupLine: 2, noNote: "volume_size depends",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{"t.json": tt.content})
			path := filepath.Join(dir, "t.json")
			tpl, err := Load(path, Options{})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if len(tpl.Sources) != 1 {
				t.Fatalf("got %d sources, want 1: %+v", len(tpl.Sources), tpl.Sources)
			}
			s := tpl.Sources[0]
			if s.Type != tt.typ || s.Name != tt.srcName {
				t.Errorf("source %s %q, want %s %q (the last occurrence)", s.Type, s.Name, tt.typ, tt.srcName)
			}
			for k, want := range tt.str {
				if got, ok := s.Str(k); !ok || got != want {
					t.Errorf("%s = %q (known %v), want %q", k, got, ok, want)
				}
			}
			for _, k := range tt.absent {
				if s.Has(k) {
					t.Errorf("%s is set; it is only in the ignored occurrence", k)
				}
			}
			n := noteMatching(tpl.Notes, `duplicate key "`+tt.dupKey+`"`)
			if n == nil {
				t.Fatalf("no note about the duplicate key %q: %v", tt.dupKey, tpl.Notes)
			}
			if n.Pos.File != path || n.Pos.Line != tt.dupLine {
				t.Errorf("note at %v, want line %d", n.Pos, tt.dupLine)
			}
			if tt.noNote != "" {
				if n := noteMatching(tpl.Notes, tt.noNote); n != nil {
					t.Errorf("note about the ignored occurrence: %v", n)
				}
			}
			if tt.name == "a variable twice, a number last" {
				m := s.Options["launch_block_device_mappings"]
				if len(m.Blocks) != 1 || m.Blocks[0]["volume_size"].String != "20" || !m.Known {
					t.Errorf("launch_block_device_mappings = %+v, want volume_size 20 from the last variable", m)
				}
			}
		})
	}
}

// Packer decodes the legacy template's sections and a builder's options
// with mapstructure, which prefers the exact key and falls back to one that
// differs only in case ("Builders", "Instance_Type"); the plugin's option
// names are lower case. Keys inside a map option (tags) stay as written.
func TestLegacyKeysMatchAsPackerDoes(t *testing.T) {
	dir := writeFiles(t, map[string]string{"t.json": `{
  "Variables": {"Region": "eu-north-1"},
  "Builders": [{
    "type": "amazon-ebs",
    "Region": "{{user ` + "`Region`" + `}}",
    "Instance_Type": "t3.micro",
    "Launch_Block_Device_Mappings": [{"Device_Name": "/dev/xvda", "Volume_Size": 9}],
    "Run_Tags": {"Team": "a"}
  }]
}
`})
	tpl, err := Load(filepath.Join(dir, "t.json"), Options{})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(tpl.Sources) != 1 {
		t.Fatalf("got %d sources, want 1", len(tpl.Sources))
	}
	s := tpl.Sources[0]
	for k, want := range map[string]string{"region": "eu-north-1", "instance_type": "t3.micro"} {
		if got, ok := s.Str(k); !ok || got != want {
			t.Errorf("%s = %q (known %v), want %q", k, got, ok, want)
		}
	}
	m := s.Options["launch_block_device_mappings"]
	if len(m.Blocks) != 1 || m.Blocks[0]["volume_size"].String != "9" || m.Blocks[0]["device_name"].String != "/dev/xvda" {
		t.Errorf("launch_block_device_mappings = %+v", m)
	}
	if tags := s.Options["run_tags"].Map; tags["Team"] != "a" {
		t.Errorf("run_tags = %v, want the key as written", tags)
	}
	for _, n := range tpl.Notes {
		if strings.Contains(n.Message, "duplicate") {
			t.Errorf("unexpected note: %v", n)
		}
	}
}

// The exact key wins over a case variant, which Packer's plugin then
// refuses as an unknown configuration key; buildrole reads the exact one
// and says so.
func TestLegacyCaseVariantBesideExactKey(t *testing.T) {
	dir := writeFiles(t, map[string]string{"t.json": `{
  "builders": [{
    "type": "amazon-ebs",
    "region": "us-east-1",
    "Region": "us-west-2"
  }]
}
`})
	tpl, err := Load(filepath.Join(dir, "t.json"), Options{})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	s := tpl.Sources[0]
	if got, _ := s.Str("region"); got != "us-east-1" {
		t.Errorf("region = %q, want the exact key's us-east-1", got)
	}
	n := noteMatching(tpl.Notes, `"Region"`)
	if n == nil || n.Pos.Line != 5 {
		t.Errorf("no note at line 5 about the case variant: %v", tpl.Notes)
	}
}

// optionName agrees with strings.EqualFold, mapstructure's match, on the
// lower-case ASCII names of the plugins' options.
func TestOptionName(t *testing.T) {
	for key, want := range map[string]string{
		"ami_name":        "ami_name",
		"Instance_Type":   "instance_type",
		"ſubnet_ID":       "subnet_id",  // U+017F LATIN SMALL LETTER LONG S folds to s
		"\u212Ams_key_id": "kms_key_id", // U+212A KELVIN SIGN folds to k
		"régión":          "régión",
	} {
		got := optionName(key)
		if got != want {
			t.Errorf("optionName(%q) = %q, want %q", key, got, want)
		}
		if !strings.EqualFold(got, key) {
			t.Errorf("optionName(%q) = %q, which strings.EqualFold does not match", key, got)
		}
	}
}
