// Package leftovers removes what a run's Packer build left in EC2 when
// Packer's own cleanup never ran (a runner killed mid-build): the run's
// instances, then the temporary security groups and key pairs Packer made
// for them, then the run's detached volumes, in the order EC2 lets them go.
//
// A resource is the run's only by proof a build role cannot forge. Its
// tags are not: a build role may tag others' instances, volumes and groups
// in its region. An instance is the run's by its buildrole:run-id tag and
// its instance profile, the run's (the build role launches with no other);
// as the bootstrap session, a run's profile under buildrole's path. A
// group, key pair or volume is the run's only through such an instance:
// Packer's temporary group it is in, Packer's temporary key pair it
// launched with (exactly packer_<uuid>, made between the run's start and
// the launch), a volume attached to it when the instances are listed. A
// terminated instance stays listed about an hour, and with it the proof
// for its group and key pair (a volume's ends when it detaches); what is
// tagged as the run's without proof is reported, never removed. AMIs and snapshots are
// the build's product: API has no call that could touch them.
//
// EC2 is eventually consistent and asynchronous: a terminating instance
// holds its security group, a volume detaches after its instance stops.
// Those waits are bounded (Options.Wait); what is still there afterwards,
// or whose outcome is unknown, is reported with the command that finishes
// the job, never as removed.
package leftovers
