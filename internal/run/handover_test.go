package run_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/buildrole/buildrole/internal/run"
)

func TestHandoverRoundTrip(t *testing.T) {
	for _, h := range []run.Handover{
		{RoleARN: "arn:aws:iam::123456789012:role/buildrole/b-pr1-1234abcd", Trust: run.TrustWebIdentity, Audience: "sts.amazonaws.com",
			SessionName: "buildrole-1-1", DurationSeconds: 3600, CreatedAt: time.Date(2026, 12, 7, 1, 2, 3, 500, time.UTC), InstanceProfile: "b-pr1-1234abcd-vm"},
		{RoleARN: "arn:aws-cn:iam::123456789012:role/b-1234abcd", Trust: run.TrustChain, SessionName: "s1", DurationSeconds: 900, CreatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		env := h.Env()
		got, found, err := run.HandoverFromEnv(func(k string) string { return env[k] })
		if err != nil || !found {
			t.Fatalf("HandoverFromEnv(%v) = %v, %v", env, found, err)
		}
		if d := cmp.Diff(h, got); d != "" {
			t.Errorf("round trip (-want +got):\n%s", d)
		}
	}
}

func TestHandoverFromEnvRefusesParts(t *testing.T) {
	if _, found, err := run.HandoverFromEnv(func(string) string { return "" }); found || err != nil {
		t.Errorf("empty environment: found %v, %v", found, err)
	}
	good := run.Handover{RoleARN: "arn:aws:iam::123456789012:role/x-1234abcd", Trust: run.TrustWebIdentity, Audience: "sts.amazonaws.com",
		SessionName: "s1", DurationSeconds: 3600, CreatedAt: time.Now()}.Env()
	for k, v := range map[string]string{
		run.EnvRoleARN: "arn:aws:iam::123:role/x", run.EnvTrust: "both", run.EnvAudience: "", run.EnvSessionName: "x",
		run.EnvDurationSeconds: "60", run.EnvCreatedAt: "yesterday", run.EnvProfile: "a/b",
	} {
		env := map[string]string{}
		for k2, v2 := range good {
			env[k2] = v2
		}
		env[k] = v
		_, found, err := run.HandoverFromEnv(func(k string) string { return env[k] })
		if !found || err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%q: found %v, err %v; want an error naming %s", k, v, found, err, k)
		}
	}
}
