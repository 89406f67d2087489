// Package ec2 is fakeaws's EC2: a stateful emulator of the EC2 calls a
// Packer amazon-ebs build makes, in EC2's Query protocol as the AWS SDKs
// for Go (v1 and v2) read it, with EC2's error documents
//
//	<Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>
//
// and EC2's real semantics: instances go pending→running and
// shutting-down→terminated after delays and stay visible terminated for a
// while; a security group used by an instance not yet terminated refuses
// deletion (DependencyViolation); volumes with DeleteOnTermination go with
// their instance, others become available asynchronously; images go
// pending→available. fakeaws routes EC2 requests here (Is) and authorizes
// each call with the checks this package lists (Check: action, resource
// ARN, condition keys, as the Service Authorization Reference names them);
// this package imports no buildrole package.
//
// Test-facing API, reached through (*fakeaws.Server).EC2() (fakeaws
// aliases the types: EC2Image, EC2Instance, EC2Delays, …):
//
//	func (c *Cloud) SetDelays(d Delays)  // Delays{Pending, Stopping, ShuttingDown, TerminatedVisible, ImagePending, VolumeDetach}; zero fields keep the defaults
//	func (c *Cloud) SeedImage(im Image) string                  // a source AMI; returns its id (ami-…)
//	func (c *Cloud) SeedInstance(in Instance) string             // e.g. another run's running instance (its root volume too)
//	func (c *Cloud) SeedSecurityGroup(g SecurityGroup) string
//	func (c *Cloud) SeedKeyPair(k KeyPair) string                // returns the key pair id (key-…)
//	func (c *Cloud) SeedVolume(v Volume) string
//	func (c *Cloud) Instances() []Instance                       // copies, every region; terminated ones while still visible
//	func (c *Cloud) SecurityGroups() []SecurityGroup             // each default VPC's "default" group included
//	func (c *Cloud) KeyPairs() []KeyPair
//	func (c *Cloud) Volumes() []Volume
//	func (c *Cloud) Images() []Image
//	func (c *Cloud) Snapshots() []Snapshot
//
// Every resource carries Region, ID, State (where EC2 has one) and Tags
// (map[string]string). A region's default VPC, subnets and default
// security group exist from the first call that needs them.
//
// Authorization is fakeaws's: a session of a role fakeaws knows is held to
// the role's policies; a static key added with (*fakeaws.Server).AddUser is
// held to that user's policy (none: every EC2 call is refused); any other
// signer is the account's administrator.
//
// Expired session credentials are refused with RequestExpired.
//
// For a real Packer build against it, fakeaws.PackerEBSTemplate(PackerBuild)
// writes a minimal amazon-ebs template (communicator none,
// custom_endpoint_ec2, source_ami or source_ami_filter, the instance
// profile from var.iam_instance_profile, run_tags and run_volume_tags from
// var.buildrole_run_tags, an optional shell-local sleep that keeps the
// instance running). internal/cli's ec2build_packer_test.go shows the
// steps: up, then packer with GITHUB_ENV's AWS_* and PKR_VAR_* and
// AWS_POLL_DELAY_SECONDS=1; killWhileInstanceRuns kills packer's process
// group with SIGKILL once the instance runs.
package ec2
