package ec2

import (
	"crypto/rand"
	"encoding/hex"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"
)

// Tags are a resource's tags, key → value.
type Tags map[string]string

// Delays are how long EC2's asynchronous changes take.
type Delays struct {
	Pending           time.Duration // pending → running
	Stopping          time.Duration // stopping → stopped
	ShuttingDown      time.Duration // shutting-down → terminated
	TerminatedVisible time.Duration // a terminated instance stays in Describe results
	ImagePending      time.Duration // image pending → available, its snapshots pending → completed
	VolumeDetach      time.Duration // in-use → available after DetachVolume or the instance's termination
}

// DefaultDelays are small but not zero: a client that does not wait for a
// state meets the one before it.
var DefaultDelays = Delays{
	Pending: 200 * time.Millisecond, Stopping: 300 * time.Millisecond, ShuttingDown: time.Second,
	TerminatedVisible: time.Hour, ImagePending: time.Second, VolumeDetach: 300 * time.Millisecond,
}

// Instance is an EC2 instance as tests see it.
type Instance struct {
	ID, Region, AZ, ImageID, InstanceType, KeyName, SubnetID, VpcID string
	State                                                           string // pending, running, stopping, stopped, shutting-down, terminated
	SecurityGroupIDs                                                []string
	InstanceProfileARN                                              string
	Tags                                                            Tags
	LaunchTime                                                      time.Time

	reservation string
	next        string    // the state it moves to at due
	due         time.Time // zero: no change pending
	gone        time.Time // a terminated instance leaves Describe results
}

// SecurityGroup is a VPC security group.
type SecurityGroup struct {
	ID, Region, Name, Description, VpcID string
	Tags                                 Tags
	Ingress                              []Permission
}

// Permission is one ingress rule.
type Permission struct {
	Protocol         string
	FromPort, ToPort int
	CIDRs            []string
}

// KeyPair is an EC2 key pair.
type KeyPair struct {
	ID, Region, Name, Fingerprint string
	Tags                          Tags
	CreateTime                    time.Time // seeded: now unless given
}

// Volume is an EBS volume; InstanceID is set while attached (in-use).
type Volume struct {
	ID, Region, AZ, State, SnapshotID, VolumeType string // State: available, in-use
	SizeGiB                                       int
	InstanceID, Device                            string
	DeleteOnTermination                           bool
	Detaching                                     bool
	Tags                                          Tags

	due time.Time // a detaching volume becomes available
}

// Image is an AMI. Owner is the owning account's id; an image of
// another owner is public.
type Image struct {
	ID, Region, Name, Owner, OwnerAlias, State, Description string // State: pending, available
	Architecture, RootDeviceName                            string
	Devices                                                 []Device
	Tags                                                    Tags
	Created                                                 time.Time

	due time.Time
}

// Device is one block device mapping of an image.
type Device struct {
	Name, SnapshotID    string
	SizeGiB             int
	DeleteOnTermination bool
}

// Snapshot is an EBS snapshot.
type Snapshot struct {
	ID, Region, VolumeID, State, Owner, Description string // State: pending, completed
	SizeGiB                                         int
	Tags                                            Tags

	due time.Time
}

// Cloud is one account's EC2 in every region. Its methods are safe for
// concurrent use.
type Cloud struct {
	account, partition string
	now                func() time.Time

	mu        sync.Mutex
	delays    Delays
	instances map[string]*Instance
	groups    map[string]*SecurityGroup
	keys      map[string]*KeyPair // by id
	volumes   map[string]*Volume
	images    map[string]*Image
	snapshots map[string]*Snapshot
	vpcs      map[string]*vpc // by region
}

// New returns an account's EC2 with no instances; now is its clock.
func New(account, partition string, now func() time.Time) *Cloud {
	return &Cloud{
		account: account, partition: partition, now: now, delays: DefaultDelays,
		instances: map[string]*Instance{}, groups: map[string]*SecurityGroup{}, keys: map[string]*KeyPair{},
		volumes: map[string]*Volume{}, images: map[string]*Image{}, snapshots: map[string]*Snapshot{}, vpcs: map[string]*vpc{},
	}
}

// SetDelays sets the delays of later changes; zero fields keep the
// defaults.
func (c *Cloud) SetDelays(d Delays) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.delays = Delays{
		Pending: or(d.Pending, DefaultDelays.Pending), Stopping: or(d.Stopping, DefaultDelays.Stopping),
		ShuttingDown: or(d.ShuttingDown, DefaultDelays.ShuttingDown), TerminatedVisible: or(d.TerminatedVisible, DefaultDelays.TerminatedVisible),
		ImagePending: or(d.ImagePending, DefaultDelays.ImagePending), VolumeDetach: or(d.VolumeDetach, DefaultDelays.VolumeDetach),
	}
}

