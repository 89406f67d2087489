package leftovers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/buildrole/buildrole/internal/awsfacts"
	"github.com/buildrole/buildrole/internal/run"
)

// ours: the resource carries the run's id and buildrole's managed tag, as
// run_tags from var.buildrole_run_tags give it.
func (c *cleaner) ours(tags []types.Tag) bool {
	return tagValue(tags, run.TagRunID) == c.o.RunID && tagValue(tags, run.TagManaged) == run.TagManagedValue
}

func stopping(s *types.InstanceState) bool {
	return s != nil && (s.Name == types.InstanceStateNameShuttingDown || s.Name == types.InstanceStateNameTerminated)
}

// instances terminates the run's instances that are not terminating yet,
// and notes the groups and key pairs every run instance names.
func (c *cleaner) instances(ctx context.Context) error {
	var live []types.Instance
	p := ec2.NewDescribeInstancesPaginator(c.api, &ec2.DescribeInstancesInput{Filters: c.runFilter()})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list run %s's instances in %s: %w", c.o.RunID, c.region, err)
		}
		for _, r := range out.Reservations {
			for _, in := range r.Instances {
				if !c.ours(in.Tags) {
					continue // the filter selects; the tags are checked
				}
				if !c.runInstance(in) {
					if !stopping(in.State) {
						c.unproved(Outcome{Kind: KindInstance, ID: aws.ToString(in.InstanceId), Name: tagValue(in.Tags, "Name")},
							"tagged as the run's, but its instance profile is not one of the run's")
					}
					continue
				}
				c.follow(in)
				if !stopping(in.State) {
					live = append(live, in)
				}
			}
		}
	}
	for _, in := range live {
		id := aws.ToString(in.InstanceId)
		c.terminate(ctx, Outcome{Kind: KindInstance, ID: id, Name: tagValue(in.Tags, "Name")})
	}
	return nil
}

// follow notes a run instance and the volumes, groups and key pair it
// names.
func (c *cleaner) follow(in types.Instance) {
	c.own[aws.ToString(in.InstanceId)] = true
	for _, m := range in.BlockDeviceMappings {
		if m.Ebs != nil {
			c.vols[aws.ToString(m.Ebs.VolumeId)] = true
		}
	}
	for _, g := range in.SecurityGroups {
		c.groups[aws.ToString(g.GroupId)] = true
	}
	if k := aws.ToString(in.KeyName); k != "" {
		launched := aws.ToTime(in.LaunchTime)
		if t, seen := c.keys[k]; !seen || launched.Before(t) {
			c.keys[k] = launched
		}
	}
}

// terminate asks EC2 to terminate one instance and waits, within the
// deadline, until it is shutting down: only then is it removed.
func (c *cleaner) terminate(ctx context.Context, o Outcome) {
	requested := false
	c.remove(ctx, o, func(ctx context.Context) error {
		if !requested {
			out, err := c.api.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{o.ID}})
			if err != nil {
				return err
			}
			requested = true
			if len(out.TerminatingInstances) == 1 && stopping(out.TerminatingInstances[0].CurrentState) {
				return nil
			}
		}
		out, err := c.api.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{o.ID}})
		if err != nil {
			return err
		}
		for _, r := range out.Reservations {
			for _, in := range r.Instances {
				if stopping(in.State) {
					return nil
				}
			}
		}
		return notYet{"IncorrectState", "termination requested; the instance is not shutting down yet"}
	}, "IncorrectState")
	if last := &c.rep.Outcomes[len(c.rep.Outcomes)-1]; last.Status == StatusLeft && requested {
		// Asked, and EC2 accepted: it may be terminating by now.
		last.Status = StatusUnknown
	}
}

// notYet is a poll's answer that the resource has not reached the state
// waited for; it reads as an EC2 error code to remove.
type notYet struct{ code, msg string }

func (e notYet) Error() string                 { return e.msg }
func (e notYet) ErrorCode() string             { return e.code }
func (e notYet) ErrorMessage() string          { return e.msg }
func (e notYet) ErrorFault() smithy.ErrorFault { return smithy.FaultUnknown }

