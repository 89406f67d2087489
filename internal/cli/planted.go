package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/buildrole/buildrole/internal/provision"
)

// plantedLook is up's look, beside its creates, for roles under the path
// whose trust buildrole never writes: a job holding the bootstrap role may
// have planted them. It never delays up, and a failure only warns.
type plantedLook struct {
	done   chan struct{}
	found  []provision.Suspect
	err    error
	cancel context.CancelFunc
}

func startLook(ctx context.Context, api provision.RolesAPI, path, prefix string, g provision.Genuine) *plantedLook {
	ctx, cancel := context.WithCancel(ctx)
	l := &plantedLook{done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(l.done)
		l.found, l.err = provision.Suspects(ctx, api, path, prefix, g)
	}()
	return l
}

// report warns about what the look found, if it has finished, and returns
// the step summary's part.
func (l *plantedLook) report(rio runIO, path string) string {
	select {
	case <-l.done:
	default:
		l.cancel()
		rio.printf("the look for roles under %s that buildrole did not write had not finished; skipped (sweep checks them all)", path)
		return ""
	}
	if l.err != nil {
		// What was found without the failed part still counts.
		rio.warnf("the look for roles under %s that buildrole did not write: %s", path, l.err)
	}
	if len(l.found) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("\n**Roles under `" + path + "` that buildrole did not write**: `buildrole sweep` deletes them if they carry buildrole:managed=true (a job holding the bootstrap role can plant such a role); otherwise remove them by hand. See docs/ADMIN.md.\n\n")
	for _, s := range l.found {
		rio.warnf("role %s has a trust policy buildrole never writes: %s. A job holding the bootstrap role may have planted it: `buildrole sweep` deletes it if it carries buildrole:managed=true, otherwise remove it (docs/ADMIN.md, section 4)", s.Name, s.Why)
		fmt.Fprintf(&b, "- `%s`: %s\n", s.Name, s.Why)
	}
	return b.String()
}
