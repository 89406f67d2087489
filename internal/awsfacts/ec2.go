package awsfacts

// EC2 error codes that say what state a resource is in. EC2 answers them
// in its Query error document; the SDK has no exception types for EC2.
const (
	// EC2DependencyViolation: a security group still used by an
	// instance or network interface (also while the instance terminates).
	EC2DependencyViolation = "DependencyViolation"
	// EC2VolumeInUse: a volume still attached, or detaching.
	EC2VolumeInUse = "VolumeInUse"
	// EC2IncorrectState: the resource is in a state the call cannot act on
	// (volumes, instances).
	EC2IncorrectState = "IncorrectState"
)

// ec2NotFound are the codes EC2 answers for an id or name that does not
// exist (any longer).
var ec2NotFound = map[string]bool{
	"InvalidInstanceID.NotFound":      true,
	"InvalidGroup.NotFound":           true,
	"InvalidSecurityGroupID.NotFound": true,
	"InvalidKeyPair.NotFound":         true,
	"InvalidVolume.NotFound":          true,
}

// IsEC2NotFound reports whether an EC2 error code means the resource is
// gone.
func IsEC2NotFound(code string) bool { return ec2NotFound[code] }
