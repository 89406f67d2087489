package run

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func validState() map[string]string {
	return map[string]string{
		KeyRunID: "3f9c2a1b-0000-4000-8000-000000000000", KeyRegion: "us-east-1", KeyRegions: "us-east-1,eu-west-1", KeyPath: "/buildrole/",
		KeyRole: "buildrole-r1-3f9c2a1b", KeyBuildPolicy: BuildPolicyName,
		KeyInstanceRole: "buildrole-r1-3f9c2a1b-vm", KeyInstanceProfile: "buildrole-r1-3f9c2a1b-vm", KeyProfileRole: "buildrole-r1-3f9c2a1b-vm",
		KeyPending: "instance-profile/buildrole-r1-3f9c2a1b-vm,role/buildrole-r1-3f9c2a1b,role/buildrole-r1-3f9c2a1b-vm", KeyPendingSince: "2026-12-07T01:02:03Z",
		KeyRoleToAssume: "arn:aws:iam::123456789012:role/buildrole-bootstrap", KeyAudience: "sts.amazonaws.com", KeyExportedKeyID: "ASIAEXAMPLE000000001",
	}
}

// Pending entries take their kind from the run's resource of that name.
func TestStatePendingIsTyped(t *testing.T) {
	t.Parallel()
	s, err := StateFromMap(validState())
	if err != nil {
		t.Fatal(err)
	}
	want := []Resource{
		{KindInstanceProfile, "buildrole-r1-3f9c2a1b-vm"},
		{KindRole, "buildrole-r1-3f9c2a1b"},
		{KindInstanceRole, "buildrole-r1-3f9c2a1b-vm"},
	}
	if !slices.Equal(s.Pending, want) || !s.PendingSince.Equal(time.Date(2026, 12, 7, 1, 2, 3, 0, time.UTC)) {
		t.Errorf("pending %v since %v", s.Pending, s.PendingSince)
	}
	if !s.IsPending(Resource{KindInstanceRole, "buildrole-r1-3f9c2a1b-vm"}) || s.IsPending(Resource{KindRole, "buildrole-r1-3f9c2a1b-vm"}) {
		t.Error("IsPending does not tell the instance role from a role of the same name")
	}
	if !slices.Equal(s.BuildRegions(), []string{"us-east-1", "eu-west-1"}) || s.Map()[KeyRegions] != "us-east-1,eu-west-1" {
		t.Errorf("regions %v, saved %q", s.Regions, s.Map()[KeyRegions])
	}
	// A state saved before regions were kept: the run's region.
	old := validState()
	delete(old, KeyRegions)
	if s2, err := StateFromMap(old); err != nil || !slices.Equal(s2.BuildRegions(), []string{"us-east-1"}) {
		t.Errorf("without regions: %v, %v", s2.BuildRegions(), err)
	}
	if s.RoleToAssume == "" || s.ExportedKeyID == "" {
		t.Errorf("auth keys not read: %+v", s)
	}
	// Empty entries, as a hand-edited list may have, are skipped.
	m := validState()
	m[KeyPending] += ","
	if s2, err := StateFromMap(m); err != nil || len(s2.Pending) != 3 {
		t.Errorf("trailing comma: %v, %v", s2.Pending, err)
	}
}

// What up confirmed reads back typed, and survives a round trip; a state
// without the key (an older up's) confirms nothing.
func TestStateConfirmed(t *testing.T) {
	t.Parallel()
	m := validState()
	m[KeyConfirmed] = "role/buildrole-r1-3f9c2a1b-vm,instance-profile/buildrole-r1-3f9c2a1b-vm,role/buildrole-r1-3f9c2a1b-vm"
	s, err := StateFromMap(m)
	if err != nil {
		t.Fatal(err)
	}
	want := []Resource{{KindInstanceRole, "buildrole-r1-3f9c2a1b-vm"}, {KindInstanceProfile, "buildrole-r1-3f9c2a1b-vm"}}
	if !slices.Equal(s.Confirmed, want) || s.IsConfirmed(Resource{KindRole, "buildrole-r1-3f9c2a1b"}) {
		t.Errorf("confirmed %v", s.Confirmed)
	}
	if back := s.Map()[KeyConfirmed]; back != "role/buildrole-r1-3f9c2a1b-vm,instance-profile/buildrole-r1-3f9c2a1b-vm" {
		t.Errorf("saved as %q", back)
	}
	old, err := StateFromMap(validState())
	if err != nil || len(old.Confirmed) != 0 || old.Map()[KeyConfirmed] != "" {
		t.Errorf("a state without %s: %v, %v", KeyConfirmed, old.Confirmed, err)
	}
}

// A state is validated like input: each bad value named by its key.
func TestStateRefusesWhatUpNeverWrites(t *testing.T) {
	t.Parallel()
	with := func(k, v string) map[string]string {
		m := validState()
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	cases := map[string]struct {
		m    map[string]string
		want string
	}{
		"unknown key":        {with("role-arn", "x"), `unknown key "role-arn"`},
		"not a uuid":         {with(KeyRunID, "1234"), KeyRunID + ":"},
		"bad region":         {with(KeyRegion, "us-est"), KeyRegion + ":"},
		"bad path":           {with(KeyPath, "buildrole"), KeyPath + ":"},
		"bad regions":        {with(KeyRegions, "us-east-1,mars-1"), KeyRegions + `: "mars-1"`},
		"repeated region":    {with(KeyRegions, "us-east-1,us-east-1"), KeyRegions + `: "us-east-1" is listed twice`},
		"empty region":       {with(KeyRegions, "us-east-1,"), KeyRegions + `: "" is not`},
		"too many regions":   {with(KeyRegions, strings.Repeat("us-east-1,", MaxRegions)+"us-east-1"), "more than"},
		"foreign role":       {with(KeyRole, "Admin"), "does not end in -3f9c2a1b"},
		"foreign instance":   {with(KeyInstanceRole, "Admin-vm"), KeyInstanceRole + ":"},
		"foreign profile":    {with(KeyInstanceProfile, "Admin"), KeyInstanceProfile + ":"},
		"pending foreign":    {with(KeyPending, "role/Admin"), KeyPending + ":"},
		"pending bad type":   {with(KeyPending, "user/buildrole-r1-3f9c2a1b"), KeyPending + ":"},
		"pending no since":   {with(KeyPendingSince, ""), KeyPendingSince + ":"},
		"confirmed foreign":  {with(KeyConfirmed, "role/Admin"), KeyConfirmed + ":"},
		"confirmed bad type": {with(KeyConfirmed, "instance-profile/buildrole-r1-3f9c2a1b"), KeyConfirmed + ":"},
		"bad key id":         {with(KeyExportedKeyID, "not a key"), KeyExportedKeyID + ":"},
		"two lines":          {with(KeyAudience, "a\nb"), "not one line"},
		"long value":         {with(KeyAudience, strings.Repeat("a", MaxStateValue+1)), "more than"},
		"other inline name":  {with(KeyBuildPolicy, "admin"), KeyBuildPolicy + ":"},
		"instance no role":   {with(KeyInstanceRole, ""), KeyInstancePolicy + ":"},
		"missing build role": {with(KeyRole, ""), KeyRole + ": missing"},
	}
	cases["instance no role"].m[KeyInstancePolicy] = InstancePolicyName
	for name, c := range cases {
		if _, err := StateFromMap(c.m); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one naming %q", name, err, c.want)
		}
	}
}
