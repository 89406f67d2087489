package awsfacts

import (
	"errors"
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
	accountIDRE = regexp.MustCompile(`^[0-9]{12}$`)
	nameCharsRE = regexp.MustCompile(`^[\w+=,.@-]+$`)
	iamNameRE   = regexp.MustCompile(`^[\w+=,.@-]{1,128}$`)
	pathRE      = regexp.MustCompile(`^/$|^/[\x21-\x7E]*/$`)
)

// IsAccountID reports whether id has the form of an AWS account id.
func IsAccountID(id string) bool { return accountIDRE.MatchString(id) }

// ValidateName checks an IAM name (a role's, an instance profile's, a
// policy's) of at most max characters.
func ValidateName(name string, max int) error {
	switch {
	case name == "":
		return errors.New("is required")
	case len(name) > max:
		return fmt.Errorf("%q is %d characters; IAM allows at most %d", name, len(name), max)
	case !nameCharsRE.MatchString(name):
		return fmt.Errorf("%q may contain only letters, digits and + = , . @ _ -", name)
	}
	return nil
}

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

var (
	roleARNRE     = regexp.MustCompile(`^arn:(aws[a-z-]*):iam::(\d{12}):role/([\x21-\x7E]*/)?([\w+=,.@-]{1,64})$`)
	sessionNameRE = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
)

// RoleARN is a role's ARN taken apart.
type RoleARN struct {
	Partition, AccountID, Path, Name string
}

// ParseRoleARN reads an IAM role ARN (arn:PARTITION:iam::ACCOUNT:role/PATH/NAME).
func ParseRoleARN(arn string) (RoleARN, bool) {
	m := roleARNRE.FindStringSubmatch(arn)
	if m == nil {
		return RoleARN{}, false
	}
	return RoleARN{Partition: m[1], AccountID: m[2], Path: "/" + m[3], Name: m[4]}, true
}

// IsSessionName reports whether STS accepts name as a RoleSessionName.
func IsSessionName(name string) bool { return sessionNameRE.MatchString(name) }

// IAM's per-account quotas that a run's creates meet, as Service Quotas
// names them (default 1,000 each; a LimitExceeded on CreateRole or
// CreateInstanceProfile).
const (
	QuotaRoles            = "Roles per account"
	QuotaInstanceProfiles = "Instance profiles per account"
)
