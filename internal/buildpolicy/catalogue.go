package buildpolicy

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/buildrole/buildrole/internal/awsfacts"
	"github.com/buildrole/buildrole/internal/iampolicy"

	"github.com/buildrole/buildrole/internal/packertemplate"
)

// Grant is one statement of a derived build policy, with why it is there.
type Grant struct {
	Sid       string
	Actions   []string
	Resources []string
	// Condition is ANDed with the region binding (and, with scope: tags,
	// the run's tag); nil: none. Explain says what each key stops.
	Condition iampolicy.Condition
	Why       []string // "amazon-ebs.web: ami_regions (builder/common/step_ami_region_copy.go)"
}

// arnCtx builds resource ARNs. The region part is "*": every statement is
// bound to the build regions by aws:RequestedRegion.
type arnCtx struct{ partition, account string }

func (a arnCtx) ec2(kind, id string) string {
	acct := a.account
	if kind == "image" || kind == "snapshot" {
		acct = "" // AMIs and snapshots carry no account in their ARN
	}
	return fmt.Sprintf("arn:%s:ec2:*:%s:%s/%s", a.partition, acct, kind, id)
}

// entry is one row of the permission catalogue: when a source's options
// make Packer call these actions on these resources. step names the
// packer-plugin-amazon file that makes the calls.
//
// Paths are those of the released plugin (v1.3.x, aws-sdk-go v1), which are
// also the paths of amazon-chroot and amazon-instance on main. On main the
// amazon-ebs, amazon-ebssurrogate and amazon-ebsvolume builders moved to
// aws-sdk-go-v2 and use the same-named step files under common/ instead of
// builder/common/ (hashicorp/packer-plugin-amazon#618); the calls are the
// same.
//
// Several rows may share a Sid: Derive merges them into one statement.
type entry struct {
	sid      string
	why      string
	step     string
	builders []string // nil: every Amazon builder
	when     func(s packertemplate.Source) bool
	actions  []string
	res      func(a arnCtx, s packertemplate.Source) []string
	// cond narrows the grant further; nil: no condition of its own.
	cond func(a arnCtx, s packertemplate.Source) iampolicy.Condition
}

// applies says whether the row grants anything to source s, and on what.
func (e entry) applies(a arnCtx, s packertemplate.Source) (res []string, ok bool) {
	if e.builders != nil && !slices.Contains(e.builders, s.Type) || !e.when(s) {
		return nil, false
	}
	res = e.res(a, s)
	return res, len(res) > 0
}

// reason is the row as a grant's reason words it after the source's label:
// "ami_regions, ... (builder/common/step_ami_region_copy.go)".
func (e entry) reason() string { return reason(e.why, e.step) }

// reason is how a grant says why: what needs it, and the plugin step that
// makes the call.
func reason(why, step string) string { return why + " (" + step + ")" }

var (
	// instanceBuilders launch a temporary EC2 instance.
	instanceBuilders = []string{"amazon-ebs", "amazon-ebssurrogate", "amazon-ebsvolume", "amazon-instance"}
	// imageBuilders produce an AMI (amazon-ebsvolume produces volumes).
	imageBuilders = []string{"amazon-ebs", "amazon-ebssurrogate", "amazon-instance", "amazon-chroot"}
	// ebsBackedBuilders run StepStopEBSBackedInstance and
	// StepModifyEBSBackedInstance (an instance-store instance cannot stop).
	ebsBackedBuilders = []string{"amazon-ebs", "amazon-ebssurrogate", "amazon-ebsvolume"}
	// cleanupVolumeBuilders run StepCleanupVolumes.
	cleanupVolumeBuilders = []string{"amazon-ebs", "amazon-ebssurrogate", "amazon-instance"}
	// preValidateBuilders run StepPreValidate (amazon-ebsvolume does not).
	preValidateBuilders = []string{"amazon-ebs", "amazon-ebssurrogate", "amazon-instance", "amazon-chroot"}
)

func always(packertemplate.Source) bool { return true }

func hasAny(names ...string) func(packertemplate.Source) bool {
	return func(s packertemplate.Source) bool {
		for _, n := range names {
			if s.Has(n) {
				return true
			}
		}
		return false
	}
}

func not(f func(packertemplate.Source) bool) func(packertemplate.Source) bool {
	return func(s packertemplate.Source) bool { return !f(s) }
}

func allOf(fs ...func(packertemplate.Source) bool) func(packertemplate.Source) bool {
	return func(s packertemplate.Source) bool {
		for _, f := range fs {
			if !f(s) {
				return false
			}
		}
		return true
	}
}

func anyOf(fs ...func(packertemplate.Source) bool) func(packertemplate.Source) bool {
	return func(s packertemplate.Source) bool {
		for _, f := range fs {
			if f(s) {
				return true
			}
		}
		return false
	}
}

// isTrue: the option is true or set but unknown (conservative for grants).
func isTrue(name string) func(packertemplate.Source) bool {
	return func(s packertemplate.Source) bool {
		v, known := s.Bool(name)
		return v || (s.Has(name) && !known)
	}
}

// knownTrue: the option is known to be true (conservative for skips).
func knownTrue(name string) func(packertemplate.Source) bool {
	return func(s packertemplate.Source) bool {
		v, known := s.Bool(name)
		return known && v
	}
}

// anyBlock: some occurrence of the nested block matches; an option of that
// name that is not a block counts as a match.
func anyBlock(block string, match func(map[string]packertemplate.Value) bool) func(packertemplate.Source) bool {
	return func(s packertemplate.Source) bool {
		v, ok := s.Options[block]
		if !ok {
			return false
		}
		if v.Blocks == nil {
			return true
		}
		return slices.ContainsFunc(v.Blocks, match)
	}
}

// blockTrue: some occurrence of the nested block sets field true, or leaves
// it unknown.
func blockTrue(block, field string) func(packertemplate.Source) bool {
	return anyBlock(block, func(b map[string]packertemplate.Value) bool {
		f, ok := b[field]
		if !ok {
			return false
		}
		t, err := strconv.ParseBool(f.String)
		return !f.Known || err == nil && t
	})
}

// blockHas: some occurrence of the nested block sets one of fields.
func blockHas(block string, fields ...string) func(packertemplate.Source) bool {
	return anyBlock(block, func(b map[string]packertemplate.Value) bool {
		return slices.ContainsFunc(fields, func(f string) bool { _, ok := b[f]; return ok })
	})
}

