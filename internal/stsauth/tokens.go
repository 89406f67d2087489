package stsauth

import (
	"context"
	"sync"
	"time"
)

// TokenMargin is how long before its exp claim a reused OIDC token is
// replaced: enough for clock skew and one slow STS call. GitHub's tokens
// live 5 minutes, so one serves a whole `up`.
const TokenMargin = time.Minute

// ReuseTokens returns a TokenSource that fetches one token per audience
// from src and hands it out again until TokenMargin before it expires:
// a fetch is a round trip to the runner's token service, and STS accepts
// the same token any number of times while it is valid.
func ReuseTokens(src TokenSource) TokenSource {
	// The wall clock, not Options.Now: a token's exp is the issuer's wall
	// time.
	return reuseTokens(src, time.Now)
}

func reuseTokens(src TokenSource, now func() time.Time) TokenSource {
	if src == nil {
		return nil
	}
	type cachedToken struct {
		token string
		until time.Time
	}
	var mu sync.Mutex
	cached := map[string]cachedToken{}
	return func(ctx context.Context, aud string) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if c, ok := cached[aud]; ok && now().Before(c.until) {
			return c.token, nil
		}
		tok, err := src(ctx, aud)
		if err != nil {
			return "", err
		}
		// A token without a readable exp is used once: STS will judge it.
		if claims, err := DecodeClaims(tok); err == nil && claims.Expiry > 0 {
			cached[aud] = cachedToken{tok, time.Unix(claims.Expiry, 0).Add(-TokenMargin)}
		}
		return tok, nil
	}
}
