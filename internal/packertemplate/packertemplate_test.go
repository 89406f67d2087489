package packertemplate

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const fixtures = "../../testdata/templates"

func fixture(name string) string { return filepath.Join(fixtures, name) }

// want describes the expected options of one source.
type want struct {
	typ, name, build string
	line, col        int
	str              map[string]string   // known scalar options
	list             map[string][]string // known list options
	maps             map[string]map[string]string
	unknown          []string            // options set but Known=false
	absent           []string            // options not set
	refs             map[string][]string // Refs of options
	pos              map[string]Pos      // positions of options (File filled in)
	check            func(t *testing.T, s Source)
}

func checkSource(t *testing.T, s Source, w want, file string) {
	t.Helper()
	if s.Type != w.typ || s.Name != w.name || s.Build != w.build {
		t.Errorf("source = %s %q build %q, want %s %q build %q", s.Type, s.Name, s.Build, w.typ, w.name, w.build)
	}
	if w.line != 0 && (s.Pos.Line != w.line || s.Pos.Col != w.col || s.Pos.File != file) {
		t.Errorf("%s: Pos = %v, want %s:%d:%d", s.Name, s.Pos, file, w.line, w.col)
	}
	for k, v := range w.str {
		if got, ok := s.Str(k); !ok || got != v {
			t.Errorf("%s: Str(%q) = %q, %v; want %q", s.Name, k, got, ok, v)
		}
	}
	for k, v := range w.list {
		got, ok := s.StrList(k)
		if !ok {
			t.Errorf("%s: StrList(%q) not known", s.Name, k)
		} else if diff := cmp.Diff(v, got); diff != "" {
			t.Errorf("%s: StrList(%q) (-want +got):\n%s", s.Name, k, diff)
		}
	}
	for k, v := range w.maps {
		o, ok := s.Options[k]
		if !ok || !o.Known {
			t.Errorf("%s: %q not set or not known: %+v", s.Name, k, o)
			continue
		}
		if diff := cmp.Diff(v, o.Map); diff != "" {
			t.Errorf("%s: %q map (-want +got):\n%s", s.Name, k, diff)
		}
	}
	for _, k := range w.unknown {
		o, ok := s.Options[k]
		if !ok {
			t.Errorf("%s: %q not set", s.Name, k)
		} else if o.Known || o.String != "" || o.List != nil || o.Map != nil {
			t.Errorf("%s: %q = %+v, want unknown", s.Name, k, o)
		}
		if !s.Has(k) {
			t.Errorf("%s: Has(%q) = false for an unknown option", s.Name, k)
		}
	}
	for _, k := range w.absent {
		if s.Has(k) {
			t.Errorf("%s: %q set, want absent", s.Name, k)
		}
	}
	for k, v := range w.refs {
		if diff := cmp.Diff(v, s.Options[k].Refs); diff != "" {
			t.Errorf("%s: %q Refs (-want +got):\n%s", s.Name, k, diff)
		}
	}
	for k, p := range w.pos {
		if p.File == "" {
			p.File = file
		}
		if got := s.Options[k].Pos; got != p {
			t.Errorf("%s: %q Pos = %v, want %v", s.Name, k, got, p)
		}
	}
	if w.check != nil {
		w.check(t, s)
	}
}

func noteMatching(notes []Note, substr string) *Note {
	for i := range notes {
		if strings.Contains(notes[i].Message, substr) {
			return &notes[i]
		}
	}
	return nil
}

