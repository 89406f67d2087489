package buildpolicy

import (
	"fmt"
	"slices"

	"github.com/buildrole/buildrole/internal/iampolicy"
)

// Statement ids of the grants that let teardown, acting as the build role,
// remove what a killed build left (internal/leftovers).
const (
	SidTeardownRead = "TeardownRead"
	SidTeardown     = "TeardownLeftovers"
)

// teardownReads and teardownRemovals are the calls teardown makes; never
// one on an image or a snapshot.
var (
	teardownReads    = []string{"ec2:DescribeInstances", "ec2:DescribeKeyPairs", "ec2:DescribeSecurityGroups", "ec2:DescribeVolumes"}
	teardownRemovals = []string{"ec2:DeleteKeyPair", "ec2:DeleteSecurityGroup", "ec2:DeleteVolume", "ec2:TerminateInstances"}
	teardownKinds    = []string{"instance", "key-pair", "security-group", "volume"}
)

// TeardownActions are every action teardown's EC2 cleanup calls, for the
// boundary, which must let the build role make them.
func TeardownActions() []string { return slices.Concat(teardownReads, teardownRemovals) }

// TeardownKinds are the EC2 resource types teardown removes.
func TeardownKinds() []string { return slices.Clone(teardownKinds) }

// teardownStatements let the build role find and remove its own run's
// leftovers: reads on "*" (EC2's Describe calls take no resource), the
// removals only on resources tagged with this run's id, both in the build
// regions; guard adds the instance profile binding of Packer's own calls.
func teardownStatements(partition, account, runID string, regionBound, guard func() iampolicy.Condition) []iampolicy.Statement {
	var res iampolicy.Values
	for _, k := range teardownKinds {
		res = append(res, fmt.Sprintf("arn:%s:ec2:*:%s:%s/*", partition, account, k))
	}
	own := guard()
	own[iampolicy.OpStringEquals][KeyResourceTagRunID] = iampolicy.Values{runID}
	return []iampolicy.Statement{
		{Sid: SidTeardownRead, Effect: iampolicy.EffectAllow, Action: slices.Clone(teardownReads), Resource: iampolicy.Values{"*"}, Condition: regionBound()},
		{Sid: SidTeardown, Effect: iampolicy.EffectAllow, Action: slices.Clone(teardownRemovals), Resource: res, Condition: own},
	}
}
