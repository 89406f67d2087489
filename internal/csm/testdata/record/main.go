// Command record captures real client-side monitoring datagrams from the
// AWS SDK for Go v1, the SDK Packer's Amazon plugin is built on, for the
// tests of internal/csm. It is its own module so the main one never
// depends on the SDK v1:
//
//	cd internal/csm/testdata/record && go run . -out ..
//
// Each scenario calls a local stub that answers as AWS would and writes
// the datagrams the SDK sent, one a line, to <scenario>.jsonl. The
// credentials are AWS's documentation examples.
package main

import (
	"encoding/xml"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/credentials"
	"github.com/aws/aws-sdk-go/aws/session"
	"github.com/aws/aws-sdk-go/service/ec2"
	"github.com/aws/aws-sdk-go/service/iam"
)

const (
	account = "123456789012"
	caller  = "arn:aws:sts::123456789012:assumed-role/buildrole-acme-images-pr42-3f9c2a1b/buildrole-7001-1"
)

// stub answers each action the way its service does.
type stub struct {
	mu    sync.Mutex
	count map[string]int
}

func (s *stub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	action := r.Form.Get("Action")
	s.mu.Lock()
	s.count[action]++
	n := s.count[action]
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", fmt.Sprintf("req-%s-%d", action, n))
	switch {
	case action == "DescribeRegions":
		fmt.Fprint(w, `<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r1</requestId><regionInfo><item><regionName>us-east-1</regionName><regionEndpoint>ec2.us-east-1.amazonaws.com</regionEndpoint></item></regionInfo></DescribeRegionsResponse>`)
	case action == "DescribeImages" && n == 1:
		ec2Error(w, 503, "RequestLimitExceeded", "Request limit exceeded.")
	case action == "DescribeImages":
		fmt.Fprint(w, `<DescribeImagesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r2</requestId><imagesSet/></DescribeImagesResponse>`)
	case action == "RunInstances":
		ec2Error(w, 403, "UnauthorizedOperation", "You are not authorized to perform this operation. User: "+caller+
			" is not authorized to perform: ec2:RunInstances on resource: arn:aws:ec2:us-east-1:"+account+
			":instance/* because no identity-based policy allows the ec2:RunInstances action. Encoded authorization failure message: "+
			strings.Repeat("fQ2jX9kLm0Pq7RsT1uVw3YzA5bC8dE6fG4hI2jK0lM9nO7pQ5rS3tU1vW-xY_zA", 14))
	case action == "GetInstanceProfile":
		w.WriteHeader(403)
		fmt.Fprintf(w, `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>%s</Message></Error><RequestId>r3</RequestId></ErrorResponse>`,
			escape("User: "+caller+" is not authorized to perform: iam:GetInstanceProfile on resource: instance profile web-builder because no identity-based policy allows the iam:GetInstanceProfile action"))
	default:
		ec2Error(w, 400, "InvalidAction", "unknown action "+action)
	}
}

func ec2Error(w http.ResponseWriter, status int, code, msg string) {
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>req</RequestID></Response>`, code, escape(msg))
}

func escape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func main() {
	out := flag.String("out", ".", "directory for the .jsonl files")
	flag.Parse()
	udp, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		log.Fatal(err)
	}
	// The SDK reads these when the session is made.
	os.Setenv("AWS_CSM_ENABLED", "true")
	os.Setenv("AWS_CSM_HOST", "127.0.0.1")
	os.Setenv("AWS_CSM_PORT", fmt.Sprint(udp.LocalAddr().(*net.UDPAddr).Port))
	os.Setenv("AWS_CSM_CLIENT_ID", "buildrole-recorded")
	srv := httptest.NewServer(&stub{count: map[string]int{}})
	defer srv.Close()
	sess := session.Must(session.NewSession(&aws.Config{
		Region:      aws.String("us-east-1"),
		Endpoint:    aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""),
	}))
	ec2c, iamc := ec2.New(sess), iam.New(sess)
	scenarios := []struct {
		name string
		call func() error
	}{
		{"success", func() error { _, err := ec2c.DescribeRegions(&ec2.DescribeRegionsInput{}); return err }},
		{"throttled-then-success", func() error { _, err := ec2c.DescribeImages(&ec2.DescribeImagesInput{}); return err }},
		{"access-denied", func() error {
			_, err := iamc.GetInstanceProfile(&iam.GetInstanceProfileInput{InstanceProfileName: aws.String("web-builder")})
			return err
		}},
		{"unauthorized-operation", func() error {
			_, err := ec2c.RunInstances(&ec2.RunInstancesInput{ImageId: aws.String("ami-0abc1234"), MinCount: aws.Int64(1), MaxCount: aws.Int64(1)})
			return err
		}},
	}
	buf := make([]byte, 65536)
	for _, sc := range scenarios {
		err := sc.call()
		log.Printf("%s: %v", sc.name, err)
		var lines []string
		for {
			_ = udp.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
			n, _, err := udp.ReadFromUDP(buf)
			if err != nil {
				break
			}
			lines = append(lines, string(buf[:n]))
		}
		path := filepath.Join(*out, sc.name+".jsonl")
		if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			log.Fatal(err)
		}
		log.Printf("%s: %d datagrams", path, len(lines))
	}
}
