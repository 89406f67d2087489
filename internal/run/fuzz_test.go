package run

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzStateFromMap: whatever a state file holds, reading it gives a valid
// state or an error, never a panic; a state that reads back is one Validate
// accepts and that survives a round trip.
func FuzzStateFromMap(f *testing.F) {
	f.Add([]byte(`{"run-id":"3f9c2a1b-0000-4000-8000-000000000000","region":"us-east-1","path":"/buildrole/","role-name":"buildrole-r1-3f9c2a1b","build-policy":"buildrole-packer","instance-role-name":"buildrole-r1-3f9c2a1b-vm","instance-profile-name":"buildrole-r1-3f9c2a1b-vm","profile-role":"buildrole-r1-3f9c2a1b-vm"}`))
	f.Add([]byte(`{"run-id":"3f9c2a1b-0000-4000-8000-000000000000","region":"us-east-1","path":"/","role-name":"x-3f9c2a1b","pending":"role/x-3f9c2a1b","pending-since":"2026-12-01T00:00:00Z"}`))
	f.Add([]byte(`{"run-id":"3f9c2a1b-0000-4000-8000-000000000000","region":"us-east-1","path":"/","role-name":"x-3f9c2a1b","instance-role-name":"x-3f9c2a1b-vm","instance-profile-name":"x-3f9c2a1b-vm","pending":"role/x-3f9c2a1b","pending-since":"2026-12-01T00:00:00Z","confirmed":"role/x-3f9c2a1b,instance-profile/x-3f9c2a1b-vm,role/x-3f9c2a1b-vm"}`))
	f.Add([]byte(`{"role-name":"Admin"}`))
	f.Add([]byte(`{"run-id":"3f9c2a1b-0000-4000-8000-000000000000","region":"us-east-1","path":"/","role-name":"x-3f9c2a1b","pending":"role/x-3f9c2a1b,","pending-since":"2026-12-01T00:00:00.5+02:00"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var m map[string]string
		if json.Unmarshal(data, &m) != nil {
			return
		}
		s, err := StateFromMap(m)
		if err != nil {
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("StateFromMap accepted a state Validate refuses: %v", err)
		}
		back, err := StateFromMap(s.Map())
		if err != nil || !reflect.DeepEqual(back, s) {
			t.Fatalf("round trip: %+v -> %+v, %v", s, back, err)
		}
	})
}
