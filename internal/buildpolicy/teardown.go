package buildpolicy

import (
	"fmt"
	"slices"

	"github.com/buildrole/buildrole/internal/iampolicy"
	"github.com/buildrole/buildrole/internal/packertemplate"
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

// LeftoverWarnings name the sources whose instance or volumes would not
// carry the run's tags (run_tags, run_volume_tags without
// var.buildrole_run_tags): if the build is killed, teardown cannot tell
// them from anyone else's and leaves them running.
func LeftoverWarnings(t *packertemplate.Template) []string {
	var out []string
	for _, s := range t.Sources {
		if !slices.Contains(instanceBuilders, s.Type) {
			continue
		}
		options := []string{"run_tags", "run_volume_tags"}
		if s.Type == "amazon-ebsvolume" && s.Has("ebs_volumes") {
			options = options[:1] // the run's tags may not go to ebs_volumes (checkRunVolumeTags)
		}
		for _, option := range options {
			pos, missing := runTagsMissing(s, option)
			if !missing {
				continue
			}
			out = append(out, fmt.Sprintf("%s: %s.%s: %s does not pass var.buildrole_run_tags: if the build is killed, teardown cannot find its %s and they stay (running, billed); set `%s = var.buildrole_run_tags` (or merge() your tags with it) and declare `variable \"buildrole_run_tags\" { type = map(string) }`",
				pos, s.Type, s.Name, option, map[string]string{"run_tags": "instance, security group and key pair", "run_volume_tags": "volumes"}[option], option))
		}
	}
	return out
}
