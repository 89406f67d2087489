package leftovers

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/buildrole/buildrole/internal/run"
)

// Run is one run with leftovers in a region, found by buildrole's tags:
// the tags its resources carry (buildrole's keys) and when the first of
// them was made (zero if EC2 does not say). When one of its instances runs
// with a run profile under the path, those come from its instances alone:
// a build role may write any run's id and a past expiry on others'
// resources, which must not make a live run look expired.
type Run struct {
	RunID   string
	Tags    map[string]string
	Created time.Time
	proved  bool
}

// Runs lists the runs that have something to clean in a region: a live
// instance, a security group, a key pair or a volume tagged
// buildrole:managed=true with a run id. Sweep judges each by its filter.
func Runs(ctx context.Context, api API, region, path string) ([]Run, error) {
	managed := []types.Filter{{Name: aws.String("tag:" + run.TagManaged), Values: []string{run.TagManagedValue}}}
	runs := map[string]*Run{}
	note := func(tags []types.Tag, created *time.Time, profile *types.IamInstanceProfile) {
		m := map[string]string{}
		for _, t := range tags {
			m[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
		id := m[run.TagRunID]
		if m[run.TagManaged] != run.TagManagedValue || !run.IsRunID(id) {
			return
		}
		proved := profile != nil && namesRun(aws.ToString(profile.Arn), path, id)
		r := runs[id]
		switch {
		case r == nil || proved && !r.proved:
			r = &Run{RunID: id, Tags: m, proved: proved}
			runs[id] = r
		case r.proved && !proved:
			return
		}
		if created != nil && (r.Created.IsZero() || created.Before(r.Created)) {
			r.Created = *created
		}
	}
	ip := ec2.NewDescribeInstancesPaginator(api, &ec2.DescribeInstancesInput{Filters: managed})
	for ip.HasMorePages() {
		out, err := ip.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list buildrole's instances in %s: %w", region, err)
		}
		for _, r := range out.Reservations {
			for _, in := range r.Instances {
				if in.State == nil || in.State.Name != types.InstanceStateNameTerminated {
					note(in.Tags, in.LaunchTime, in.IamInstanceProfile)
				}
			}
		}
	}
	gp := ec2.NewDescribeSecurityGroupsPaginator(api, &ec2.DescribeSecurityGroupsInput{Filters: managed})
	for gp.HasMorePages() {
		out, err := gp.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list buildrole's security groups in %s: %w", region, err)
		}
		for _, g := range out.SecurityGroups {
			note(g.Tags, nil, nil)
		}
	}
	kp, err := api.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{Filters: managed})
	if err != nil {
		return nil, fmt.Errorf("list buildrole's key pairs in %s: %w", region, err)
	}
	for _, k := range kp.KeyPairs {
		note(k.Tags, k.CreateTime, nil)
	}
	vp := ec2.NewDescribeVolumesPaginator(api, &ec2.DescribeVolumesInput{Filters: managed})
	for vp.HasMorePages() {
		out, err := vp.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list buildrole's volumes in %s: %w", region, err)
		}
		for _, v := range out.Volumes {
			note(v.Tags, v.CreateTime, nil)
		}
	}
	out := make([]Run, 0, len(runs))
	for _, r := range runs {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b Run) int { return a.Created.Compare(b.Created) })
	return out, nil
}
