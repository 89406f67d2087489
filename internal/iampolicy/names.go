package iampolicy

// Condition keys, operators and actions that buildrole's documents name.
const (
	KeyRequestedRegion              = "aws:RequestedRegion"
	KeySourceIP                     = "aws:SourceIp"
	KeyPassedToService              = "iam:PassedToService"
	OpStringEquals                  = "StringEquals"
	OpIPAddress                     = "IpAddress"
	ActionPassRole                  = "iam:PassRole"
	ActionGetInstanceProfile        = "iam:GetInstanceProfile"
	ActionAssumeRole                = "sts:AssumeRole"
	ActionAssumeRoleWithWebIdentity = "sts:AssumeRoleWithWebIdentity"
)
