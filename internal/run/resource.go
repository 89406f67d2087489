package run

import (
	"fmt"
	"strings"

	"github.com/buildrole/buildrole/internal/awsfacts"
)

// Kind is one of a run's resources.
type Kind int

const (
	// KindRole is the build role: what `packer build` runs as.
	KindRole Kind = iota + 1
	// KindInstanceRole is the role the build VM gets (instance-profile:
	// separate).
	KindInstanceRole
	// KindInstanceProfile holds the instance role, or the build role
	// itself (instance-profile: shared).
	KindInstanceProfile
)

// IAM entity types, as ARNs, state files and reports spell them.
const (
	IAMTypeRole            = "role"
	IAMTypeInstanceProfile = "instance-profile"
)

// IAMType is the kind of IAM entity: IAMTypeRole or IAMTypeInstanceProfile.
func (k Kind) IAMType() string {
	if k == KindInstanceProfile {
		return IAMTypeInstanceProfile
	}
	return IAMTypeRole
}

// IsRole reports whether the resource is an IAM role.
func (k Kind) IsRole() bool { return k == KindRole || k == KindInstanceRole }

// String names the kind as messages do.
func (k Kind) String() string {
	switch k {
	case KindRole:
		return "role"
	case KindInstanceRole:
		return "instance role"
	case KindInstanceProfile:
		return "instance profile"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// PlaceholderAccount stands in for the account id where none is known
// yet (a dry run without role-to-assume): it shapes ARNs only.
const PlaceholderAccount = "000000000000"

// Packer variables up fills for later steps (PKR_VAR_<name>): the instance
// profile's name, and the run's tags as an HCL map.
const (
	VarInstanceProfile = "iam_instance_profile"
	VarRunTags         = "buildrole_run_tags"
)

// Resource is one IAM role or instance profile of a run.
type Resource struct {
	Kind Kind
	Name string
}

// String is "role NAME" or "instance-profile NAME", as reports name it.
func (r Resource) String() string { return r.Kind.IAMType() + " " + r.Name }

// Inline policy names. A role's inline policies share one 10,240-character
// quota, so each role gets a single document.
const (
	BuildPolicyName    = "buildrole-packer"
	InstancePolicyName = "buildrole-instance"
)

// InstanceSuffix ends the instance role's name and its profile's.
const InstanceSuffix = "-vm"

// ShortLen is how many hex digits of the run id make every name unique.
const ShortLen = 8

// Short is the unique part of every name of a run: the first ShortLen hex
// digits of its id. It is never shortened.
func Short(runID string) string {
	s := strings.ReplaceAll(runID, "-", "")
	if len(s) > ShortLen {
		s = s[:ShortLen]
	}
	return s
}

// ValidatePath checks the IAM path of a run's resources (and of the
// bootstrap's boundary): IAM's rule, and no "*" or "?", which IAM accepts
// but which would be wildcards in the ARNs of every policy naming the path.
func ValidatePath(p string) error {
	if err := awsfacts.ValidatePath(p); err != nil {
		return err
	}
	if strings.ContainsAny(p, "*?") {
		return fmt.Errorf("%q must not contain \"*\" or \"?\": in ARNs they are wildcards", p)
	}
	return nil
}