func star(kind string) func(arnCtx, packertemplate.Source) []string {
	return func(a arnCtx, _ packertemplate.Source) []string { return []string{a.ec2(kind, "*")} }
}

func kinds(ks ...string) func(arnCtx, packertemplate.Source) []string {
	return func(a arnCtx, _ packertemplate.Source) []string {
		out := make([]string, len(ks))
		for i, k := range ks {
			out[i] = a.ec2(k, "*")
		}
		return out
	}
}

func anywhere(arnCtx, packertemplate.Source) []string { return []string{"*"} }

// needsKeyPair mirrors RunConfig.Prepare and StepKeyPair: a temporary key
// pair unless ssh_keypair_name, ssh_private_key_file or ssh_password is set,
// or the SSH agent is used. The communicator type plays no part: Packer
// creates the key pair for "winrm" (to decrypt the Administrator password)
// and for "none" alike.
func needsKeyPair(s packertemplate.Source) bool {
	if a, _ := s.Bool("ssh_agent_auth"); a {
		return false
	}
	return !hasAny("ssh_keypair_name", "ssh_private_key_file", "ssh_password")(s)
}

func needsSecurityGroup(s packertemplate.Source) bool {
	return !hasAny("security_group_id", "security_group_ids", "security_group_filter")(s)
}

// spot mirrors RunConfig.IsSpotInstance: spot_price set and not "0".
// spot_instance_types alone does not request a spot instance.
func spot(s packertemplate.Source) bool {
	if !s.Has("spot_price") {
		return false
	}
	v, known := s.Str("spot_price")
	return !known || (v != "" && v != "0")
}

func sessionManager(s packertemplate.Source) bool {
	v, known := s.Str("ssh_interface")
	return v == "session_manager" || (s.Has("ssh_interface") && !known)
}

func windows(s packertemplate.Source) bool {
	c, known := s.Str("communicator")
	return c == "winrm" || (s.Has("communicator") && !known) || s.Has("windows_password_timeout")
}

// needsPassword mirrors StepGetPassword: winrm without a winrm_password.
func needsPassword(s packertemplate.Source) bool {
	if p, ok := s.Str("winrm_password"); ok && p != "" {
		return false
	}
	return windows(s)
}

// useCreateImage: amazon-ebssurrogate with use_create_image swaps volumes
// and calls CreateImage instead of snapshotting and registering.
func useCreateImage(s packertemplate.Source) bool {
	return s.Type == "amazon-ebssurrogate" && isTrue("use_create_image")(s)
}

// createsFromInstance: the builder calls CreateImage on the instance, which
// carries run_tags to the AMI and its snapshots (TagSpecifications).
func createsFromInstance(s packertemplate.Source) bool {
	return s.Type == "amazon-ebs" || useCreateImage(s)
}

// tagsImage: Packer tags the AMI or its snapshots: run_tags passed to
// CreateImage, or tags / snapshot_tags added by StepCreateTags (and
// snapshot_tags passed to CreateSnapshot by amazon-ebssurrogate).
func tagsImage(s packertemplate.Source) bool {
	if hasAny("tags", "tag", "snapshot_tags", "snapshot_tag")(s) {
		return true
	}
	return createsFromInstance(s) && hasAny("run_tags", "run_tag")(s) && !knownTrue("skip_ami_run_tags")(s)
}

// defaultSubnet mirrors StepNetworkInfo.GetDefaultVPCAndSubnet: an explicit
// associate_public_ip_address and no subnet picked.
func defaultSubnet(s packertemplate.Source) bool {
	return s.Has("associate_public_ip_address") && !hasAny("subnet_id", "subnet_filter")(s)
}

// describesVpcs: vpc_filter resolves a VPC id; the default-subnet lookup
// finds the default VPC; StepPreValidate checks a vpc_id given without a
// subnet.
func describesVpcs(s packertemplate.Source) bool {
	switch {
	case s.Has("vpc_filter") && !s.Has("vpc_id"):
		return true
	case defaultSubnet(s) && !hasAny("vpc_id", "vpc_filter")(s):
		return true
	case s.Has("vpc_id") && !hasAny("subnet_id", "subnet_filter")(s):
		return true
	}
	return false
}

// describesSubnets: subnet_filter, the default-subnet lookup, or a
// subnet_id whose AZ or VPC the template leaves open.
func describesSubnets(s packertemplate.Source) bool {
	switch {
	case s.Has("subnet_filter"):
		return true
	case defaultSubnet(s):
		return true
	case s.Has("subnet_id") && !(s.Has("availability_zone") && s.Has("vpc_id")):
		return true
	}
	return false
}

// instanceConnect mirrors StepCreateSSMTunnel.sendUserSSHPublicKey: a
// private key but no key pair on the instance.
func instanceConnect(s packertemplate.Source) bool {
	return sessionManager(s) && s.Has("ssh_private_key_file") && !s.Has("ssh_keypair_name")
}

// runResources are what RunInstances touches, scoped where the template
// fixes them.
func runResources(a arnCtx, s packertemplate.Source) []string {
	out := []string{a.ec2("instance", "*"), a.ec2("volume", "*"), a.ec2("network-interface", "*")}
	if id, ok := s.Str("subnet_id"); ok {
		out = append(out, a.ec2("subnet", id))
	} else {
		out = append(out, a.ec2("subnet", "*"))
	}
	if ids, ok := s.StrList("security_group_ids"); ok && !needsSecurityGroup(s) {
		for _, id := range ids {
			out = append(out, a.ec2("security-group", id))
		}
	} else if id, ok := s.Str("security_group_id"); ok {
		out = append(out, a.ec2("security-group", id))
	} else {
		out = append(out, a.ec2("security-group", "*"))
	}
	if name, ok := s.Str("ssh_keypair_name"); ok {
		out = append(out, a.ec2("key-pair", name))
	} else if needsKeyPair(s) {
		out = append(out, a.ec2("key-pair", keyPairName(s)))
	}
	if ami, ok := s.Str("source_ami"); ok && !imageAtBuild(s) {
		out = append(out, a.ec2("image", ami)) // else LaunchImage's row
	}
	if spot(s) {
		out = append(out, a.ec2("launch-template", "*"))
	}
	return out
}