// securityGroups deletes the run's tagged groups and the Packer temporaries
// its instances name, waiting while a terminating instance holds them.
func (c *cleaner) securityGroups(ctx context.Context) error {
	var found []types.SecurityGroup
	p := ec2.NewDescribeSecurityGroupsPaginator(c.api, &ec2.DescribeSecurityGroupsInput{Filters: c.runFilter()})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list run %s's security groups in %s: %w", c.o.RunID, c.region, err)
		}
		for _, g := range out.SecurityGroups {
			switch {
			case !c.ours(g.Tags):
			case !(c.groups[aws.ToString(g.GroupId)] && packerGroup(g)):
				c.unproved(Outcome{Kind: KindSecurityGroup, ID: aws.ToString(g.GroupId), Name: aws.ToString(g.GroupName)},
					"tagged as the run's, but not Packer's temporary group of a run instance")
			default:
				found = append(found, g)
			}
		}
	}
	var errs []error
	for _, id := range sortedKeys(c.groups) {
		if slices.ContainsFunc(found, func(g types.SecurityGroup) bool { return aws.ToString(g.GroupId) == id }) {
			continue
		}
		out, err := c.api.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}})
		if code, ok := errCode(err); ok && awsfacts.IsEC2NotFound(code) {
			continue
		} else if err != nil {
			errs = append(errs, fmt.Errorf("read security group %s of run %s's instance: %w", id, c.o.RunID, err))
			continue
		}
		for _, g := range out.SecurityGroups {
			// Untagged (an older plugin): Packer's own name and description.
			if tag := tagValue(g.Tags, run.TagRunID); (tag == "" || tag == c.o.RunID) && packerGroup(g) {
				found = append(found, g)
			}
		}
	}
	for _, g := range found {
		id := aws.ToString(g.GroupId)
		c.remove(ctx, Outcome{Kind: KindSecurityGroup, ID: id, Name: aws.ToString(g.GroupName)}, func(ctx context.Context) error {
			_, err := c.api.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(id)})
			return err
		}, awsfacts.EC2DependencyViolation)
	}
	return errors.Join(errs...)
}

// keyPairs deletes the run's tagged key pairs and the Packer temporaries
// its instances name.
func (c *cleaner) keyPairs(ctx context.Context) error {
	out, err := c.api.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{Filters: c.runFilter()})
	if err != nil {
		return fmt.Errorf("list run %s's key pairs in %s: %w", c.o.RunID, c.region, err)
	}
	var found []types.KeyPairInfo
	for _, k := range out.KeyPairs {
		launched, named := c.keys[aws.ToString(k.KeyName)]
		switch {
		case !c.ours(k.Tags):
		case !(named && c.packerKey(k, launched)):
			c.unproved(Outcome{Kind: KindKeyPair, ID: aws.ToString(k.KeyPairId), Name: aws.ToString(k.KeyName)},
				"tagged as the run's, but not Packer's temporary key pair of a run instance")
		default:
			found = append(found, k)
		}
	}
	var errs []error
	for _, name := range sortedKeys(c.keys) {
		if !packerKeyName.MatchString(name) || slices.ContainsFunc(found, func(k types.KeyPairInfo) bool { return aws.ToString(k.KeyName) == name }) {
			continue
		}
		out, err := c.api.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{KeyNames: []string{name}})
		if code, ok := errCode(err); ok && awsfacts.IsEC2NotFound(code) {
			continue
		} else if err != nil {
			errs = append(errs, fmt.Errorf("read key pair %s of run %s's instance: %w", name, c.o.RunID, err))
			continue
		}
		for _, k := range out.KeyPairs {
			if tag := tagValue(k.Tags, run.TagRunID); (tag == "" || tag == c.o.RunID) && c.packerKey(k, c.keys[name]) {
				found = append(found, k)
			}
		}
	}
	for _, k := range found {
		id := aws.ToString(k.KeyPairId)
		c.remove(ctx, Outcome{Kind: KindKeyPair, ID: id, Name: aws.ToString(k.KeyName)}, func(ctx context.Context) error {
			_, err := c.api.DeleteKeyPair(ctx, &ec2.DeleteKeyPairInput{KeyPairId: aws.String(id)})
			return err
		})
	}
	return errors.Join(errs...)
}

