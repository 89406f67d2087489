package csm

import (
	"strings"
	"testing"
)

// The wire's observations aggregate as CSM's do: attempts and calls, the
// final code of a call, a retried throttle apart.
func TestObservationsFromTheWire(t *testing.T) {
	c := NewCollector("")
	for _, o := range []Observation{
		{Service: "ec2", API: "DescribeImages", Region: "us-east-1", Code: "RequestLimitExceeded"},
		{Service: "ec2", API: "DescribeImages", Region: "us-east-1"},
		{Call: true, Service: "ec2", API: "DescribeImages", Region: "us-east-1"},
		{Service: "ec2", API: "RunInstances", Region: "us-east-1", Code: "UnauthorizedOperation", Message: "User AKIAIOSFODNN7EXAMPLE is not authorized"},
		{Call: true, Service: "ec2", API: "RunInstances", Region: "us-east-1", Code: "UnauthorizedOperation", Message: "User AKIAIOSFODNN7EXAMPLE is not authorized"},
	} {
		c.Observe(o)
	}
	if c.Observe(Observation{Service: "ec2", API: "not an api"}) {
		t.Error("a bad API name was counted")
	}
	calls := c.Calls()
	if len(calls) != 2 || calls[0].Count != 1 || calls[0].Attempts != 2 || calls[0].Retried["RequestLimitExceeded"] != 1 || len(calls[0].Errors) != 0 ||
		calls[1].Errors["UnauthorizedOperation"] != 1 || strings.Contains(calls[1].Message("UnauthorizedOperation"), "AKIA") {
		t.Errorf("calls %+v", calls)
	}
}

// A call both observers saw counts once; one only CSM saw is kept.
func TestMerge(t *testing.T) {
	wire := []Call{{Service: "ec2", API: "DescribeRegions", Action: "ec2:DescribeRegions", Count: 2}, {Service: "s3", API: "HeadObject", Action: "s3:GetObject", Count: 1}}
	events := []Call{{Service: "ec2", API: "DescribeRegions", Action: "ec2:DescribeRegions", Count: 1}, {Service: "s3", API: "GetObject", Action: "s3:GetObject", Count: 3},
		{Service: "sts", API: "GetCallerIdentity", Action: "sts:GetCallerIdentity", Count: 1}}
	got := Merge(wire, events)
	var s []string
	for _, c := range got {
		s = append(s, c.API+"="+string(rune('0'+c.Count)))
	}
	if strings.Join(s, " ") != "DescribeRegions=2 HeadObject=1 GetObject=3 GetCallerIdentity=1" {
		t.Errorf("merged %v", s)
	}
	if r := Analyze(nil, Stats{Reason: "none passed the proxy"}, nil); r.Observed || r.Message != "none passed the proxy" {
		t.Errorf("report %+v", r)
	}
}