// imageAtBuild: the source AMI is found at build time (source_ami_filter,
// or a source_ami not known before the build); a literal source_ami is
// bound by its ARN in runResources.
func imageAtBuild(s packertemplate.Source) bool {
	_, ok := s.Str("source_ami")
	return !ok || s.Has("source_ami_filter")
}

// imageOwners are the ec2:Owner values the image a source finds at build
// time may carry: its source_ami_filter's owners, "self" being the
// account. EC2 shows partner images (Canonical's, for one) under Amazon's
// alias and Marketplace images under "aws-marketplace" (the Service
// Authorization Reference's values for ec2:Owner: amazon, aws-marketplace
// or an account id), so naming another account also admits both aliases.
// ok is false when nothing binds the image: no filter, owners not known
// before the build, or an owner IAM shows otherwise (an alias but amazon
// and aws-marketplace).
func imageOwners(a arnCtx, s packertemplate.Source) (owners []string, ok bool) {
	f, has := s.Options["source_ami_filter"]
	if !has || len(f.Blocks) != 1 {
		return nil, false
	}
	v, has := f.Blocks[0]["owners"]
	if !has || !v.Known || len(v.List) == 0 {
		return nil, false
	}
	for _, o := range v.List {
		switch {
		case o == "self":
			owners = append(owners, a.account)
		case o == "amazon", o == "aws-marketplace":
			owners = append(owners, o)
		case awsfacts.IsAccountID(o):
			owners = append(owners, o)
			if o != a.account {
				owners = append(owners, "amazon", "aws-marketplace")
			}
		default:
			return nil, false
		}
	}
	return sortedSet(owners), true
}

// ownedImages binds the image found at build time to its filter's owners
// with op; nil when they are not known.
func ownedImages(op string) func(arnCtx, packertemplate.Source) iampolicy.Condition {
	return func(a arnCtx, s packertemplate.Source) iampolicy.Condition {
		if owners, ok := imageOwners(a, s); ok {
			return iampolicy.Condition{op: {KeyOwner: owners}}
		}
		return nil
	}
}

var (
	// launchedImages binds RunInstances' image.
	launchedImages = ownedImages(iampolicy.OpStringEquals)
	// fleetImages binds CreateFleet's, IfExists: its image is optional
	// (the Reference says a launch template's resources are checked under
	// RunInstances, where launchedImages binds the image), so a fleet
	// request need not carry the key.
	fleetImages = ownedImages("StringEqualsIfExists")
)

// instanceTypes are the types a source may launch: instance_type and
// spot_instance_types. ok is false when one is set but not known before
// the build, or none is set.
func instanceTypes(s packertemplate.Source) (types []string, ok bool) {
	if s.Has("instance_type") {
		t, known := s.Str("instance_type")
		if !known {
			return nil, false
		}
		types = append(types, t)
	}
	if s.Has("spot_instance_types") {
		ts, known := s.StrList("spot_instance_types")
		if !known {
			return nil, false
		}
		types = append(types, ts...)
	}
	types = slices.DeleteFunc(types, func(t string) bool { return t == "" })
	return sortedSet(types), len(types) > 0
}

// launchTypes binds the launched instance to the template's instance
// types. The key is on the instance resource only, hence IfExists: the
// statement's other resources (volumes, subnet, image) carry none.
func launchTypes(_ arnCtx, s packertemplate.Source) iampolicy.Condition {
	if ts, ok := instanceTypes(s); ok {
		return iampolicy.Condition{"StringEqualsIfExists": {KeyInstanceType: ts}}
	}
	return nil
}

// registeredSnapshots are what amazon-instance registers: its AMI, and the
// snapshots its ami_block_device_mappings name (an instance-store AMI
// comes from the bundle in S3, not from snapshots).
func registeredSnapshots(a arnCtx, s packertemplate.Source) []string {
	out := []string{a.ec2("image", "*")}
	v, ok := s.Options["ami_block_device_mappings"]
	if ok && v.Blocks == nil {
		return append(out, a.ec2("snapshot", "*"))
	}
	for _, bd := range v.Blocks {
		if id, ok := bd["snapshot_id"]; ok {
			if !id.Known {
				return append(out, a.ec2("snapshot", "*"))
			}
			out = append(out, a.ec2("snapshot", id.String))
		}
	}
	return out
}

// taggedBy allows ec2:CreateTags only inside the creating call api.
func taggedBy(api string) func(arnCtx, packertemplate.Source) iampolicy.Condition {
	return func(arnCtx, packertemplate.Source) iampolicy.Condition {
		return iampolicy.Condition{iampolicy.OpStringEquals: {KeyCreateAction: {api}}}
	}
}

// keyPairName is the temporary key pair's name: Packer's default is
// "packer_<uuid>"; temporary_key_pair_name only renames it.
func keyPairName(s packertemplate.Source) string {
	if n, ok := s.Str("temporary_key_pair_name"); ok {
		return n
	}
	return "packer_*"
}

