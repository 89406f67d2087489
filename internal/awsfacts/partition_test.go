package awsfacts

import "testing"

func TestPartitionForRegion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		region string
		want   string
		ok     bool
	}{
		{"us-east-1", "aws", true},
		{"eu-west-1", "aws", true},
		{"ap-southeast-7", "aws", true},
		{"il-central-1", "aws", true},
		{"cn-north-1", "aws-cn", true},
		{"cn-northwest-1", "aws-cn", true},
		{"us-gov-west-1", "aws-us-gov", true},
		{"us-gov-east-1", "aws-us-gov", true},
		{"us-iso-east-1", "aws-iso", true},
		{"us-isob-east-1", "aws-iso-b", true},
		{"us-isof-south-1", "aws-iso-f", true},
		{"eu-isoe-west-1", "aws-iso-e", true},
		{"eusc-de-east-1", "aws-eusc", true},
		{"", "", false},
		{"us-east", "", false},
		{"US-EAST-1", "", false},
		{"us_east_1", "", false},
		{"us-east-1 ", "", false},
		{"global", "", false},
	}
	for _, tt := range tests {
		got, ok := PartitionForRegion(tt.region)
		if got != tt.want || ok != tt.ok {
			t.Errorf("PartitionForRegion(%q) = %q, %v; want %q, %v", tt.region, got, ok, tt.want, tt.ok)
		}
	}
}

func TestServicePrincipalAndDNSSuffix(t *testing.T) {
	t.Parallel()
	tests := []struct {
		partition, service string
		wantSP, wantSuffix string
	}{
		{"aws", "ec2", "ec2.amazonaws.com", "amazonaws.com"},
		{"aws-cn", "ec2", "ec2.amazonaws.com", "amazonaws.com.cn"},
		{"aws-us-gov", "ec2", "ec2.amazonaws.com", "amazonaws.com"},
		{"aws-iso", "ec2", "ec2.amazonaws.com", "c2s.ic.gov"},
		{"aws-iso-b", "ec2", "ec2.amazonaws.com", "sc2s.sgov.gov"},
		{"aws-iso-e", "ec2", "ec2.amazonaws.com", "cloud.adc-e.uk"},
		{"aws-iso-f", "ec2", "ec2.amazonaws.com", "csp.hci.ic.gov"},
		{"aws-eusc", "ec2", "ec2.amazonaws.com", "amazonaws.eu"},
		{"aws-cn", "logs", "logs.amazonaws.com.cn", "amazonaws.com.cn"},
		{"aws-iso", "logs", "logs.c2s.ic.gov", "c2s.ic.gov"},
		{"aws", "lambda", "lambda.amazonaws.com", "amazonaws.com"},
	}
	for _, tt := range tests {
		if got := ServicePrincipal(tt.partition, tt.service); got != tt.wantSP {
			t.Errorf("ServicePrincipal(%q, %q) = %q, want %q", tt.partition, tt.service, got, tt.wantSP)
		}
		if got := DNSSuffix(tt.partition); got != tt.wantSuffix {
			t.Errorf("DNSSuffix(%q) = %q, want %q", tt.partition, got, tt.wantSuffix)
		}
	}
}
