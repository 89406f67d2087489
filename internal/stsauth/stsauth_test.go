package stsauth

import (
	"context"
	"encoding/base64"
	"fmt"
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
	for _, c := range []struct {
		o    Options
		want int
	}{
		{Options{RetryMaxAttempts: 3}, CreateThrottleAttempts},
		{Options{}, CreateThrottleAttempts},
		{Options{RetryMaxAttempts: 5, Adaptive: true, ThrottleAttempts: TeardownThrottleAttempts}, TeardownThrottleAttempts},
		{Options{RetryMaxAttempts: 20, ThrottleAttempts: 4}, 20},
	} {
		if got := NewRetryer(c.o).MaxAttempts(); got != c.want {
			t.Errorf("%+v: MaxAttempts = %d, want %d", c.o, got, c.want)
		}
	}
}

// One token per audience is reused until TokenMargin before its exp; a
// token whose exp cannot be read is never reused.
func TestReuseTokens(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	fetched := map[string]int{}
	src := func(_ context.Context, aud string) (string, error) {
		fetched[aud]++
		if aud == "opaque" {
			return "not-a-jwt", nil
		}
		return jwt(fmt.Sprintf(`{"aud":%q,"exp":%d,"n":%d}`, aud, now.Add(5*time.Minute).Unix(), fetched[aud])), nil
	}
	tokens := reuseTokens(src, func() time.Time { return now })
	get := func(aud string) string {
		tok, err := tokens(context.Background(), aud)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	first := get("sts.amazonaws.com")
	now = now.Add(3 * time.Minute)
	if get("sts.amazonaws.com") != first || fetched["sts.amazonaws.com"] != 1 {
		t.Errorf("token fetched again %d times while valid for 2 more minutes", fetched["sts.amazonaws.com"]-1)
	}
	get("other")
	if fetched["other"] != 1 {
		t.Errorf("another audience shares the token")
	}
	now = now.Add(time.Minute + time.Second) // 59 s before exp
	if get("sts.amazonaws.com") == first || fetched["sts.amazonaws.com"] != 2 {
		t.Errorf("a token within %s of its exp was reused", TokenMargin)
	}
	get("opaque")
	get("opaque")
	if fetched["opaque"] != 2 {
		t.Errorf("a token without exp was reused")
	}
}