var kmsKeyID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$|^mrk-[0-9a-f]{32}$`)

// kmsRefs sorts the KMS keys a source names into key ARNs, aliases
// ("alias/name") and whether some key is not known before the build.
func kmsRefs(a arnCtx, s packertemplate.Source) (keys, aliases []string, unknown bool) {
	var ids []string
	for _, name := range []string{"kms_key_id", "root_volume_kms_key_id"} {
		if k, ok := s.Str(name); ok {
			ids = append(ids, k)
		} else if s.Has(name) {
			unknown = true
		}
	}
	if v, ok := s.Options["region_kms_key_ids"]; ok {
		unknown = unknown || !v.Known
		for _, k := range v.Map {
			ids = append(ids, k)
		}
	}
	for _, name := range []string{"launch_block_device_mappings", "ami_block_device_mappings", "ebs_volumes"} {
		for _, bd := range s.Options[name].Blocks {
			if v, ok := bd["kms_key_id"]; ok {
				unknown = unknown || !v.Known
				if v.Known {
					ids = append(ids, v.String)
				}
			}
		}
	}
	for _, id := range ids {
		_, name, isAlias := strings.Cut(id, ":alias/")
		switch {
		case id == "":
			// Known empty: EBS's default key, whose policy needs no grant.
		case strings.HasPrefix(id, "arn:") && strings.Contains(id, ":key/"):
			keys = append(keys, id)
		case strings.HasPrefix(id, "arn:") && isAlias:
			aliases = append(aliases, "alias/"+name)
		case strings.HasPrefix(id, "alias/"):
			aliases = append(aliases, id)
		case kmsKeyID.MatchString(id):
			keys = append(keys, fmt.Sprintf("arn:%s:kms:*:%s:key/%s", a.partition, a.account, id))
		default:
			unknown = true
		}
	}
	return keys, aliases, unknown
}

// kmsKeys are the keys named by ARN or id, or every key of the account when
// one is not known before the build (Derive notes the widening).
func kmsKeys(a arnCtx, s packertemplate.Source) []string {
	keys, _, unknown := kmsRefs(a, s)
	if unknown {
		keys = append(keys, fmt.Sprintf("arn:%s:kms:*:%s:key/*", a.partition, a.account))
	}
	return keys
}

// kmsAliased is every key of the account, narrowed by kmsAliasCond to the
// keys that carry the template's aliases; nil without aliases.
func kmsAliased(a arnCtx, s packertemplate.Source) []string {
	if _, aliases, _ := kmsRefs(a, s); len(aliases) > 0 {
		return []string{fmt.Sprintf("arn:%s:kms:*:%s:key/*", a.partition, a.account)}
	}
	return nil
}

// kmsAliasCond binds a key to its alias (kms:ResourceAliases, the aliases
// the key carries), so an alias needs no look-up and no widening.
func kmsAliasCond(a arnCtx, s packertemplate.Source) iampolicy.Condition {
	_, aliases, _ := kmsRefs(a, s)
	return iampolicy.Condition{"ForAnyValue:StringEquals": {KeyResourceAliases: sortedSet(aliases)}}
}

// grantForAWS: EC2 creates the grant for the volume it attaches; the caller
// can create no grant of its own.
func grantForAWS(arnCtx, packertemplate.Source) iampolicy.Condition {
	return iampolicy.Condition{"Bool": {KeyGrantIsForAWSResource: {"true"}}}
}

func usesKMS(s packertemplate.Source) bool {
	keys, _, unknown := kmsRefs(arnCtx{}, s)
	return len(keys) > 0 || unknown
}

func usesKMSAlias(s packertemplate.Source) bool {
	_, aliases, _ := kmsRefs(arnCtx{}, s)
	return len(aliases) > 0
}

// kmsUse are the calls EBS makes on the caller's behalf for an encrypted
// volume, snapshot or AMI copy (the Amazon EBS user guide's "Permissions
// for users"). Packer itself never calls KMS.
var kmsUse = []string{"kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo"}

// sessionOwnCond: a session is tagged with the user id of who started it.
func sessionOwnCond(arnCtx, packertemplate.Source) iampolicy.Condition {
	return iampolicy.Condition{iampolicy.OpStringEquals: {KeySessionOwner: {"${aws:userid}"}}}
}

func documentCheck(arnCtx, packertemplate.Source) iampolicy.Condition {
	return SessionDocumentCheck()
}

// osUser binds EC2 Instance Connect to the template's ssh_username.
func osUser(_ arnCtx, s packertemplate.Source) iampolicy.Condition {
	if u, ok := s.Str("ssh_username"); ok && u != "" {
		return iampolicy.Condition{iampolicy.OpStringEquals: {KeyOSUser: {u}}}
	}
	return nil
}

// snapshotSharing binds ModifySnapshotAttribute to the accounts and groups
// the template shares with (ec2:Add/userId, ec2:Add/group); nothing is
// bound when they are not known before the build.
func snapshotSharing(users, groups []string, usersKnown, groupsKnown bool) iampolicy.Condition {
	c := iampolicy.Condition{}
	add := func(op, key string, vals ...string) {
		if c[op] == nil {
			c[op] = map[string]iampolicy.Values{}
		}
		c[op][key] = vals
	}
	if usersKnown {
		if len(users) > 0 {
			add("ForAllValues:StringEquals", KeyAddUserID, sortedSet(users)...)
		} else {
			add("Null", KeyAddUserID, "true")
		}
	}
	if groupsKnown {
		if len(groups) > 0 {
			add("ForAllValues:StringEquals", KeyAddGroup, sortedSet(groups)...)
		} else {
			add("Null", KeyAddGroup, "true")
		}
	}
	return c
}

// optionList reads a list option: its values and whether they are known
// (an unset option is a known empty list).
func optionList(s packertemplate.Source, name string) ([]string, bool) {
	if !s.Has(name) {
		return nil, true
	}
	return s.StrList(name)
}

func sharedSnapshots(_ arnCtx, s packertemplate.Source) iampolicy.Condition {
	users, uk := optionList(s, "snapshot_users")
	groups, gk := optionList(s, "snapshot_groups")
	return snapshotSharing(users, groups, uk, gk)
}

// sharedVolumeSnapshots is sharedSnapshots over every ebs_volumes block.
func sharedVolumeSnapshots(_ arnCtx, s packertemplate.Source) iampolicy.Condition {
	blocks := s.Options["ebs_volumes"].Blocks
	if blocks == nil {
		return nil // not read as blocks: nothing to bind it to
	}
	var users, groups []string
	uk, gk := true, true
	for _, b := range blocks {
		for name, dst := range map[string]*[]string{"snapshot_users": &users, "snapshot_groups": &groups} {
			v, ok := b[name]
			if !ok {
				continue
			}
			known := v.Known && v.List != nil
			if name == "snapshot_users" {
				uk = uk && known
			} else {
				gk = gk && known
			}
			*dst = append(*dst, v.List...)
		}
	}
	return snapshotSharing(users, groups, uk, gk)
}

// catalogue is the permission table. Each row cites the
// hashicorp/packer-plugin-amazon step that makes the calls.
var catalogue = []entry{
	// Describe: reads, on "*" (EC2 Describe* take no resource ARNs). Bound
	// to every build region, so the copy regions may describe too.
	{sid: "Describe", why: "source AMI, AMI name check, AMI waiters, tags and copies (every region of the AMI)",
		step: "builder/common/step_source_ami_info.go, step_pre_validate.go, step_ami_region_copy.go, step_create_tags.go, state.go",
		when: always, res: anywhere,
		actions: []string{"ec2:DescribeImages"}},
	{sid: "Describe", why: "region validation (unless skip_region_validation)", step: "builder/common/step_pre_validate.go, regions.go",
		builders: preValidateBuilders, when: not(knownTrue("skip_region_validation")), res: anywhere,
		actions: []string{"ec2:DescribeRegions"}},
	{sid: "Describe", why: "the build instance and its security groups",
		step:     "builder/common/step_run_source_instance.go, step_run_spot_instance.go, step_stop_ebs_instance.go, step_security_group.go, ssh.go",
		builders: instanceBuilders, when: always, res: anywhere,
		actions: []string{"ec2:DescribeInstances", "ec2:DescribeSecurityGroups"}},
	{sid: "Describe", why: "orphaned volumes after termination", step: "builder/common/step_cleanup_volumes.go",
		builders: cleanupVolumeBuilders, when: always, res: anywhere,
		actions: []string{"ec2:DescribeVolumes"}},
	{sid: "Describe", why: "this host and the chroot volume and snapshot",
		step:     "builder/chroot/step_instance_info.go, step_create_volume.go, step_attach_volume.go, step_snapshot.go",
		builders: []string{"amazon-chroot"}, when: always, res: anywhere,
		actions: []string{"ec2:DescribeInstances", "ec2:DescribeVolumes", "ec2:DescribeSnapshots"}},
	{sid: "Describe", why: "snapshot waiters", step: "builder/ebssurrogate/step_snapshot_volumes.go, builder/ebsvolume/step_snapshot_ebs_volumes.go",
		builders: []string{"amazon-ebssurrogate", "amazon-ebsvolume"}, when: not(useCreateImage), res: anywhere,
		actions: []string{"ec2:DescribeSnapshots"}},
	{sid: "Describe", why: "use_create_image (volume swap)", step: "builder/ebssurrogate/step_swap_volumes.go",
		builders: []string{"amazon-ebssurrogate"}, when: useCreateImage, res: anywhere,
		actions: []string{"ec2:DescribeVolumes"}},
	{sid: "Describe", why: "ssh_interface = \"session_manager\" (watches the instance)", step: "builder/common/ssm/session.go",
		builders: instanceBuilders, when: sessionManager, res: anywhere,
		actions: []string{"ec2:DescribeInstanceStatus"}},

	{sid: "Network", why: "vpc_filter, vpc_id without a subnet, associate_public_ip_address without a subnet (default VPC)",
		step:     "builder/common/step_network_info.go, step_pre_validate.go",
		builders: instanceBuilders, when: describesVpcs, res: anywhere,
		actions: []string{"ec2:DescribeVpcs"}},
	{sid: "Network", why: "subnet_filter, subnet_id without availability_zone and vpc_id, associate_public_ip_address without a subnet",
		step:     "builder/common/step_network_info.go",
		builders: instanceBuilders, when: describesSubnets, res: anywhere,
		actions: []string{"ec2:DescribeSubnets"}},
	{sid: "Network", why: "associate_public_ip_address without a subnet (AZs offering instance_type)",
		step:     "builder/common/step_network_info.go",
		builders: instanceBuilders, when: defaultSubnet, res: anywhere,
		actions: []string{"ec2:DescribeInstanceTypeOfferings"}},

	{sid: "RunInstance", why: "the build instance", step: "builder/common/step_run_source_instance.go", builders: instanceBuilders,
		when: not(spot), res: runResources, cond: launchTypes,
		actions: []string{"ec2:RunInstances"}},
	{sid: "LaunchImage", why: "source_ami_filter, or a source_ami not known before the build (the image found at build time, bound to the filter's owners)",
		step:     "builder/common/step_source_ami_info.go, step_run_source_instance.go, step_run_spot_instance.go",
		builders: instanceBuilders, when: imageAtBuild, res: star("image"), cond: launchedImages,
		actions: []string{"ec2:RunInstances"}},
	{sid: "LaunchFleetImage", why: "spot_price with source_ami_filter (the fleet's image)", step: "builder/common/step_run_spot_instance.go",
		builders: instanceBuilders, when: allOf(spot, imageAtBuild), res: star("image"), cond: fleetImages,
		actions: []string{"ec2:CreateFleet"}},
	{sid: "InstanceLifecycle", why: "the build instance", step: "builder/common/step_run_source_instance.go, step_run_spot_instance.go (Cleanup)",
		builders: instanceBuilders, when: always, res: star("instance"),
		actions: []string{"ec2:TerminateInstances"}},
	{sid: "InstanceLifecycle", why: "stopping the build instance (not for spot, not with disable_stop_instance)",
		step:     "builder/common/step_stop_ebs_instance.go",
		builders: ebsBackedBuilders, when: allOf(not(spot), not(knownTrue("disable_stop_instance"))), res: star("instance"),
		actions: []string{"ec2:StopInstances"}},
	{sid: "CleanupVolumes", why: "volumes of the source AMI's mappings that outlive the instance (delete_on_termination = false)", step: "builder/common/step_cleanup_volumes.go",
		builders: cleanupVolumeBuilders, when: always, res: star("volume"),
		actions: []string{"ec2:DeleteVolume"}},
	{sid: "ModifyInstance", why: "ena_support, sriov_support", step: "builder/common/step_modify_ebs_instance.go", builders: ebsBackedBuilders,
		when: hasAny("ena_support", "sriov_support"), res: star("instance"),
		actions: []string{"ec2:ModifyInstanceAttribute"}},

	// Tag: CreateTags also authorizes TagSpecifications on create.
	{sid: "Tag", why: "run_tags, run_volume_tags (RunInstances TagSpecifications; CreateTags afterwards for spot and in aws-cn)",
		step:     "builder/common/step_run_source_instance.go, step_run_spot_instance.go",
		builders: instanceBuilders, when: always, res: kinds("instance", "volume", "network-interface"),
		actions: []string{"ec2:CreateTags"}},
	// Only inside CreateKeyPair (bound to the name by KeyPair): whether EC2
	// names the pair by its name or as "*" in this check is not documented.
	{sid: "TagKeyPair", why: "run_tags on the temporary key pair (CreateKeyPair TagSpecifications)", step: "builder/common/step_key_pair.go",
		builders: instanceBuilders, when: needsKeyPair, res: star("key-pair"), cond: taggedBy("CreateKeyPair"),
		actions: []string{"ec2:CreateTags"}},
	{sid: "Tag", why: "run_tags on the temporary security group (CreateSecurityGroup TagSpecifications)", step: "builder/common/step_security_group.go",
		builders: instanceBuilders, when: needsSecurityGroup, res: star("security-group"),
		actions: []string{"ec2:CreateTags"}},
	{sid: "Tag", why: "spot_tags, fleet_tags (launch template, fleet, spot request)", step: "builder/common/step_run_spot_instance.go",
		builders: instanceBuilders, when: spot, res: kinds("launch-template", "fleet", "spot-instances-request"),
		actions: []string{"ec2:CreateTags"}},
	{sid: "Tag", why: "run_tags on CreateImage, tags and snapshot_tags on the AMI and snapshots in every AMI region",
		step:     "builder/ebs/step_create_ami.go, builder/ebssurrogate/step_snapshot_volumes.go, builder/common/step_create_tags.go",
		builders: imageBuilders, when: tagsImage, res: kinds("image", "snapshot"),
		actions: []string{"ec2:CreateTags"}},
	{sid: "Tag", why: "root_volume_tags (CreateVolume TagSpecifications)", step: "builder/chroot/step_create_volume.go",
		builders: []string{"amazon-chroot"}, when: hasAny("root_volume_tags", "root_volume_tag"), res: star("volume"),
		actions: []string{"ec2:CreateTags"}},
	{sid: "Tag", why: "ebs_volumes tags and snapshot_tags", step: "builder/ebsvolume/step_tag_ebs_volumes.go, step_snapshot_ebs_volumes.go",
		builders: []string{"amazon-ebsvolume"}, when: hasAny("ebs_volumes"), res: kinds("volume", "snapshot"),
		actions: []string{"ec2:CreateTags"}},
	{sid: "UntagVolumes", why: "run_volume_tags removed from ebs_volumes", step: "builder/ebsvolume/step_tag_ebs_volumes.go",
		builders: []string{"amazon-ebsvolume"}, when: allOf(hasAny("ebs_volumes"), hasAny("run_volume_tags", "run_volume_tag")), res: star("volume"),
		actions: []string{"ec2:DeleteTags"}},

	{sid: "KeyPair", why: "temporary key pair (no ssh_keypair_name, ssh_private_key_file, ssh_password or ssh_agent_auth)", step: "builder/common/step_key_pair.go",
		when: needsKeyPair, builders: instanceBuilders,
		res:     func(a arnCtx, s packertemplate.Source) []string { return []string{a.ec2("key-pair", keyPairName(s))} },
		actions: []string{"ec2:CreateKeyPair", "ec2:DeleteKeyPair"}},
	{sid: "SecurityGroup", why: "temporary security group (no security_group_id(s) or security_group_filter)", step: "builder/common/step_security_group.go",
		when: needsSecurityGroup, builders: instanceBuilders, res: kinds("security-group", "vpc"),
		actions: []string{"ec2:CreateSecurityGroup", "ec2:DeleteSecurityGroup"}},
	{sid: "SecurityGroup", why: "temporary security group ingress rule (not with session_manager)", step: "builder/common/step_security_group.go",
		when: allOf(needsSecurityGroup, not(sessionManager)), builders: instanceBuilders, res: star("security-group"),
		actions: []string{"ec2:AuthorizeSecurityGroupIngress"}},

	{sid: "CreateImage", why: "the AMI", step: "builder/ebs/step_create_ami.go", builders: []string{"amazon-ebs"},
		when: not(knownTrue("skip_create_ami")), res: kinds("image", "instance", "snapshot"),
		actions: []string{"ec2:CreateImage"}},
	{sid: "CreateImage", why: "use_create_image", step: "builder/ebssurrogate/step_create_ami.go", builders: []string{"amazon-ebssurrogate"},
		when: useCreateImage, res: kinds("image", "instance", "snapshot"),
		actions: []string{"ec2:CreateImage"}},
	{sid: "SwapVolumes", why: "use_create_image (root volume swap)", step: "builder/ebssurrogate/step_swap_volumes.go", builders: []string{"amazon-ebssurrogate"},
		when: useCreateImage, res: kinds("instance", "volume"),
		actions: []string{"ec2:AttachVolume", "ec2:DeleteVolume", "ec2:DetachVolume", "ec2:ModifyInstanceAttribute"}},
	{sid: "RegisterImage", why: "the AMI, from the snapshots the build made (IAM has no key that ties them to the run, so any snapshot: Derive notes it when AMI attributes change)",
		step:     "builder/ebssurrogate/step_register_ami.go, builder/chroot/step_register_ami.go",
		builders: []string{"amazon-ebssurrogate", "amazon-chroot"}, when: not(useCreateImage), res: kinds("image", "snapshot"),
		actions: []string{"ec2:RegisterImage"}},
	{sid: "RegisterImage", why: "the AMI, from the bundle in s3_bucket (snapshots only as ami_block_device_mappings name them)", step: "builder/instance/step_register_ami.go",
		builders: []string{"amazon-instance"}, when: always, res: registeredSnapshots,
		actions: []string{"ec2:RegisterImage"}},
	{sid: "SnapshotVolumes", why: "snapshots of the root volume", step: "builder/ebssurrogate/step_snapshot_volumes.go, builder/chroot/step_snapshot.go",
		builders: []string{"amazon-ebssurrogate", "amazon-chroot"}, when: not(useCreateImage), res: kinds("snapshot", "volume"),
		actions: []string{"ec2:CreateSnapshot"}},
	{sid: "SnapshotVolumes", why: "ebs_volumes snapshot_volume", step: "builder/ebsvolume/step_snapshot_ebs_volumes.go",
		builders: []string{"amazon-ebsvolume"}, when: blockTrue("ebs_volumes", "snapshot_volume"), res: kinds("snapshot", "volume"),
		actions: []string{"ec2:CreateSnapshot"}},
	{sid: "ChrootVolume", why: "the chroot volume on this host", step: "builder/chroot/step_create_volume.go, step_attach_volume.go",
		builders: []string{"amazon-chroot"}, when: always, res: kinds("volume", "instance", "snapshot"),
		actions: []string{"ec2:CreateVolume", "ec2:AttachVolume", "ec2:DetachVolume", "ec2:DeleteVolume"}},
	{sid: "Cleanup", why: "removing the AMI and snapshots of a failed build, and the intermediary AMI of encrypt_boot",
		step:     "builder/ebs/step_create_ami.go, builder/ebssurrogate/step_register_ami.go, step_snapshot_volumes.go, builder/chroot/step_snapshot.go (Cleanup), builder/common/step_ami_region_copy.go (Cleanup)",
		builders: imageBuilders, when: always, res: kinds("image", "snapshot"),
		actions: []string{"ec2:DeregisterImage", "ec2:DeleteSnapshot"}},
	{sid: "ForceDeregister", why: "force_deregister", step: "builder/common/step_deregister_ami.go",
		builders: imageBuilders, when: isTrue("force_deregister"), res: star("image"),
		actions: []string{"ec2:DeregisterImage"}},
	{sid: "ForceDeregister", why: "force_deregister with force_delete_snapshot", step: "builder/common/step_deregister_ami.go",
		builders: imageBuilders, when: allOf(isTrue("force_deregister"), isTrue("force_delete_snapshot")), res: star("snapshot"),
		actions: []string{"ec2:DeleteSnapshot"}},
	{sid: "CopyImage", why: "ami_regions, encrypt_boot, skip_build_region (copy, to encrypt or to move; IAM has no key on the source AMI, so any AMI the account can read)", step: "builder/common/step_ami_region_copy.go",
		builders: imageBuilders, when: anyOf(hasAny("ami_regions"), isTrue("encrypt_boot"), isTrue("skip_build_region")), res: kinds("image", "snapshot"),
		actions: []string{"ec2:CopyImage"}},
	{sid: "ImageAttributes", why: "ami_users, ami_groups, ami_org_arns, ami_ou_arns, ami_product_codes, ami_description, imds_support (every AMI region; IAM has no key for the accounts an AMI is shared with)",
		step:     "builder/common/step_modify_ami_attributes.go",
		builders: imageBuilders, when: hasAny("ami_users", "ami_groups", "ami_org_arns", "ami_ou_arns", "ami_product_codes", "ami_description", "imds_support"), res: star("image"),
		actions: []string{"ec2:ModifyImageAttribute"}},
	{sid: "SnapshotAttributes", why: "snapshot_users, snapshot_groups", step: "builder/common/step_modify_ami_attributes.go",
		builders: imageBuilders, when: hasAny("snapshot_users", "snapshot_groups"), res: star("snapshot"), cond: sharedSnapshots,
		actions: []string{"ec2:ModifySnapshotAttribute"}},
	{sid: "SnapshotAttributes", why: "ebs_volumes snapshot_users, snapshot_groups", step: "builder/ebsvolume/step_snapshot_ebs_volumes.go",
		builders: []string{"amazon-ebsvolume"}, when: blockHas("ebs_volumes", "snapshot_users", "snapshot_groups"), res: star("snapshot"), cond: sharedVolumeSnapshots,
		actions: []string{"ec2:ModifySnapshotAttribute"}},
	{sid: "Deprecation", why: "deprecate_at", step: "builder/common/step_enable_deprecation.go",
		builders: imageBuilders, when: hasAny("deprecate_at"), res: star("image"),
		actions: []string{"ec2:EnableImageDeprecation"}},
	{sid: "DeregistrationProtection", why: "deregistration_protection", step: "builder/common/step_enable_deregistration_protection.go",
		builders: imageBuilders, when: blockTrue("deregistration_protection", "enabled"), res: star("image"),
		actions: []string{"ec2:EnableImageDeregistrationProtection"}},
	{sid: "FastLaunch", why: "fast_launch (Windows fast launch in every AMI region)", step: "builder/ebs/step_enable_fast_launch.go",
		builders: []string{"amazon-ebs"}, when: blockTrue("fast_launch", "enable_fast_launch"), res: star("image"),
		actions: []string{"ec2:EnableFastLaunch"}},
	{sid: "FastLaunchRead", why: "fast_launch", step: "builder/ebs/step_enable_fast_launch.go, step_prepare_fast_launch_template.go, builder/common/state.go",
		builders: []string{"amazon-ebs"}, when: blockTrue("fast_launch", "enable_fast_launch"), res: anywhere,
		actions: []string{"ec2:DescribeFastLaunchImages", "ec2:DescribeLaunchTemplates"}},
	{sid: "Spot", why: "spot_price (launch template + instant EC2 Fleet; the fleet launches with RunInstances)", step: "builder/common/step_run_spot_instance.go",
		builders: instanceBuilders, when: spot, cond: launchTypes,
		res: func(a arnCtx, s packertemplate.Source) []string {
			return append(runResources(a, s), a.ec2("fleet", "*"), a.ec2("spot-instances-request", "*"))
		},
		actions: []string{"ec2:CreateLaunchTemplate", "ec2:DeleteLaunchTemplate", "ec2:CreateFleet", "ec2:RunInstances"}},
	{sid: "WindowsPassword", why: "communicator = \"winrm\" without winrm_password (the Administrator password)", step: "builder/common/step_get_password.go",
		builders: instanceBuilders, when: needsPassword, res: star("instance"),
		actions: []string{"ec2:GetPasswordData"}},
	{sid: "KMS", why: "encrypt_boot, kms_key_id, region_kms_key_ids, root_volume_kms_key_id, encrypted block devices: EC2 uses the keys the template names on the build's behalf",
		step: "builder/common/step_ami_region_copy.go, step_run_source_instance.go, builder/chroot/step_create_volume.go",
		when: usesKMS, res: kmsKeys, actions: kmsUse},
	{sid: "KMSGrant", why: "EC2 grants itself the use of the key for the volumes it creates",
		step: "builder/common/step_ami_region_copy.go, step_run_source_instance.go, builder/chroot/step_create_volume.go",
		when: usesKMS, res: kmsKeys, cond: grantForAWS, actions: []string{"kms:CreateGrant"}},
	{sid: "KMSByAlias", why: "keys the template names by alias",
		step: "builder/common/step_ami_region_copy.go, step_run_source_instance.go, builder/chroot/step_create_volume.go",
		when: usesKMSAlias, res: kmsAliased, cond: kmsAliasCond, actions: kmsUse},
	{sid: "KMSGrantByAlias", why: "EC2 grants itself the use of the keys the template names by alias",
		step: "builder/common/step_ami_region_copy.go, step_run_source_instance.go, builder/chroot/step_create_volume.go",
		when: usesKMSAlias, res: kmsAliased, cond: func(a arnCtx, s packertemplate.Source) iampolicy.Condition {
			c := kmsAliasCond(a, s)
			c["Bool"] = grantForAWS(a, s)["Bool"]
			return c
		}, actions: []string{"kms:CreateGrant"}},
	{sid: "SessionManager", why: "ssh_interface = \"session_manager\": the port-forwarding session to the build instance (scope: region cannot tell it from other managed instances of the build regions; scope: tags binds it to the run's)", step: "builder/common/step_create_ssm_tunnel.go, ssm/session.go",
		builders: instanceBuilders, when: sessionManager, res: star("instance"), cond: documentCheck,
		actions: []string{"ssm:StartSession"}},
	{sid: "SessionManagerDocument", why: "ssh_interface = \"session_manager\": the AWS-StartPortForwardingSession document, the only one granted (no shell, no commands)", step: "builder/common/ssm/session.go",
		builders: instanceBuilders, when: sessionManager,
		res: func(a arnCtx, _ packertemplate.Source) []string {
			return []string{PortForwardingDocument(a.partition)}
		},
		cond: documentCheck, actions: []string{"ssm:StartSession"}},
	{sid: "SessionManagerEnd", why: "ssh_interface = \"session_manager\": ending the session Packer started", step: "builder/common/ssm/session.go",
		builders: instanceBuilders, when: sessionManager,
		res: func(a arnCtx, _ packertemplate.Source) []string {
			return []string{fmt.Sprintf("arn:%s:ssm:*:%s:session/*", a.partition, a.account)}
		},
		cond: sessionOwnCond, actions: []string{"ssm:TerminateSession"}},
	{sid: "InstanceConnect", why: "session_manager with ssh_private_key_file and no ssh_keypair_name (pushes the public key; IAM has no key that binds the instance, so any instance of the build regions, for ssh_username only)", step: "builder/common/step_create_ssm_tunnel.go",
		builders: instanceBuilders, when: instanceConnect, res: star("instance"), cond: osUser,
		actions: []string{"ec2-instance-connect:SendSSHPublicKey"}},
}

// dataEntry is a data source the catalogue grants permissions for: the
// action it calls on the one resource it reads (what: "parameter").
type dataEntry struct {
	typ, sid, step, action, what string
	res                          func(a arnCtx, ds packertemplate.Source) string
}

// dataCatalogue are the data sources whose calls need a grant of their
// own. amazon-ami needs none: DescribeImages is in every build's Describe
// grant. The boundary of `buildrole bootstrap` leaves these actions out
// (CatalogueActions does not list them): Derive notes that.
var dataCatalogue = []dataEntry{
	{typ: "amazon-parameterstore", sid: "ParameterStore", step: "datasource/parameterstore/data.go",
		action: "ssm:GetParameter", what: "parameter", res: parameterARN},
	{typ: "amazon-secretsmanager", sid: "SecretsManager", step: "datasource/secretsmanager/data.go",
		action: "secretsmanager:GetSecretValue", what: "secret", res: secretARN},
}

// parameterARN is the parameter a data source names, or every parameter of
// the account; AWS's public parameters belong to no account.
func parameterARN(a arnCtx, ds packertemplate.Source) string {
	n, ok := ds.Str("name")
	if !ok {
		return fmt.Sprintf("arn:%s:ssm:*:%s:parameter/*", a.partition, a.account)
	}
	owner := a.account
	if strings.HasPrefix(n, "/aws/service/") {
		owner = ""
	}
	return fmt.Sprintf("arn:%s:ssm:*:%s:parameter/%s", a.partition, owner, strings.TrimPrefix(n, "/"))
}

// secretARN is the secret a data source names (its ARN ends in a random
// suffix), or every secret of the account.
func secretARN(a arnCtx, ds packertemplate.Source) string {
	if n, ok := ds.Str("name"); ok {
		return fmt.Sprintf("arn:%s:secretsmanager:*:%s:secret:%s-*", a.partition, a.account, n)
	}
	return fmt.Sprintf("arn:%s:secretsmanager:*:%s:secret:*", a.partition, a.account)
}

// Row is one row of the permission catalogue, as data: what a Packer
// build is granted, why, and which packer-plugin-amazon step makes the
// calls. Several rows may share a Sid (Derive merges them into one
// statement); an action may be in several rows.
type Row struct {
	Sid string // the statement of the build role's policy the row joins
	// Why names the template options (or the build's own need) that bring
	// the row in, as the policy's reasons word them: "force_deregister with
	// force_delete_snapshot". For a data source, its block: "data.TYPE".
	Why  string
	Step string // the packer-plugin-amazon file(s) that make the calls
	// Builders are the source types the row applies to, in the order of
	// packertemplate.AmazonBuilders; nil for a data source.
	Builders   []string
	DataSource string // the data source type the row applies to; "" for a builder's row
	Actions    []string
	// Always: a source of Builders that sets no option gets the row (an
	// option may still take it away: skip_region_validation, spot_price).
	Always bool
}

// Reason is the row as Derive words a grant's reason after the source's
// label: "Why (Step)".
func (r Row) Reason() string { return reason(r.Why, r.Step) }

// Rows returns the catalogue, in its order, the data sources last. Each
// call returns new copies: changing them changes no policy.
func Rows() []Row {
	out := make([]Row, 0, len(catalogue)+len(dataCatalogue))
	for _, e := range catalogue {
		r := Row{Sid: e.sid, Why: e.why, Step: e.step, Actions: slices.Clone(e.actions), Always: true}
		for _, b := range packertemplate.AmazonBuilders {
			if e.builders != nil && !slices.Contains(e.builders, b) {
				continue
			}
			r.Builders = append(r.Builders, b)
			// A source that sets no option.
			_, ok := e.applies(arnCtx{}, packertemplate.Source{Type: b})
			r.Always = r.Always && ok
		}
		out = append(out, r)
	}
	for _, e := range dataCatalogue {
		out = append(out, Row{Sid: e.sid, Why: "data." + e.typ, Step: e.step, DataSource: e.typ, Actions: []string{e.action}})
	}
	return out
}

// CatalogueActions lists every action any Packer build may be granted: the
// union of the catalogue, for the permissions boundary.
func CatalogueActions() []string {
	set := map[string]bool{}
	for _, a := range packerEC2Actions {
		set[a] = true
	}
	for _, e := range catalogue {
		for _, a := range e.actions {
			set[a] = true
		}
	}

	out := make([]string, 0, len(set))
	for a := range set {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

func sortedSet(in []string) []string {
	out := slices.Clone(in)
	sort.Strings(out)
	return slices.Compact(out)
}