// volumes deletes the run's volumes once detached: a volume attached to
// one of the run's terminating instances is waited for (it detaches, or
// EC2 deletes it with the instance); one attached elsewhere is left.
func (c *cleaner) volumes(ctx context.Context) error {
	var found []types.Volume
	p := ec2.NewDescribeVolumesPaginator(c.api, &ec2.DescribeVolumesInput{Filters: c.runFilter()})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list run %s's volumes in %s: %w", c.o.RunID, c.region, err)
		}
		for _, v := range out.Volumes {
			switch {
			case !c.ours(v.Tags) || v.State == types.VolumeStateDeleting || v.State == types.VolumeStateDeleted:
			case !c.heldByOwn(v) && c.foreignAttachment(v) == "":
				c.unproved(Outcome{Kind: KindVolume, ID: aws.ToString(v.VolumeId), Name: tagValue(v.Tags, "Name")},
					"tagged as the run's, but not attached to a run instance")
			default:
				found = append(found, v)
			}
		}
	}
	for _, v := range found {
		o := Outcome{Kind: KindVolume, ID: aws.ToString(v.VolumeId), Name: tagValue(v.Tags, "Name")}
		if other := c.foreignAttachment(v); other != "" {
			o.Status, o.Detail = StatusLeft, "attached to "+other+", which is not this run's instance"
			c.add(o)
			continue
		}
		c.remove(ctx, o, func(ctx context.Context) error {
			if err := c.detached(ctx, o.ID); err != nil {
				return err
			}
			_, err := c.api.DeleteVolume(ctx, &ec2.DeleteVolumeInput{VolumeId: aws.String(o.ID)})
			return err
		}, awsfacts.EC2VolumeInUse, awsfacts.EC2IncorrectState)
	}
	return nil
}

// foreignAttachment names an instance the volume is attached to that is
// not the run's ("" if none).
func (c *cleaner) foreignAttachment(v types.Volume) string {
	for _, a := range v.Attachments {
		if id := aws.ToString(a.InstanceId); id != "" && !c.own[id] {
			return id
		}
	}
	return ""
}

// detached reads the volume again: nil when it is available, VolumeInUse
// while it is attached or detaching, NotFound when EC2 deleted it.
func (c *cleaner) detached(ctx context.Context, id string) error {
	out, err := c.api.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{VolumeIds: []string{id}})
	if err != nil {
		return err
	}
	if len(out.Volumes) == 0 {
		return notYet{"InvalidVolume.NotFound", "deleted by EC2"}
	}
	v := out.Volumes[0]
	switch v.State {
	case types.VolumeStateAvailable:
		return nil
	case types.VolumeStateDeleting, types.VolumeStateDeleted:
		return notYet{"InvalidVolume.NotFound", "deleted by EC2"}
	}
	if other := c.foreignAttachment(v); other != "" {
		return notYet{"Attached", "attached to " + other + ", which is not this run's instance"}
	}
	return notYet{awsfacts.EC2VolumeInUse, fmt.Sprintf("still %s", v.State)}
}

// heldByOwn: the volume is, or was when the run's instances were listed,
// attached to one of them. EC2 forgets the attachment once the instance
// terminates, so a volume found detached later has no proof left.
func (c *cleaner) heldByOwn(v types.Volume) bool {
	return c.vols[aws.ToString(v.VolumeId)] || slices.ContainsFunc(v.Attachments, func(a types.VolumeAttachment) bool { return c.own[aws.ToString(a.InstanceId)] })
}

func packerGroup(g types.SecurityGroup) bool {
	return strings.HasPrefix(aws.ToString(g.GroupName), packerPrefix) && aws.ToString(g.Description) == packerGroupDescrip
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		if k != "" {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}