func TestFixtures(t *testing.T) {
	tests := []struct {
		file    string
		opts    Options
		sources []want
		notes   []string // substrings each expected in some note
		noNotes bool
		check   func(t *testing.T, tpl *Template)
	}{
		{
			file: "basic-ebs.pkr.hcl",
			sources: []want{{
				typ: "amazon-ebs", name: "ubuntu", line: 25, col: 1,
				str:     map[string]string{"region": "us-east-1", "instance_type": "t3.micro", "ssh_username": "ubuntu"},
				maps:    map[string]map[string]string{"tags": {"Name": "basic-ubuntu", "Builder": "packer"}},
				unknown: []string{"ami_name"},
				absent:  []string{"source_ami", "ami_regions", "iam_instance_profile"},
				refs: map[string][]string{
					"region":   {"var.region"},
					"ami_name": {"local.ami_name", "local.timestamp"},
				},
				pos: map[string]Pos{"region": {Line: 26, Col: 3}, "source_ami_filter": {Line: 31, Col: 3}},
				check: func(t *testing.T, s Source) {
					f := s.Options["source_ami_filter"]
					if !f.Known || len(f.Blocks) != 1 {
						t.Fatalf("source_ami_filter = %+v", f)
					}
					b := f.Blocks[0]
					if diff := cmp.Diff([]string{"099720109477"}, b["owners"].List); diff != "" {
						t.Errorf("owners: %s", diff)
					}
					if b["most_recent"].String != "true" {
						t.Errorf("most_recent = %+v", b["most_recent"])
					}
					if b["filters"].Map["virtualization-type"] != "hvm" {
						t.Errorf("filters = %+v", b["filters"].Map)
					}
				},
			}},
			notes: []string{"ami_name depends on timestamp()"},
		},
		{
			file: "encrypted-copy.pkr.hcl",
			sources: []want{{
				typ: "amazon-ebs", name: "encrypted", line: 11, col: 1,
				str: map[string]string{
					"region":     "us-east-1",
					"kms_key_id": "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555",
				},
				list: map[string][]string{
					"ami_regions":    {"us-west-2", "eu-west-1"},
					"ami_users":      {"210987654321", "345678901234"},
					"snapshot_users": {"210987654321"},
				},
				maps: map[string]map[string]string{"region_kms_key_ids": {
					"us-west-2": "arn:aws:kms:us-west-2:123456789012:key/66666666-7777-8888-9999-000000000000",
					"eu-west-1": "alias/packer-copy",
				}},
				refs: map[string][]string{"ami_regions": {"var.copy_regions"}, "ami_users": nil},
				check: func(t *testing.T, s Source) {
					for _, k := range []string{"encrypt_boot", "force_deregister", "force_delete_snapshot"} {
						if b, ok := s.Bool(k); !ok || !b {
							t.Errorf("Bool(%q) = %v, %v", k, b, ok)
						}
					}
					m := s.Options["launch_block_device_mappings"]
					if len(m.Blocks) != 1 || m.Blocks[0]["kms_key_id"].String != "alias/packer-launch" || m.Blocks[0]["volume_size"].String != "20" {
						t.Errorf("launch_block_device_mappings = %+v", m)
					}
				},
			}},
			noNotes: true,
		},
		{
			file: "spot-ssm.pkr.hcl",
			sources: []want{{
				typ: "amazon-ebs", name: "spot",
				str: map[string]string{"spot_price": "auto", "ssh_interface": "session_manager", "region": "eu-central-1"},
				list: map[string][]string{
					"spot_instance_types": {"t3.medium", "t3a.medium", "m5.large"},
				},
				maps: map[string]map[string]string{
					"run_tags":        {},
					"run_volume_tags": {},
					"spot_tags":       {"Purpose": "packer-spot"},
				},
				unknown: []string{"iam_instance_profile"},
				refs: map[string][]string{
					"iam_instance_profile": {"var.iam_instance_profile"},
					"run_tags":             {"var.buildrole_run_tags"},
					"run_volume_tags":      {"var.buildrole_run_tags"},
				},
				check: func(t *testing.T, s Source) {
					if b, ok := s.Bool("associate_public_ip_address"); !ok || !b {
						t.Errorf("associate_public_ip_address = %v, %v", b, ok)
					}
					vf := s.Options["vpc_filter"].Blocks
					if len(vf) != 1 || vf[0]["filters"].Map["tag:Name"] != "packer-vpc" {
						t.Errorf("vpc_filter = %+v", vf)
					}
					sf := s.Options["subnet_filter"].Blocks
					if len(sf) != 1 || sf[0]["most_free"].String != "true" || sf[0]["filters"].Map["tag:Tier"] != "private" {
						t.Errorf("subnet_filter = %+v", sf)
					}
				},
			}},
			notes: []string{"iam_instance_profile depends on var.iam_instance_profile (no value"},
		},
		{
			// What the action does: the profile and run tags arrive as PKR_VAR_.
			file: "spot-ssm.pkr.hcl",
			opts: Options{Env: mapEnv(map[string]string{
				"PKR_VAR_iam_instance_profile": "buildrole-acme-web-1a2b3c4d-vm",
				"PKR_VAR_buildrole_run_tags":   `{"buildrole:run-id" = "1a2b3c4d", "buildrole:managed" = "true"}`,
			})},
			sources: []want{{
				typ: "amazon-ebs", name: "spot",
				str: map[string]string{"iam_instance_profile": "buildrole-acme-web-1a2b3c4d-vm"},
				maps: map[string]map[string]string{
					"run_tags":        {"buildrole:run-id": "1a2b3c4d", "buildrole:managed": "true"},
					"run_volume_tags": {"buildrole:run-id": "1a2b3c4d", "buildrole:managed": "true"},
				},
				refs: map[string][]string{"iam_instance_profile": {"var.iam_instance_profile"}},
			}},
			noNotes: true,
		},
		{
			file: "windows.pkr.hcl",
			sources: []want{{
				typ: "amazon-ebs", name: "windows",
				str:    map[string]string{"communicator": "winrm", "winrm_username": "Administrator", "windows_password_timeout": "20m", "region": "us-east-2"},
				absent: []string{"winrm_password", "ssh_username"},
			}},
			noNotes: true,
		},
		{
			file: "existing-network.pkr.hcl",
			sources: []want{{
				typ: "amazon-ebs", name: "network", line: 1, col: 1,
				str: map[string]string{
					"subnet_id": "subnet-0123abcd4567ef890", "vpc_id": "vpc-0abc1234def567890",
					"ssh_keypair_name": "packer-builds", "ssh_private_key_file": "~/.ssh/packer-builds.pem",
					"deprecate_at": "2030-01-01T00:00:00Z", "imds_support": "v2.0",
				},
				list:   map[string][]string{"security_group_ids": {"sg-0aaa1111bbbb22223", "sg-0ccc3333dddd44445"}},
				absent: []string{"vpc_filter", "subnet_filter", "security_group_filter"},
				check: func(t *testing.T, s Source) {
					dp := s.Options["deregistration_protection"]
					if !dp.Known || len(dp.Blocks) != 1 || dp.Blocks[0]["enabled"].String != "true" || dp.Blocks[0]["with_cooldown"].String != "false" {
						t.Errorf("deregistration_protection = %+v", dp)
					}
					if dp.Pos.Line != 17 || dp.Pos.Col != 3 {
						t.Errorf("deregistration_protection Pos = %v", dp.Pos)
					}
					if got := s.Options["metadata_options"].Blocks[0]["http_put_response_hop_limit"].String; got != "1" {
						t.Errorf("hop limit = %q", got)
					}
				},
			}},
			noNotes: true,
		},
		{
			file: "chroot.pkr.hcl",
			sources: []want{{
				typ: "amazon-chroot", name: "al2023",
				str:  map[string]string{"region": "us-east-1", "source_ami": "ami-0123456789abcdef0", "root_volume_size": "16"},
				list: map[string][]string{"copy_files": {"/etc/resolv.conf"}},
				maps: map[string]map[string]string{"root_volume_tags": {"Name": "chroot-root"}},
			}},
			noNotes: true,
		},
		{
			file: "temporary-profile.pkr.hcl",
			sources: []want{{
				typ: "amazon-ebs", name: "tempprofile",
				check: func(t *testing.T, s Source) {
					doc := s.Options["temporary_iam_instance_profile_policy_document"]
					if !doc.Known || len(doc.Blocks) != 1 {
						t.Fatalf("policy document = %+v", doc)
					}
					if doc.Blocks[0]["Version"].String != "2012-10-17" {
						t.Errorf("Version = %+v", doc.Blocks[0]["Version"])
					}
					st := doc.Blocks[0]["Statement"].Blocks
					if len(st) != 2 {
						t.Fatalf("Statement = %+v", st)
					}
					if diff := cmp.Diff([]string{"ssm:GetParameter", "ssm:GetParameters"}, st[1]["Action"].List); diff != "" {
						t.Errorf("Action: %s", diff)
					}
					if diff := cmp.Diff([]string{"arn:aws:s3:::my-artifacts/*"}, st[0]["Resource"].List); diff != "" {
						t.Errorf("Resource: %s", diff)
					}
				},
			}},
			noNotes: true,
		},
		{
			file: "dynamic.pkr.hcl",
			sources: []want{{
				typ: "amazon-ebs", name: "dynamic",
				str:     map[string]string{"region": "us-east-1"},
				unknown: []string{"ami_regions", "source_ami", "ami_name"},
				refs: map[string][]string{
					"ami_regions": {"data.amazon-parameterstore.copy_regions", "local.regions"},
					"source_ami":  {"data.amazon-ami.base"},
					"ami_name":    nil,
				},
				pos: map[string]Pos{"ami_regions": {Line: 26, Col: 3}},
			}},
			notes: []string{
				"ami_regions depends on data.amazon-parameterstore.copy_regions",
				"source_ami depends on data.amazon-ami.base",
				"ami_name depends on uuidv4()",
			},
			check: func(t *testing.T, tpl *Template) {
				if len(tpl.Data) != 2 || tpl.Data[0].Type != "amazon-parameterstore" || tpl.Data[1].Type != "amazon-ami" {
					t.Fatalf("Data = %+v", tpl.Data)
				}
				if got, _ := tpl.Data[0].Str("name"); got != "/packer/copy-regions" {
					t.Errorf("parameter name = %q", got)
				}
				n := noteMatching(tpl.Notes, "ami_regions depends on")
				if n.Pos != (Pos{File: fixture("dynamic.pkr.hcl"), Line: 26, Col: 3}) {
					t.Errorf("note Pos = %v", n.Pos)
				}
			},
		},
		{
			file: "legacy.json",
			sources: []want{{
				typ: "amazon-ebs", name: "legacy-ebs", line: 8, col: 5,
				str:     map[string]string{"region": "us-east-1", "instance_type": "t3.micro", "ssh_username": "ec2-user"},
				list:    map[string][]string{"ami_regions": {"us-west-2"}},
				unknown: []string{"ami_name", "iam_instance_profile"},
				refs:    map[string][]string{"region": {"var.region"}, "iam_instance_profile": {"var.profile"}},
				pos:     map[string]Pos{"region": {Line: 11, Col: 7}, "launch_block_device_mappings": {Line: 26, Col: 7}},
				check: func(t *testing.T, s Source) {
					if b, ok := s.Bool("encrypt_boot"); !ok || !b {
						t.Errorf("encrypt_boot = %v %v", b, ok)
					}
					f := s.Options["source_ami_filter"]
					if len(f.Blocks) != 1 || f.Blocks[0]["owners"].List[0] != "amazon" || f.Blocks[0]["most_recent"].String != "true" {
						t.Errorf("source_ami_filter = %+v", f)
					}
					m := s.Options["launch_block_device_mappings"]
					if len(m.Blocks) != 1 || m.Blocks[0]["volume_size"].String != "12" {
						t.Errorf("launch_block_device_mappings = %+v", m)
					}
					if p := m.Blocks[0]["device_name"].Pos; p.Line != 28 || p.Col != 11 {
						t.Errorf("device_name Pos = %v", p)
					}
				},
			}},
			notes: []string{"ami_name depends on {{timestamp}}", "iam_instance_profile depends on var.profile", `"docker" is not an Amazon builder`},
		},
		{
			file: "legacy.json",
			opts: Options{Vars: map[string]string{"region": "ap-northeast-1", "profile": "my-profile"}},
			sources: []want{{
				typ: "amazon-ebs", name: "legacy-ebs",
				str: map[string]string{"region": "ap-northeast-1", "iam_instance_profile": "my-profile"},
			}},
		},
		{
			file: "multi",
			sources: []want{
				{
					typ: "amazon-ebs", name: "base", line: 1, col: 1,
					str:  map[string]string{"region": "us-east-1", "instance_type": "t3.micro", "ami_name": "prod-ubuntu", "encrypt_boot": "true"},
					list: map[string][]string{"ami_regions": {"us-west-2", "eu-west-1"}},
					maps: map[string]map[string]string{"run_tags": {"Project": "multi"}},
					refs: map[string][]string{
						"ami_name": {"local.ami_name", "local.os", "var.ami_prefix"},
						"run_tags": {"local.common_tags", "var.buildrole_run_tags"},
					},
				},
				{
					typ: "amazon-ebs", name: "arm", build: "multi", line: 5, col: 3,
					str:  map[string]string{"instance_type": "t4g.micro", "ami_name": "prod-ubuntu-arm64", "region": "us-east-1", "encrypt_boot": "true"},
					list: map[string][]string{"ami_regions": {"ap-southeast-2"}},
					pos: map[string]Pos{
						"instance_type": {File: filepath.Join(fixture("multi"), "build.pkr.hcl"), Line: 7, Col: 5},
						"region":        {File: filepath.Join(fixture("multi"), "sources.pkr.hcl"), Line: 2, Col: 3},
					},
				},
			},
			noNotes: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := fixture(tt.file)
			tpl, err := Load(path, tt.opts)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if len(tpl.Sources) != len(tt.sources) {
				t.Fatalf("got %d sources, want %d: %+v", len(tpl.Sources), len(tt.sources), tpl.Sources)
			}
			for i, w := range tt.sources {
				file := path
				if tt.file == "multi" {
					file = filepath.Join(path, "sources.pkr.hcl")
					if w.build != "" {
						file = filepath.Join(path, "build.pkr.hcl")
					}
				}
				checkSource(t, tpl.Sources[i], w, file)
			}
			for _, n := range tt.notes {
				if noteMatching(tpl.Notes, n) == nil {
					t.Errorf("no note containing %q in %v", n, tpl.Notes)
				}
			}
			if tt.noNotes && len(tpl.Notes) != 0 {
				t.Errorf("unexpected notes: %v", tpl.Notes)
			}
			if tt.check != nil {
				tt.check(t, tpl)
			}
		})
	}
}

func mapEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func loadOne(t *testing.T, path string, opts Options) Source {
	t.Helper()
	tpl, err := Load(path, opts)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(tpl.Sources) != 1 {
		t.Fatalf("got %d sources, want 1", len(tpl.Sources))
	}
	return tpl.Sources[0]
}

// TestVarPrecedence follows packer (hcl2template collectInputVariableValues):
// default < PKR_VAR_ environment < *.auto.pkrvars.hcl < -var.
func TestVarPrecedence(t *testing.T) {
	const tmpl = `
variable "region" {
  type    = string
  default = "us-east-1"
}
variable "profile" {
  type    = string
  default = "from-default"
}
variable "regions" {
  type    = list(string)
  default = ["from-default"]
}
source "amazon-ebs" "x" {
  region               = var.region
  iam_instance_profile = var.profile
  ami_regions          = var.regions
}
`
	withAuto := map[string]string{
		"main.pkr.hcl":          tmpl,
		"a.auto.pkrvars.hcl":    "region = \"eu-west-1\"\n",
		"b.auto.pkrvars.hcl":    "region = \"eu-west-3\"\nregions = [\"ap-south-1\"]\n",
		"ignored.pkrvars.hcl":   "region = \"never\"\n",
		"notes.txt":             "not a template",
		"other.auto.pkrvars.hc": "region = \"never\"\n",
	}
	env := mapEnv(map[string]string{
		"PKR_VAR_region":  "sa-east-1",
		"PKR_VAR_profile": "from-env",
		"PKR_VAR_regions": `["us-west-1", "us-west-2"]`,
	})
	tests := []struct {
		name            string
		files           map[string]string
		opts            Options
		region, profile string
		regions         []string
		wantNote        string
	}{
		{"defaults", map[string]string{"main.pkr.hcl": tmpl}, Options{}, "us-east-1", "from-default", []string{"from-default"}, ""},
		{"env over default", map[string]string{"main.pkr.hcl": tmpl}, Options{Env: env}, "sa-east-1", "from-env", []string{"us-west-1", "us-west-2"}, ""},
		{"auto files over default, later file wins", withAuto, Options{}, "eu-west-3", "from-default", []string{"ap-south-1"}, ""},
		{"auto files over env", withAuto, Options{Env: env}, "eu-west-3", "from-env", []string{"ap-south-1"}, "overrides PKR_VAR_region"},
		{"-var over everything", withAuto, Options{Env: env, Vars: map[string]string{"region": "ca-central-1", "regions": `["il-central-1"]`}}, "ca-central-1", "from-env", []string{"il-central-1"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeFiles(t, tt.files)
			tpl, err := Load(dir, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			s := tpl.Sources[0]
			if got, _ := s.Str("region"); got != tt.region {
				t.Errorf("region = %q, want %q", got, tt.region)
			}
			if got, _ := s.Str("iam_instance_profile"); got != tt.profile {
				t.Errorf("profile = %q, want %q", got, tt.profile)
			}
			if got, _ := s.StrList("ami_regions"); !cmp.Equal(got, tt.regions) {
				t.Errorf("ami_regions = %q, want %q", got, tt.regions)
			}
			if tt.wantNote != "" && noteMatching(tpl.Notes, tt.wantNote) == nil {
				t.Errorf("no note %q in %v", tt.wantNote, tpl.Notes)
			}
		})
	}
}

func TestVarErrors(t *testing.T) {
	dir := writeFiles(t, map[string]string{"main.pkr.hcl": `
variable "regions" {
  type = list(string)
}
source "amazon-ebs" "x" {
  ami_regions = var.regions
}
`})
	if _, err := Load(dir, Options{Vars: map[string]string{"nope": "x"}}); err == nil || !strings.Contains(err.Error(), "-var nope") {
		t.Errorf("undeclared -var: err = %v", err)
	}
	if _, err := Load(dir, Options{Vars: map[string]string{"regions": `[`}}); err == nil || !strings.Contains(err.Error(), "-var regions") {
		t.Errorf("bad -var literal: err = %v", err)
	}
	if _, err := Load(dir, Options{Env: mapEnv(map[string]string{"PKR_VAR_regions": `{a = {}}`})}); err == nil || !strings.Contains(err.Error(), "PKR_VAR_regions") {
		t.Errorf("bad env type: err = %v", err)
	}
	// Untyped variables take -var values as strings.
	dir = writeFiles(t, map[string]string{"main.pkr.hcl": `
variable "name" {}
source "amazon-ebs" "x" {
  ami_name = var.name
}
`})
	s := loadOne(t, dir, Options{Vars: map[string]string{"name": `["not", "a", "list"]`}})
	if got, _ := s.Str("ami_name"); got != `["not", "a", "list"]` {
		t.Errorf("ami_name = %q", got)
	}
}

func TestLocals(t *testing.T) {
	dir := writeFiles(t, map[string]string{"main.pkr.hcl": `
variable "env" {
  default = "Prod"
}
variable "regions" {
  type    = string
  default = "us-west-2, eu-west-1"
}
locals {
  # declared before what it depends on: needs more than one round
  name     = format("%s-%s", local.prefix, lower(var.env))
  prefix   = upper(join("", ["img", local.suffix]))
  suffix   = "x"
  regions  = [for r in split(",", var.regions) : trimspace(r)]
  tags     = merge({ Env = var.env }, { Owner = lookup(local.owners, var.env, "nobody") })
  owners   = tomap({ Prod = "platform" })
  first    = coalesce("", "first")
  count    = length(local.regions)
  cycle_a  = local.cycle_b
  cycle_b  = local.cycle_a
  stamp    = formatdate("YYYYMMDD", timestamp())
  replaced = replace("a-b-c", "-", "_")
  ids      = concat(tolist(["a"]), tolist(toset(["b"])))
}
local "block_local" {
  expression = "${local.name}-${local.replaced}"
  sensitive  = true
}
source "amazon-ebs" "x" {
  ami_name        = local.block_local
  ami_regions     = local.regions
  tags            = local.tags
  ami_description = "${local.first} ${local.count}"
  ami_users       = local.ids
  snapshot_tags   = { Cycle = local.cycle_a }
  run_tags        = { Built = local.stamp }
}
`})
	tpl, err := Load(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := tpl.Sources[0]
	checkSource(t, s, want{
		typ: "amazon-ebs", name: "x",
		str: map[string]string{
			"ami_name":        "IMGX-prod-a_b_c",
			"ami_description": "first 2",
		},
		list:    map[string][]string{"ami_regions": {"us-west-2", "eu-west-1"}, "ami_users": {"a", "b"}},
		maps:    map[string]map[string]string{"tags": {"Env": "Prod", "Owner": "platform"}},
		unknown: []string{"snapshot_tags", "run_tags"},
		refs: map[string][]string{
			"ami_name": {"local.block_local", "local.name", "local.prefix", "local.replaced", "local.suffix", "var.env"},
			"run_tags": {"local.stamp"},
		},
	}, filepath.Join(dir, "main.pkr.hcl"))
	if noteMatching(tpl.Notes, "run_tags depends on timestamp()") == nil {
		t.Errorf("no timestamp note in %v", tpl.Notes)
	}
	if noteMatching(tpl.Notes, "snapshot_tags depends on") == nil {
		t.Errorf("no cycle note in %v", tpl.Notes)
	}
}

func TestUnknowns(t *testing.T) {
	dir := writeFiles(t, map[string]string{"main.pkr.hcl": `
variable "region" {
  default = env("AWS_REGION")
}
variable "profile" {
  type = string
}
source "amazon-ebs" "x" {
  region               = var.region
  iam_instance_profile = var.profile
  user_data_file       = "${path.root}/user-data.sh"
  ami_name             = "x-${packer.version}"
  ami_description      = not_a_function("x")
  kms_key_id           = null
  ami_regions          = [for r in ["us-west-2", data.amazon-parameterstore.r.value] : r]
  snapshot_users       = ["111111111111"]

  dynamic "launch_block_device_mappings" {
    for_each = ["/dev/sdb", "/dev/sdc"]
    iterator = dev
    content {
      device_name = dev.value
      volume_size = 10 + dev.key
    }
  }
  dynamic "ami_block_device_mappings" {
    for_each = data.amazon-parameterstore.devices.value
    content {
      device_name = ami_block_device_mappings.value
    }
  }
}
`})
	path := filepath.Join(dir, "main.pkr.hcl")
	tpl, err := Load(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := tpl.Sources[0]
	checkSource(t, s, want{
		typ: "amazon-ebs", name: "x",
		unknown: []string{"region", "iam_instance_profile", "user_data_file", "ami_name", "ami_description", "ami_regions", "ami_block_device_mappings"},
		absent:  []string{"kms_key_id"},
		list:    map[string][]string{"snapshot_users": {"111111111111"}},
		refs: map[string][]string{
			"region":                    {"var.region"},
			"user_data_file":            {"path.root"},
			"ami_name":                  {"packer.version"},
			"ami_regions":               {"data.amazon-parameterstore.r"},
			"ami_block_device_mappings": {"data.amazon-parameterstore.devices"},
		},
		pos: map[string]Pos{"ami_block_device_mappings": {Line: 26, Col: 3}},
	}, path)
	ld := s.Options["launch_block_device_mappings"]
	if !ld.Known || len(ld.Blocks) != 2 || ld.Blocks[1]["device_name"].String != "/dev/sdc" || ld.Blocks[1]["volume_size"].String != "11" {
		t.Errorf("dynamic launch_block_device_mappings = %+v", ld)
	}
	for _, n := range []string{
		"region depends on var.region (env() in its default)",
		"iam_instance_profile depends on var.profile",
		"user_data_file depends on path.root",
		"ami_name depends on packer.version",
		"ami_description cannot be evaluated statically (Call to unknown function",
		"ami_regions depends on data.amazon-parameterstore.r",
		"dynamic ami_block_device_mappings blocks depend on data.amazon-parameterstore.devices",
	} {
		if noteMatching(tpl.Notes, n) == nil {
			t.Errorf("no note %q in:\n%v", n, tpl.Notes)
		}
	}
	for _, n := range tpl.Notes {
		if n.Pos.File != path || n.Pos.Line == 0 {
			t.Errorf("note without position: %v", n)
		}
	}

	// env() reads Options.Env.
	s = loadOne(t, dir, Options{Env: mapEnv(map[string]string{"AWS_REGION": "eu-north-1"})})
	if got, ok := s.Str("region"); !ok || got != "eu-north-1" {
		t.Errorf("region from env() = %q, %v", got, ok)
	}
}

func TestParseErrors(t *testing.T) {
	pos := regexp.MustCompile(`^(.+):(\d+):(\d+): (.+)$`)
	tests := []struct {
		name, file, content string
		line, col           int
		msg                 string
	}{
		{"hcl syntax", "bad.pkr.hcl", "source \"amazon-ebs\" \"x\" {\n  region = \"us-east-1\"\n  ami_name = \n}\n", 3, 14, "Invalid expression"},
		{"unclosed block", "bad.pkr.hcl", "source \"amazon-ebs\" \"x\" {\n  region = \"us-east-1\"\n", 1, 25, "Unclosed configuration block"},
		{"unknown top-level block", "bad.pkr.hcl", "builder \"amazon-ebs\" {\n}\n", 1, 1, "Unsupported block type"},
		{"missing labels", "bad.pkr.hcl", "source \"amazon-ebs\" {\n}\n", 1, 21, "Missing name for source"},
		{"undefined source", "bad.pkr.hcl", "source \"amazon-ebs\" \"x\" {}\nbuild {\n  sources = [\"source.amazon-ebs.y\"]\n}\n", 3, 13, `undefined source "source.amazon-ebs.y"`},
		{"undefined override", "bad.pkr.hcl", "source \"amazon-ebs\" \"x\" {}\nbuild {\n  source \"source.amazon-ebs.z\" {}\n}\n", 3, 10, "undefined source"},
		{"duplicate source", "bad.pkr.hcl", "source \"amazon-ebs\" \"x\" {}\nsource \"amazon-ebs\" \"x\" {}\n", 2, 1, "duplicate source"},
		{"bad default type", "bad.pkr.hcl", "variable \"r\" {\n  type    = list(string)\n  default = \"x\"\n}\n", 3, 13, "invalid default"},
		{"hcl json syntax", "bad.pkr.json", "{\n  \"source\": {\n    \"amazon-ebs\": {,\n  }\n}\n", 3, 20, ""},
		{"legacy json syntax", "bad.json", "{\n  \"builders\": [\n    {\"type\": \"amazon-ebs\",}\n  ]\n}\n", 3, 27, "invalid JSON"},
		{"legacy truncated", "bad.json", "{\n  \"builders\": [\n", 3, 1, "unexpected end of input"},
		{"legacy without builders", "bad.json", "{\n  \"variables\": {}\n}\n", 1, 1, "builders"},
		{"auto var file syntax", "", "", 2, 8, "Invalid multi-line string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var path, file string
			if tt.file == "" {
				dir := writeFiles(t, map[string]string{
					"main.pkr.hcl":       "variable \"r\" {\n  default = \"x\"\n}\n",
					"x.auto.pkrvars.hcl": "r = \"a\"\nr2 = \"b\n",
				})
				path, file = dir, filepath.Join(dir, "x.auto.pkrvars.hcl")
			} else {
				dir := writeFiles(t, map[string]string{tt.file: tt.content})
				path = filepath.Join(dir, tt.file)
				file = path
			}
			_, err := Load(path, Options{})
			if err == nil {
				t.Fatal("no error")
			}
			m := pos.FindStringSubmatch(err.Error())
			if m == nil {
				t.Fatalf("error %q is not file:line:col: message", err)
			}
			if m[1] != file || m[2] != strconv.Itoa(tt.line) || m[3] != strconv.Itoa(tt.col) {
				t.Errorf("error at %s:%s:%s, want %s:%d:%d (%v)", m[1], m[2], m[3], file, tt.line, tt.col, err)
			}
			if !strings.Contains(m[4], tt.msg) {
				t.Errorf("error %q does not mention %q", err, tt.msg)
			}
		})
	}
}

func TestNoAmazonSources(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"docker.pkr.hcl": "source \"docker\" \"u\" {\n  image = \"ubuntu\"\n}\nbuild {\n  sources = [\"source.docker.u\"]\n}\n",
		"legacy.json":    `{"builders": [{"type": "docker", "image": "ubuntu"}]}`,
	})
	for _, name := range []string{"docker.pkr.hcl", "legacy.json"} {
		tpl, err := Load(filepath.Join(dir, name), Options{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(tpl.Sources) != 0 {
			t.Errorf("%s: sources = %+v", name, tpl.Sources)
		}
		if noteMatching(tpl.Notes, "no Amazon builder") == nil || noteMatching(tpl.Notes, `"docker" is not an Amazon builder`) == nil {
			t.Errorf("%s: notes = %v", name, tpl.Notes)
		}
	}
}

func TestHCLJSON(t *testing.T) {
	path := filepath.Join("testdata", "hcljson.pkr.json")
	tpl, err := Load(path, Options{Vars: map[string]string{"region": "eu-south-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(tpl.Sources) != 1 {
		t.Fatalf("sources = %+v", tpl.Sources)
	}
	checkSource(t, tpl.Sources[0], want{
		typ: "amazon-ebs", name: "json", line: 10, col: 7,
		str:  map[string]string{"region": "eu-south-1", "ami_name": "hcl-json"},
		list: map[string][]string{"ami_regions": {"us-west-1"}},
		maps: map[string]map[string]string{"run_tags": {"Team": "images"}},
		refs: map[string][]string{"region": {"var.region"}},
		pos:  map[string]Pos{"region": {Line: 11, Col: 9}},
		check: func(t *testing.T, s Source) {
			m := s.Options["launch_block_device_mappings"]
			if len(m.Blocks) != 2 || m.Blocks[1]["volume_size"].String != "50" {
				t.Errorf("launch_block_device_mappings = %+v", m)
			}
			f := s.Options["subnet_filter"]
			if len(f.Blocks) != 1 || f.Blocks[0]["most_free"].String != "true" {
				t.Errorf("subnet_filter = %+v", f)
			}
		},
	}, path)
}

func TestBuildOverridesAndPostProcessors(t *testing.T) {
	dir := writeFiles(t, map[string]string{"main.pkr.hcl": `
source "amazon-ebs" "a" {
  region       = "us-east-1"
  ami_name     = "a"
  ami_regions  = ["us-west-2"]
  vpc_filter {
    filters = { "tag:Name" = "base" }
  }
}
source "amazon-ebssurrogate" "s" {
  region = "us-east-1"
}
source "null" "n" {
  communicator = "none"
}
build {
  name    = "one"
  sources = ["source.amazon-ebs.a", "source.null.n"]
  source "amazon-ebs.a" {
    ami_regions = []
    vpc_filter {
      filters = { "tag:Name" = "override" }
    }
  }
  post-processor "amazon-import" {
    region    = "eu-west-1"
    s3_bucket_name = "imports"
  }
  post-processors {
    post-processor "manifest" {}
    post-processor "amazon-ami-management" {
      regions       = ["us-east-1"]
      keep_releases = 2
    }
  }
}
build {
  source "source.amazon-ebssurrogate.s" {
    name   = "surrogate-two"
    region = "us-east-2"
  }
}
`})
	tpl, err := Load(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range tpl.Sources {
		r, _ := s.Str("region")
		regions, _ := s.StrList("ami_regions")
		vf := ""
		if b := s.Options["vpc_filter"].Blocks; len(b) > 0 {
			vf = b[0]["filters"].Map["tag:Name"]
		}
		got = append(got, strings.Join([]string{s.Type, s.Name, s.Build, r, strings.Join(regions, "+"), vf}, "|"))
	}
	wantSources := []string{
		"amazon-ebs|a||us-east-1|us-west-2|base",
		"amazon-ebssurrogate|s||us-east-1||",
		"amazon-ebs|a|one|us-east-1||override",
		"amazon-ebssurrogate|surrogate-two||us-east-2||",
	}
	if diff := cmp.Diff(wantSources, got); diff != "" {
		t.Errorf("sources (-want +got):\n%s", diff)
	}
	if l, ok := tpl.Sources[2].StrList("ami_regions"); !ok || len(l) != 0 || l == nil {
		t.Errorf("overridden empty ami_regions = %#v, %v", l, ok)
	}
	var pps []string
	for _, p := range tpl.PostProcessors {
		pps = append(pps, p.Type+"|"+p.Build)
	}
	if diff := cmp.Diff([]string{"amazon-import|one", "amazon-ami-management|one"}, pps); diff != "" {
		t.Errorf("post-processors (-want +got):\n%s", diff)
	}
	if b, _ := tpl.PostProcessors[0].Str("s3_bucket_name"); b != "imports" {
		t.Errorf("s3_bucket_name = %q", b)
	}
	if noteMatching(tpl.Notes, `"null" is not an Amazon builder`) == nil {
		t.Errorf("notes = %v", tpl.Notes)
	}
}

func TestAccessors(t *testing.T) {
	s := Source{Options: map[string]Value{
		"str":     {Known: true, String: "x"},
		"empty":   {Known: true, String: ""},
		"yes":     {Known: true, String: "true"},
		"no":      {Known: true, String: "false"},
		"legacy":  {Known: true, String: "us-east-1, us-west-2"},
		"list":    {Known: true, List: []string{"a"}},
		"nolist":  {Known: true, List: []string{}},
		"map":     {Known: true, Map: map[string]string{"k": "v"}},
		"unknown": {Known: false, Refs: []string{"var.x"}},
		"blocks":  {Known: true, Blocks: []map[string]Value{{}}},
	}}
	for _, k := range []string{"str", "unknown", "blocks"} {
		if !s.Has(k) {
			t.Errorf("Has(%q) = false", k)
		}
	}
	if s.Has("missing") {
		t.Error("Has(missing) = true")
	}
	strs := map[string]bool{"str": true, "empty": true, "yes": true, "list": false, "map": false, "unknown": false, "blocks": false, "missing": false}
	for k, want := range strs {
		if _, ok := s.Str(k); ok != want {
			t.Errorf("Str(%q) ok = %v, want %v", k, ok, want)
		}
	}
	if b, ok := s.Bool("yes"); !ok || !b {
		t.Errorf("Bool(yes) = %v %v", b, ok)
	}
	if b, ok := s.Bool("no"); !ok || b {
		t.Errorf("Bool(no) = %v %v", b, ok)
	}
	if _, ok := s.Bool("str"); ok {
		t.Error("Bool(str) ok")
	}
	if _, ok := s.Bool("unknown"); ok {
		t.Error("Bool(unknown) ok")
	}
	if l, ok := s.StrList("list"); !ok || !cmp.Equal(l, []string{"a"}) {
		t.Errorf("StrList(list) = %v %v", l, ok)
	}
	if l, ok := s.StrList("nolist"); !ok || len(l) != 0 {
		t.Errorf("StrList(nolist) = %v %v", l, ok)
	}
	if l, ok := s.StrList("legacy"); !ok || !cmp.Equal(l, []string{"us-east-1", "us-west-2"}) {
		t.Errorf("StrList(legacy) = %v %v", l, ok)
	}
	for _, k := range []string{"empty", "map", "unknown", "blocks", "missing"} {
		if _, ok := s.StrList(k); ok {
			t.Errorf("StrList(%q) ok", k)
		}
	}
	if got := (Pos{File: "a.pkr.hcl", Line: 3, Col: 7}).String(); got != "a.pkr.hcl:3:7" {
		t.Errorf("Pos.String = %q", got)
	}
}

func TestLoadPaths(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "missing.pkr.hcl"), Options{}); err == nil {
		t.Error("missing file: no error")
	}
	dir := writeFiles(t, map[string]string{"readme.md": "x", "template.yaml": "x"})
	if _, err := Load(dir, Options{}); err == nil || !strings.Contains(err.Error(), "no *.pkr.hcl") {
		t.Errorf("empty dir: err = %v", err)
	}
	if _, err := Load(filepath.Join(dir, "template.yaml"), Options{}); err == nil {
		t.Error("yaml: no error")
	}
}
