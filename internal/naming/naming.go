package naming

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/buildrole/buildrole/internal/awsfacts"
	"github.com/buildrole/buildrole/internal/run"
)

var (
	slugBad = regexp.MustCompile(`[^a-z0-9]+`)
)

// Names are the resources of one run.
type Names struct {
	Role            string `json:"role"`
	InstanceRole    string `json:"instance_role,omitempty"`
	InstanceProfile string `json:"instance_profile,omitempty"`
}

// MaxPrefixLen is the longest prefix that still leaves room for the unique
// part and the instance suffix.
const MaxPrefixLen = awsfacts.MaxRoleName - 1 - run.ShortLen - len(run.InstanceSuffix)

// ValidatePrefix reports whether prefix can start every name.
func ValidatePrefix(prefix string) error {
	switch {
	case prefix == "":
		return fmt.Errorf("must not be empty")
	case len(prefix) > MaxPrefixLen:
		return fmt.Errorf("is %d characters; at most %d leave room for the unique suffix", len(prefix), MaxPrefixLen)
	}
	return awsfacts.ValidateName(prefix, MaxPrefixLen)
}

// Slug is the human part of a name: the repository's name and the pull
// request number, or the workflow run id when there is no pull request.
func Slug(repository, pr, runID string) string {
	repo := repository
	if i := strings.LastIndex(repo, "/"); i >= 0 {
		repo = repo[i+1:]
	}
	repo = clean(repo)
	var ctx string
	switch {
	case pr != "":
		ctx = "pr" + clean(pr)
	case runID != "":
		ctx = "r" + clean(runID)
	}
	return joinNonEmpty("-", repo, ctx)
}

func clean(s string) string {
	return strings.Trim(slugBad.ReplaceAllString(strings.ToLower(s), "-"), "-")
}

func joinNonEmpty(sep string, parts ...string) string {
	var keep []string
	for _, p := range parts {
		if p != "" {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, sep)
}

// Build makes the run's names. The slug is shortened so that the longest
// name (the instance role) fits IAM's 64-character limit; the prefix and the
// unique part are never cut. mode is "separate", "shared" or "none".
func Build(prefix, slug, runID, mode string) Names {
	short := run.Short(runID)
	room := awsfacts.MaxRoleName - len(run.InstanceSuffix) - len(prefix) - len(short) - 2
	if room < 0 {
		room = 0
	}
	slug = shorten(slug, room)
	base := joinNonEmpty("-", prefix, slug, short)
	n := Names{Role: base}
	switch mode {
	case "separate":
		n.InstanceRole = base + run.InstanceSuffix
		n.InstanceProfile = n.InstanceRole
	case "shared":
		n.InstanceProfile = base
	}
	return n
}

// shorten cuts the slug's repository part first, keeping the pull request or
// run part that tells runs apart, and never ends on a dash.
func shorten(slug string, room int) string {
	if len(slug) <= room {
		return slug
	}
	if i := strings.LastIndex(slug, "-"); i > 0 {
		repo, ctx := slug[:i], slug[i+1:]
		if len(ctx)+1 < room {
			return strings.Trim(repo[:room-len(ctx)-1], "-") + "-" + ctx
		}
	}
	return strings.Trim(slug[:room], "-")
}
