package awsfacts

import (
	"fmt"
	"regexp"
	"strings"
)

// IAM's limits on the names and paths of roles and instance profiles.
const (
	MaxRoleName            = 64
	MaxInstanceProfileName = 128
	MaxPath                = 512
)

var (
	iamNameRE = regexp.MustCompile(`^[\w+=,.@-]{1,128}$`)
	pathRE    = regexp.MustCompile(`^/$|^/[\x21-\x7E]*/$`)
)

// IsRoleName reports whether IAM accepts name for a role (and so for the
// instance profile that shares it).
func IsRoleName(name string) bool {
	return len(name) <= MaxRoleName && iamNameRE.MatchString(name)
}

// ValidatePath checks an IAM path as IAM does.
func ValidatePath(p string) error {
	switch {
	case len(p) > MaxPath:
		return fmt.Errorf("is %d characters; IAM allows at most %d", len(p), MaxPath)
	case !pathRE.MatchString(p):
		return fmt.Errorf("%q must begin and end with / and contain only printable ASCII without spaces, e.g. /buildrole/", p)
	case strings.Contains(p, "//"):
		return fmt.Errorf("%q must not contain an empty segment (//)", p)
	}
	return nil
}
