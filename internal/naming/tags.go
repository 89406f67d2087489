package naming

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/buildrole/buildrole/internal/run"
)

// IAM's tag limits.
const (
	MaxTags        = 50
	MaxTagKeyLen   = 128
	MaxTagValueLen = 256
)

var tagChars = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
var tagBad = regexp.MustCompile(`[^\p{L}\p{Z}\p{N}_.:/=+\-@]`)

// Run describes the run that owns the resources.
type Run struct {
	RunID      string // UUID of this buildrole run
	Repository string // owner/name
	RunNumber  string // GITHUB_RUN_ID
	Attempt    string // GITHUB_RUN_ATTEMPT
	PR         string
	Workflow   string
	ExpiresAt  time.Time
}

// DefaultTags are the buildrole: tags of a run. Values from GitHub are made
// to fit IAM's character set and length, since a workflow name may hold any
// character.
func DefaultTags(r Run) []run.Tag {
	tags := []run.Tag{
		{Key: run.TagManaged, Value: run.TagManagedValue},
		{Key: run.TagRunID, Value: r.RunID},
	}
	add := func(k, v string) {
		if v != "" {
			tags = append(tags, run.Tag{Key: k, Value: sanitizeValue(v)})
		}
	}
	add(run.TagRepository, r.Repository)
	if r.RunNumber != "" {
		attempt := r.Attempt
		if attempt == "" {
			attempt = "1"
		}
		add(run.TagRun, r.RunNumber+"-"+attempt)
	}
	add(run.TagPR, r.PR)
	add(run.TagWorkflow, r.Workflow)
	tags = append(tags, run.Tag{Key: run.TagExpiresAt, Value: r.ExpiresAt.UTC().Format(time.RFC3339)})
	return tags
}

func sanitizeValue(v string) string {
	v = tagBad.ReplaceAllString(v, "_")
	if r := []rune(v); len(r) > MaxTagValueLen {
		v = string(r[:MaxTagValueLen])
	}
	return v
}

// ValidateTag checks one tag against IAM's rules.
func ValidateTag(t run.Tag) error {
	switch {
	case t.Key == "":
		return fmt.Errorf("tag key must not be empty")
	case len([]rune(t.Key)) > MaxTagKeyLen:
		return fmt.Errorf("tag key %q is longer than %d characters", t.Key, MaxTagKeyLen)
	case len([]rune(t.Value)) > MaxTagValueLen:
		return fmt.Errorf("value of tag %q is longer than %d characters", t.Key, MaxTagValueLen)
	case !tagChars.MatchString(t.Key):
		return fmt.Errorf("tag key %q may contain only letters, digits, spaces and _ . : / = + - @", t.Key)
	case !tagChars.MatchString(t.Value):
		return fmt.Errorf("value of tag %q may contain only letters, digits, spaces and _ . : / = + - @", t.Key)
	}
	return nil
}

// ParseTags reads key=value pairs separated by newlines or commas. Blank
// entries are skipped.
func ParseTags(s string) ([]run.Tag, error) {
	var tags []run.Tag
	for _, line := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == ',' }) {
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%q is not key=value", line)
		}
		tags = append(tags, run.Tag{Key: strings.TrimSpace(k), Value: strings.TrimSpace(v)})
	}
	return tags, nil
}

// MergeTags adds user tags to the defaults. Keys beginning "aws:" are
// reserved by AWS and dropped with a warning; a default wins over a user tag
// whose key matches case-insensitively, as IAM compares role tag keys that
// way. The result is checked against IAM's limits.
func MergeTags(defaults, user []run.Tag) ([]run.Tag, []string, error) {
	seen := map[string]bool{}
	out := make([]run.Tag, 0, len(defaults)+len(user))
	for _, t := range defaults {
		seen[strings.ToLower(t.Key)] = true
		out = append(out, t)
	}
	var warnings []string
	for _, t := range user {
		lk := strings.ToLower(t.Key)
		switch {
		case strings.HasPrefix(lk, "aws:"):
			warnings = append(warnings, fmt.Sprintf("tag %q dropped: keys beginning aws: are reserved by AWS", t.Key))
			continue
		case seen[lk]:
			warnings = append(warnings, fmt.Sprintf("tag %q dropped: buildrole sets this key itself", t.Key))
			continue
		}
		if err := ValidateTag(t); err != nil {
			return nil, warnings, err
		}
		seen[lk] = true
		out = append(out, t)
	}
	if len(out) > MaxTags {
		return nil, warnings, fmt.Errorf("%d tags in all (%d set by buildrole); IAM allows at most %d", len(out), len(defaults), MaxTags)
	}
	return out, warnings, nil
}
