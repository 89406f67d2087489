package provision

import (
	"encoding/json"
	"fmt"
	"sort"
)

// State names what one run created or meant to create. It is saved before
// the first create so that a teardown after a crash knows what to delete.
// It holds no secrets.
type State struct {
	RunID           string `json:"run-id"`
	Region          string `json:"region"`
	Path            string `json:"path,omitempty"`
	Role            string `json:"role-name,omitempty"`
	BuildPolicy     string `json:"build-policy,omitempty"`
	InstanceRole    string `json:"instance-role-name,omitempty"`
	InstancePolicy  string `json:"instance-policy,omitempty"`
	InstanceProfile string `json:"instance-profile-name,omitempty"`
	ProfileRole     string `json:"profile-role,omitempty"`
}

// Empty reports whether there is nothing to delete.
func (s State) Empty() bool {
	return s.Role == "" && s.InstanceRole == "" && s.InstanceProfile == ""
}

// Map flattens the state into key/value pairs (GITHUB_STATE entries).
func (s State) Map() map[string]string {
	b, _ := json.Marshal(s)
	var m map[string]string
	_ = json.Unmarshal(b, &m)
	return m
}

// Keys are the state keys in a stable order.
func (s State) Keys() []string {
	m := s.Map()
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// StateFromMap reads a state back; unknown keys are ignored.
func StateFromMap(m map[string]string) (State, error) {
	var s State
	b, err := json.Marshal(m)
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("read state: %w", err)
	}
	return s, nil
}

// StateKeys are every key a State may hold, for reading STATE_* variables.
var StateKeys = []string{"run-id", "region", "path", "role-name", "build-policy", "instance-role-name", "instance-policy", "instance-profile-name", "profile-role"}
