package run

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/buildrole/buildrole/internal/awsfacts"
)

// The job environment up leaves for later steps, so that `buildrole exec`
// finds the run and obtains the build role's credentials itself. None is
// a secret: each names something, none grants anything.
const (
	EnvRoleARN         = "BUILDROLE_ROLE_ARN"
	EnvTrust           = "BUILDROLE_TRUST"
	EnvAudience        = "BUILDROLE_AUDIENCE"
	EnvSessionName     = "BUILDROLE_ROLE_SESSION_NAME"
	EnvDurationSeconds = "BUILDROLE_DURATION_SECONDS"
	EnvCreatedAt       = "BUILDROLE_CREATED_AT"
	EnvProfile         = "BUILDROLE_INSTANCE_PROFILE"
	EnvExportedKeyID   = "BUILDROLE_EXPORTED_KEY_ID"
)

// HandoverEnv lists the variables of a Handover.
func HandoverEnv() []string {
	return []string{EnvRoleARN, EnvTrust, EnvAudience, EnvSessionName, EnvDurationSeconds, EnvCreatedAt, EnvProfile, EnvExportedKeyID}
}

// Handover is how a later step assumes the run's build role.
type Handover struct {
	RoleARN string
	Trust   TrustMode
	// Audience of the OIDC token the trust admits (web identity only).
	Audience        string
	SessionName     string
	DurationSeconds int
	// CreatedAt is when the role was created: propagation is waited for
	// from then.
	CreatedAt time.Time
	// InstanceProfile is the run's profile, if any: Packer reads it
	// before launching, so the first session waits until IAM shows it.
	InstanceProfile string
	// ExportedKeyID is the key id of the build-role keys up exported, if
	// any: the runner's own identity is further down the credential
	// chain, never these (as for teardown).
	ExportedKeyID string
}

// Env renders h as environment variables.
func (h Handover) Env() map[string]string {
	env := map[string]string{
		EnvRoleARN:         h.RoleARN,
		EnvTrust:           string(h.Trust),
		EnvSessionName:     h.SessionName,
		EnvDurationSeconds: strconv.Itoa(h.DurationSeconds),
		EnvCreatedAt:       h.CreatedAt.UTC().Format(time.RFC3339Nano),
	}
	if h.Trust == TrustWebIdentity {
		env[EnvAudience] = h.Audience
	}
	if h.InstanceProfile != "" {
		env[EnvProfile] = h.InstanceProfile
	}
	if h.ExportedKeyID != "" {
		env[EnvExportedKeyID] = h.ExportedKeyID
	}
	return env
}

// HandoverFromEnv reads a Handover; found is false when the environment
// names no run at all. A partial or malformed one is an error: the job's
// environment was edited, and guessing would assume the wrong role.
func HandoverFromEnv(getenv func(string) string) (h Handover, found bool, err error) {
	named := false
	for _, k := range HandoverEnv() {
		named = named || getenv(k) != ""
	}
	if !named {
		return Handover{}, false, nil
	}
	var errs []error
	bad := func(k, f string, a ...any) { errs = append(errs, fmt.Errorf("%s: "+f, append([]any{k}, a...)...)) }
	h.RoleARN = getenv(EnvRoleARN)
	if _, ok := awsfacts.ParseRoleARN(h.RoleARN); !ok {
		bad(EnvRoleARN, "%q is not an IAM role ARN", truncate(h.RoleARN))
	}
	switch h.Trust = TrustMode(getenv(EnvTrust)); h.Trust {
	case TrustWebIdentity:
		if h.Audience = getenv(EnvAudience); h.Audience == "" || len(h.Audience) > 256 || strings.ContainsAny(h.Audience, " \t\r\n") {
			bad(EnvAudience, "%q is not an OIDC audience", truncate(h.Audience))
		}
	case TrustChain:
	default:
		bad(EnvTrust, "%q is neither %s nor %s", truncate(string(h.Trust)), TrustWebIdentity, TrustChain)
	}
	if h.SessionName = getenv(EnvSessionName); !awsfacts.IsSessionName(h.SessionName) {
		bad(EnvSessionName, "%q is not an STS session name", truncate(h.SessionName))
	}
	n, err := strconv.Atoi(getenv(EnvDurationSeconds))
	if h.DurationSeconds = n; err != nil || n < 900 || n > 43200 {
		bad(EnvDurationSeconds, "%q is not 900 to 43200 seconds", truncate(getenv(EnvDurationSeconds)))
	}
	if h.CreatedAt, err = time.Parse(time.RFC3339Nano, getenv(EnvCreatedAt)); err != nil {
		bad(EnvCreatedAt, "%q is not an RFC 3339 time", truncate(getenv(EnvCreatedAt)))
	}
	if h.InstanceProfile = getenv(EnvProfile); h.InstanceProfile != "" && !awsfacts.IsRoleName(h.InstanceProfile) {
		bad(EnvProfile, "%q is not an instance profile name buildrole makes", truncate(h.InstanceProfile))
	}
	if h.ExportedKeyID = getenv(EnvExportedKeyID); h.ExportedKeyID != "" && !keyIDRE.MatchString(h.ExportedKeyID) {
		bad(EnvExportedKeyID, "%q is not an access key id", truncate(h.ExportedKeyID))
	}
	if err := errors.Join(errs...); err != nil {
		return Handover{}, true, fmt.Errorf("the job's environment names a buildrole run, but not fully: %w", err)
	}
	return h, true, nil
}
