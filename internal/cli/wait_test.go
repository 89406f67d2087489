package cli_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/buildrole/buildrole/internal/cli"
	"github.com/buildrole/buildrole/internal/stsauth"
)

// The runner log is not silent while IAM propagates: progress lines come
// inside the Assume group. One OIDC token serves the bootstrap and every
// attempt on the build role.
func TestUpReportsTheWait(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.srv.SetPropagationDelay(1200 * time.Millisecond)
	w.tune = func(o *stsauth.Options) { o.ProgressEvery = 300 * time.Millisecond }
	code, stdout, _ := w.run(context.Background(), "up")
	if code != cli.ExitOK {
		t.Fatalf("up exit %d:\n%s", code, stdout)
	}
	_, group, ok := strings.Cut(stdout, "::group::Assume ")
	group, _, closed := strings.Cut(group, "::endgroup::")
	if !ok || !closed {
		t.Fatalf("no Assume group:\n%s", stdout)
	}
	role := w.file("GITHUB_OUTPUT")["role-arn"]
	profile := w.file("GITHUB_OUTPUT")["instance-profile-name"]
	lines := strings.Count(group, "waiting for IAM to propagate the trust policy of "+role+" and instance profile "+profile)
	if lines < 3 {
		t.Errorf("%d progress lines in the Assume group, want one at the first refusal and one every 300ms:\n%s", lines, group)
	}
	if n := w.srv.TokenRequests(); n != 1 {
		t.Errorf("OIDC token fetched %d times, want once", n)
	}
}
