package stsauth

import (
	"encoding/base64"
	"testing"
	"time"
)

func jwt(payload string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(payload)) + ".sig"
}

func TestDecodeClaims(t *testing.T) {
	t.Parallel()
	c, err := DecodeClaims(jwt(`{"sub":"repo:a/b:pull_request","aud":"sts.amazonaws.com","iss":"https://token.actions.githubusercontent.com"}`))
	if err != nil || c.Subject != "repo:a/b:pull_request" || len(c.Audience) != 1 || c.Audience[0] != "sts.amazonaws.com" {
		t.Errorf("claims = %+v, %v", c, err)
	}
	c, err = DecodeClaims(jwt(`{"sub":"x","aud":["a","b"]}`))
	if err != nil || len(c.Audience) != 2 {
		t.Errorf("list aud: %+v, %v", c, err)
	}
	for _, bad := range []string{"", "a.b", "a.!!!.c", jwt(`not json`)} {
		if _, err := DecodeClaims(bad); err == nil {
			t.Errorf("DecodeClaims(%q) accepted", bad)
		}
	}
}

// Backoff stays within [0, min(base·2^attempt, max)]: full jitter, bounded.
func TestBackoffBounds(t *testing.T) {
	t.Parallel()
	b := backoff{base: 10 * time.Millisecond, max: 80 * time.Millisecond}
	for attempt := 0; attempt < 40; attempt++ {
		limit := min(10*time.Millisecond<<min(attempt, 20), 80*time.Millisecond)
		for i := 0; i < 50; i++ {
			d, err := b.BackoffDelay(attempt, nil)
			if err != nil || d < 0 || d > limit {
				t.Fatalf("attempt %d: delay %s outside [0, %s]", attempt, d, limit)
			}
		}
	}
	if d, _ := (backoff{}).BackoffDelay(30, nil); d > 20*time.Second {
		t.Errorf("default max exceeded: %s", d)
	}
}

func TestRetryerAttempts(t *testing.T) {
	t.Parallel()
	if got := NewRetryer(Options{RetryMaxAttempts: 3}).MaxAttempts(); got != 3 {
		t.Errorf("MaxAttempts = %d, want 3", got)
	}
	if got := NewRetryer(Options{}).MaxAttempts(); got != 8 {
		t.Errorf("default MaxAttempts = %d, want 8", got)
	}
	if got := NewRetryer(Options{RetryMaxAttempts: 5, Adaptive: true}).MaxAttempts(); got != 5 {
		t.Errorf("adaptive MaxAttempts = %d, want 5", got)
	}
}
