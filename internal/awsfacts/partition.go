package awsfacts

import (
	"regexp"
	"strings"
)

// AWS partitions, as spelled in ARNs.
const (
	PartitionAWS      = "aws"
	PartitionChina    = "aws-cn"
	PartitionGovCloud = "aws-us-gov"
	PartitionISO      = "aws-iso"
	PartitionISOB     = "aws-iso-b"
	PartitionISOE     = "aws-iso-e"
	PartitionISOF     = "aws-iso-f"
	PartitionEUSC     = "aws-eusc"
)

// partitions is checked in order: the specific prefixes first, because
// e.g. "us-gov-west-1" and "us-iso-east-1" also fit the commercial pattern.
// Region patterns and DNS suffixes follow the AWS SDKs' partitions.json
// (aws-sdk-go-v2 internal/endpoints/awsrulesfn).
var partitions = []struct {
	id        string
	prefix    string
	dnsSuffix string
}{
	{PartitionGovCloud, "us-gov-", "amazonaws.com"},
	{PartitionISOB, "us-isob-", "sc2s.sgov.gov"},
	{PartitionISOF, "us-isof-", "csp.hci.ic.gov"},
	{PartitionISO, "us-iso-", "c2s.ic.gov"},
	{PartitionISOE, "eu-isoe-", "cloud.adc-e.uk"},
	{PartitionEUSC, "eusc-", "amazonaws.eu"},
	{PartitionChina, "cn-", "amazonaws.com.cn"},
	{PartitionAWS, "", "amazonaws.com"},
}

// regionPattern is the shape of every AWS region name: lower-case words
// joined by hyphens, ending in a number ("us-east-1", "us-gov-west-1",
// "eusc-de-east-1"), one or two digits at the end.
var regionPattern = regexp.MustCompile(`^[a-z]{2,4}(-[a-z]+)+-[0-9]{1,2}$`)

// IsRegion reports whether region has the form of an AWS region code. It
// is the one check of a region that every input, state and event passes.
func IsRegion(region string) bool { return regionPattern.MatchString(region) }

// PartitionForRegion returns the partition of a region. A well-formed region
// with an unknown prefix falls in "aws", as in the AWS SDKs; ok is false only
// for a malformed region name.
func PartitionForRegion(region string) (string, bool) {
	if !IsRegion(region) {
		return "", false
	}
	for _, p := range partitions {
		if strings.HasPrefix(region, p.prefix) {
			return p.id, true
		}
	}
	return PartitionAWS, true
}

// DNSSuffix returns the DNS suffix of a partition's endpoints
// ("amazonaws.com", "amazonaws.com.cn", ...); unknown partitions get the
// commercial suffix.
func DNSSuffix(partition string) string {
	for _, p := range partitions {
		if p.id == partition {
			return p.dnsSuffix
		}
	}
	return "amazonaws.com"
}

// ServicePrincipal returns the service principal of service (e.g. "ec2") in
// partition. AWS now uses "<service>.amazonaws.com" in every partition,
// including aws-cn (where old documents show "ec2.amazonaws.com.cn") and the
// isolated partitions; the few exceptions (CloudWatch Logs, CodeDeploy, EMR
// in China; some services in ISO) follow aws-cdk region-info and the
// Terraform AWS provider's aws_service_principal. EC2 is not an exception.
func ServicePrincipal(partition, service string) string {
	switch partition {
	case PartitionChina:
		switch service {
		case "codedeploy", "elasticmapreduce", "logs":
			return service + "." + DNSSuffix(partition)
		}
	case PartitionISO:
		switch service {
		case "cloudhsm", "config", "logs", "workspaces":
			return service + "." + DNSSuffix(partition)
		}
	case PartitionISOB:
		switch service {
		case "dms", "logs":
			return service + "." + DNSSuffix(partition)
		}
	}
	return service + ".amazonaws.com"
}
