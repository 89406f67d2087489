package fakeaws_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"
)

const noGrantKey = "AKIAFAKECINOGRANTS01"

// ec2ErrorDoc is EC2's Query error document as the AWS SDKs read it
// (aws-sdk-go private/protocol/ec2query): not IAM's ErrorResponse.
type ec2ErrorDoc struct {
	XMLName   xml.Name `xml:"Response"`
	Code      string   `xml:"Errors>Error>Code"`
	Message   string   `xml:"Errors>Error>Message"`
	RequestID string   `xml:"RequestID"`
}

// ec2Call sends one EC2 Query request, signed for ec2 in us-east-1 unless
// unsigned.
func ec2Call(t *testing.T, endpoint, key, action string, signed bool) (*http.Response, ec2ErrorDoc) {
	t.Helper()
	body := url.Values{"Action": {action}, "Version": {"2016-11-15"}}.Encode()
	req, err := http.NewRequest(http.MethodPost, endpoint+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if signed {
		sum := sha256.Sum256([]byte(body))
		creds := aws.Credentials{AccessKeyID: key, SecretAccessKey: "secret"}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "ec2", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var doc ec2ErrorDoc
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: not EC2's error document: %v\n%s", action, err, b)
	}
	return resp, doc
}

// A caller without EC2 grants is refused every call, in EC2's error
// document.
func TestEC2RefusesACallerWithoutGrants(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.AddUser(noGrantKey, "ci", "")
	resp, doc := ec2Call(t, s.URL(), noGrantKey, "DescribeRegions", true)
	if resp.StatusCode != 403 || doc.Code != "UnauthorizedOperation" || doc.RequestID == "" || resp.Header.Get("X-Amzn-Requestid") != doc.RequestID {
		t.Errorf("DescribeRegions: %d %+v", resp.StatusCode, doc)
	}
	if want := "You are not authorized to perform this operation. User: arn:aws:iam::123456789012:user/ci is not authorized to perform: ec2:DescribeRegions because no identity-based policy allows the ec2:DescribeRegions action"; doc.Message != want {
		t.Errorf("DescribeRegions message %q, want %q (Describe calls carry no encoded message)", doc.Message, want)
	}
	_, doc = ec2Call(t, s.URL(), noGrantKey, "CreateKeyPair", true)
	if !regexp.MustCompile(`ec2:CreateKeyPair action\. Encoded authorization failure message: [A-Za-z0-9_-]{900,}$`).MatchString(doc.Message) {
		t.Errorf("CreateKeyPair message %q", doc.Message)
	}
	resp, doc = ec2Call(t, s.URL(), noGrantKey, "DescribeImages", false)
	if resp.StatusCode != 401 || doc.Code != "AuthFailure" {
		t.Errorf("unsigned: %d %+v", resp.StatusCode, doc)
	}
	var got []string
	for _, c := range s.Requests() {
		got = append(got, c.Service+":"+c.Action+":"+c.ErrorCode)
	}
	want := "ec2:DescribeRegions:UnauthorizedOperation ec2:CreateKeyPair:UnauthorizedOperation ec2:DescribeImages:AuthFailure"
	if strings.Join(got, " ") != want {
		t.Errorf("request log %v, want %s", got, want)
	}
}

func TestEC2RefusalAsSDKv2ReadsIt(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.AddUser(noGrantKey, "ci", "")
	cfg := awsConfig(s, credentials.NewStaticCredentialsProvider(noGrantKey, "secret", ""))
	cfg.Region = "us-east-1"
	client := ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.BaseEndpoint = aws.String(s.URL()) })
	_, err := client.DescribeRegions(context.Background(), &ec2.DescribeRegionsInput{})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "UnauthorizedOperation" {
		t.Fatalf("DescribeRegions: %v", err)
	}
}
