package naming

import (
	"strings"
	"testing"
	"time"

	"github.com/buildrole/buildrole/internal/awsfacts"
	"github.com/buildrole/buildrole/internal/run"
)

const runID = "3f9c2a1b-0000-4000-8000-000000000000"

func TestBuildNames(t *testing.T) {
	t.Parallel()
	longRepo := "acme/" + strings.Repeat("very-long-repository-name-", 4)
	cases := []struct {
		prefix, slug, mode string
		want               Names
	}{
		{"buildrole", Slug("acme/web", "42", "99"), "separate", Names{"buildrole-web-pr42-3f9c2a1b", "buildrole-web-pr42-3f9c2a1b-vm", "buildrole-web-pr42-3f9c2a1b-vm"}},
		{"buildrole", Slug("acme/Web_Images", "", "123"), "shared", Names{"buildrole-web-images-r123-3f9c2a1b", "", "buildrole-web-images-r123-3f9c2a1b"}},
		{"br", Slug("acme/web", "", ""), "none", Names{"br-web-3f9c2a1b", "", ""}},
		{"buildrole", Slug(longRepo, "4242", "1"), "separate", Names{
			"buildrole-very-long-repository-name-very-long-pr4242-3f9c2a1b",
			"buildrole-very-long-repository-name-very-long-pr4242-3f9c2a1b-vm",
			"buildrole-very-long-repository-name-very-long-pr4242-3f9c2a1b-vm"}},
		{strings.Repeat("p", MaxPrefixLen), Slug("acme/web", "1", ""), "separate", Names{
			strings.Repeat("p", MaxPrefixLen) + "-3f9c2a1b",
			strings.Repeat("p", MaxPrefixLen) + "-3f9c2a1b-vm",
			strings.Repeat("p", MaxPrefixLen) + "-3f9c2a1b-vm"}},
	}
	for _, c := range cases {
		got := Build(c.prefix, c.slug, runID, c.mode)
		if got != c.want {
			t.Errorf("Build(%q, %q, %s) = %+v, want %+v", c.prefix, c.slug, c.mode, got, c.want)
		}
		for _, n := range []string{got.Role, got.InstanceRole} {
			if len(n) > awsfacts.MaxRoleName || !awsfacts.IsRoleName(n) && n != "" {
				t.Errorf("name %q is not a valid role name", n)
			}
			if n != "" && !strings.Contains(n, "3f9c2a1b") {
				t.Errorf("name %q lost the unique part", n)
			}
		}
	}
}

func TestValidatePrefixAndPath(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"", strings.Repeat("x", MaxPrefixLen+1), "a/b", "a b"} {
		if ValidatePrefix(p) == nil {
			t.Errorf("prefix %q accepted", p)
		}
	}
	for _, p := range []string{"/", "/buildrole/", "/a/b/"} {
		if err := awsfacts.ValidatePath(p); err != nil {
			t.Errorf("path %q: %v", p, err)
		}
	}
	for _, p := range []string{"", "buildrole", "/buildrole", "/a b/", "/a//b/", "/" + strings.Repeat("x", 511) + "/"} {
		if awsfacts.ValidatePath(p) == nil {
			t.Errorf("path %q accepted", p)
		}
	}
}

func TestMergeTags(t *testing.T) {
	t.Parallel()
	defaults := DefaultTags(Run{RunID: runID, Repository: "acme/web", RunNumber: "99", PR: "42", Workflow: "Build (nightly) & test", ExpiresAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)})
	m := tagMap(defaults)
	if m[run.TagRun] != "99-1" || m[run.TagExpiresAt] != "2026-01-02T03:04:05Z" || m[run.TagWorkflow] != "Build _nightly_ _ test" {
		t.Errorf("defaults = %v", m)
	}
	for _, tg := range defaults {
		if err := ValidateTag(tg); err != nil {
			t.Errorf("default tag invalid: %v", err)
		}
	}
	user := []run.Tag{{Key: "team", Value: "images"}, {Key: "aws:created", Value: "x"}, {Key: "BUILDROLE:RUN-ID", Value: "spoof"}}
	got, warnings, err := MergeTags(defaults, user)
	if err != nil {
		t.Fatal(err)
	}
	gm := tagMap(got)
	if gm["team"] != "images" || gm[run.TagRunID] != runID || len(got) != len(defaults)+1 {
		t.Errorf("merged = %v", got)
	}
	if len(warnings) != 2 {
		t.Errorf("warnings = %v, want 2", warnings)
	}
	bad := [][]run.Tag{
		{{Key: strings.Repeat("k", 129), Value: "v"}},
		{{Key: "k", Value: strings.Repeat("v", 257)}},
		{{Key: "k!", Value: "v"}},
		{{Key: "k", Value: "v;"}},
	}
	for _, b := range bad {
		if _, _, err := MergeTags(defaults, b); err == nil {
			t.Errorf("tags %v accepted", b)
		}
	}
	many := make([]run.Tag, MaxTags-len(defaults)+1)
	for i := range many {
		many[i] = run.Tag{Key: "k" + strings.Repeat("x", i), Value: "v"}
	}
	if _, _, err := MergeTags(defaults, many); err == nil || !strings.Contains(err.Error(), "at most 50") {
		t.Errorf("51 tags: err = %v", err)
	}
	// Unicode letters count as characters, not bytes.
	if err := ValidateTag(run.Tag{Key: "équipe", Value: strings.Repeat("é", 256)}); err != nil {
		t.Errorf("unicode tag: %v", err)
	}
}

func TestParseTags(t *testing.T) {
	t.Parallel()
	got, err := ParseTags("a=1\n b = two words \r\n\nc=x=y,d=")
	if err != nil {
		t.Fatal(err)
	}
	want := []run.Tag{{Key: "a", Value: "1"}, {Key: "b", Value: "two words"}, {Key: "c", Value: "x=y"}, {Key: "d", Value: ""}}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("tag %d = %v, want %v", i, got[i], want[i])
		}
	}
}

// tagMap turns tags into a map, for lookups.
func tagMap(tags []run.Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	return m
}
