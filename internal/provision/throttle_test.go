package provision_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/retry"

	"github.com/buildrole/buildrole/internal/fakeaws"
	"github.com/buildrole/buildrole/internal/provision"
)

// A create IAM throttled on every attempt was never made: Up rolls back
// what else it made and says so, with no "may still appear" (which would
// keep the state and exit 3). A create with one attempt that may have
// applied (a 500) before the throttling is still taken as unknown.
func TestCreateThrottledEveryAttemptWasNotMade(t *testing.T) {
	t.Parallel()
	for _, action := range []string{"CreateRole", "CreateInstanceProfile", "PutRolePolicy", "AddRoleToInstanceProfile"} {
		t.Run(action, func(t *testing.T) {
			t.Parallel()
			s := fakeaws.NewServer()
			defer s.Close()
			s.InjectFault(fakeaws.Fault{Action: action, Code: "Throttling"})
			_, err := provision.Up(context.Background(), client(s, 3), plan(t, "separate"), provision.Options{})
			var me *retry.MaxAttemptsError
			if !errors.As(err, &me) || !strings.Contains(err.Error(), "IAM throttled every attempt, so it was not made") {
				t.Fatalf("err = %v, want the throttling named", err)
			}
			var unknown *provision.UnknownOutcomeError
			var rb *provision.RollbackError
			if errors.As(err, &unknown) || errors.As(err, &rb) {
				t.Fatalf("err = %v; nothing may still appear and the rollback is complete", err)
			}
			if left := leftovers(s); len(left) != 0 {
				t.Fatalf("left %v", left)
			}
		})
	}
	t.Run("applied once", func(t *testing.T) {
		t.Parallel()
		s := fakeaws.NewServer()
		defer s.Close()
		s.InjectFault(fakeaws.Fault{Action: "CreateRole", Nth: 1, Code: "ServiceFailure", AfterApply: true})
		s.InjectFault(fakeaws.Fault{Action: "CreateRole", Nth: 2, Times: 100, Code: "Throttling"})
		// One role: the faults count its attempts only.
		_, err := provision.Up(context.Background(), client(s, 3), plan(t, "none"), provision.Options{})
		if err == nil || strings.Contains(err.Error(), "so it was not made") {
			t.Fatalf("err = %v; the first attempt may have made the role", err)
		}
		if left := leftovers(s); len(left) != 0 {
			t.Fatalf("the role the first attempt made was left: %v", left)
		}
	})
}
