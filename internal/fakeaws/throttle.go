package fakeaws

import (
	"fmt"
	"time"

	"golang.org/x/time/rate"
)

// SetThrottle makes service ("iam" or "sts") admit perSecond calls a second
// for the account, in bursts of at most burst (0: one second's worth); the
// excess is answered as AWS throttles, with code Throttling, HTTP 400 and
// "Rate exceeded" in the service's ErrorResponse. A refused call spends no
// capacity. perSecond 0 lifts the throttle. Real time, whatever Now says.
func (s *Server) SetThrottle(service string, perSecond float64, burst int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.throttles == nil {
		s.throttles = map[string]*rate.Limiter{}
	}
	if perSecond <= 0 {
		delete(s.throttles, service)
		return
	}
	if burst <= 0 {
		burst = max(1, int(perSecond))
	}
	s.throttles[service] = rate.NewLimiter(rate.Limit(perSecond), burst)
}

// throttled reports whether a call of service arriving now exceeds the
// capacity SetThrottle gave it.
func (s *Server) throttled(service string, now time.Time) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.throttles[service]
	if b == nil || b.AllowN(now, 1) {
		return nil
	}
	return newErr("Throttling", "Rate exceeded")
}

// Quota names in IAM's LimitExceeded messages.
const (
	quotaRoles    = "RolesPerAccount"
	quotaProfiles = "InstanceProfilesPerAccount"
)

// SetAccountQuotas sets how many roles and instance profiles the account
// may hold (IAM's defaults are 1,000 each; 0, the fake's default: no
// bound, for tests at scale); a create beyond it is refused with
// LimitExceeded, as IAM refuses it.
func (s *Server) SetAccountQuotas(roles, profiles int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.roleQuota, s.profileQuota = roles, profiles
}

// quotaError is IAM's refusal of a create that would pass quota, with n
// held now; called with s.mu held.
func quotaError(quota string, limit, n int) *apiError {
	if limit <= 0 || n < limit {
		return nil
	}
	return newErr("LimitExceeded", "%s", fmt.Sprintf("Cannot exceed quota for %s: %d", quota, limit))
}
