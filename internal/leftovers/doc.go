// Package leftovers removes what a run's Packer build left in EC2 when
// Packer's own cleanup never ran (a runner killed mid-build): the run's
// instances, then the temporary security groups and key pairs Packer made
// for them, then the run's detached volumes, in the order EC2 lets them go.
//
// A resource is the run's only by proof: its buildrole:run-id tag
// (packer-plugin-amazon 1.8 tags instances, volumes, the temporary group
// and key pair with run_tags), or, for plugins that tag only instances and
// volumes, a Packer temporary (packer_…) that one of the run's instances
// names. AMIs and snapshots are the build's product: API has no call that
// could touch them.
//
// EC2 is eventually consistent and asynchronous: a terminating instance
// holds its security group, a volume detaches after its instance stops.
// Those waits are bounded (Options.Wait); what is still there afterwards,
// or whose outcome is unknown, is reported with the command that finishes
// the job, never as removed.
package leftovers