func or(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

func newID(prefix string) string {
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)[:17]
}

// refresh applies every change due by now, each at its own time, so a
// change that follows another (a volume detaching after its instance
// terminated) starts when the first happened. c.mu is held.
func (c *Cloud) refresh() {
	now := c.now()
	for changed := true; changed; {
		changed = false
		for _, in := range c.instances {
			if !in.due.IsZero() && !in.due.After(now) {
				c.transition(in)
				changed = true
			}
			if in.State == "terminated" && !in.gone.After(now) {
				delete(c.instances, in.ID)
			}
		}
	}
	for _, v := range c.volumes {
		if v.Detaching && !v.due.After(now) {
			v.Detaching, v.InstanceID, v.Device, v.State, v.due = false, "", "", "available", time.Time{}
		}
	}
	for _, im := range c.images {
		if im.State == "pending" && !im.due.After(now) {
			im.State = "available"
		}
	}
	for _, s := range c.snapshots {
		if s.State == "pending" && !s.due.After(now) {
			s.State = "completed"
		}
	}
}

// transition makes an instance's pending change, at its due time.
func (c *Cloud) transition(in *Instance) {
	at := in.due
	in.State, in.next, in.due = in.next, "", time.Time{}
	if in.State != "terminated" {
		return
	}
	in.gone = at.Add(c.delays.TerminatedVisible)
	for _, v := range c.volumes {
		if v.InstanceID != in.ID {
			continue
		}
		if v.DeleteOnTermination {
			delete(c.volumes, v.ID)
			continue
		}
		v.Detaching, v.due = true, at.Add(c.delays.VolumeDetach)
	}
}

// move starts an instance's change to next through via (stopping,
// shutting-down) taking d.
func (in *Instance) move(via, next string, at time.Time, d time.Duration) {
	in.State, in.next, in.due = via, next, at.Add(d)
}

func sortedCopies[T any](m map[string]*T, clone func(T) T, key func(T) string) []T {
	out := make([]T, 0, len(m))
	for _, v := range m {
		out = append(out, clone(*v))
	}
	sort.Slice(out, func(i, j int) bool { return key(out[i]) < key(out[j]) })
	return out
}

// Instances lists every instance still visible, oldest first.
func (c *Cloud) Instances() []Instance {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refresh()
	out := sortedCopies(c.instances, func(in Instance) Instance {
		in.Tags, in.SecurityGroupIDs = maps.Clone(in.Tags), slices.Clone(in.SecurityGroupIDs)
		return in
	}, func(in Instance) string { return in.LaunchTime.Format(time.RFC3339Nano) + in.ID })
	return out
}

// SecurityGroups lists every security group, the default ones included.
func (c *Cloud) SecurityGroups() []SecurityGroup {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refresh()
	return sortedCopies(c.groups, func(g SecurityGroup) SecurityGroup {
		g.Tags, g.Ingress = maps.Clone(g.Tags), slices.Clone(g.Ingress)
		return g
	}, func(g SecurityGroup) string { return g.Region + g.Name })
}

// KeyPairs lists every key pair.
func (c *Cloud) KeyPairs() []KeyPair {
	c.mu.Lock()
	defer c.mu.Unlock()
	return sortedCopies(c.keys, func(k KeyPair) KeyPair { k.Tags = maps.Clone(k.Tags); return k }, func(k KeyPair) string { return k.Region + k.Name })
}

// Volumes lists every volume.
func (c *Cloud) Volumes() []Volume {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refresh()
	return sortedCopies(c.volumes, func(v Volume) Volume { v.Tags = maps.Clone(v.Tags); return v }, func(v Volume) string { return v.ID })
}

// Images lists every image, seeded ones included.
func (c *Cloud) Images() []Image {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refresh()
	return sortedCopies(c.images, func(im Image) Image {
		im.Tags, im.Devices = maps.Clone(im.Tags), slices.Clone(im.Devices)
		return im
	}, func(im Image) string { return im.ID })
}

// Snapshots lists every snapshot.
func (c *Cloud) Snapshots() []Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refresh()
	return sortedCopies(c.snapshots, func(s Snapshot) Snapshot { s.Tags = maps.Clone(s.Tags); return s }, func(s Snapshot) string { return s.ID })
}
