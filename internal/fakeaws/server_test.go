package fakeaws_test

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/buildrole/buildrole/internal/fakeaws"
)

func TestFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault fakeaws.Fault
		// want[i] is the error code of the i-th CreateRole call, "" = success.
		want []string
	}{
		{"second call throttled", fakeaws.Fault{Action: "CreateRole", Nth: 2, Code: "Throttling"}, []string{"", "Throttling", ""}},
		{"two calls from the second", fakeaws.Fault{Action: "CreateRole", Nth: 2, Times: 2, Code: "ServiceFailure"}, []string{"", "ServiceFailure", "ServiceFailure", ""}},
		{"every call", fakeaws.Fault{Action: "CreateRole", Code: "AccessDenied", Status: 403}, []string{"AccessDenied", "AccessDenied"}},
		{"any action", fakeaws.Fault{Nth: 1}, []string{"ServiceFailure", ""}},
		{"other action", fakeaws.Fault{Action: "DeleteRole"}, []string{"", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := startServer(t)
			c := iamClient(s)
			s.InjectFault(tt.fault)
			for i, want := range tt.want {
				_, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(fmt.Sprintf("r%d", i)), AssumeRolePolicyDocument: aws.String(ec2Trust)})
				if want == "" {
					if err != nil {
						t.Fatalf("call %d: %v", i+1, err)
					}
					continue
				}
				wantCode(t, err, want)
				if _, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(fmt.Sprintf("r%d", i))}); err == nil {
					t.Errorf("call %d failed but created the role", i+1)
				}
			}
			calls := s.Requests()
			var got []string
			for _, c := range calls {
				if c.Action == "CreateRole" {
					got = append(got, c.ErrorCode)
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("logged codes = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFaultTypesAndStatus(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := startServer(t)
	c := iamClient(s)
	s.InjectFault(fakeaws.Fault{Action: "CreateRole", Code: "ServiceFailure"})
	_, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(ec2Trust)})
	var sf *types.ServiceFailureException
	if !errors.As(err, &sf) {
		t.Fatalf("err = %v, want *types.ServiceFailureException", err)
	}
	var re *smithyhttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != 500 {
		t.Errorf("status = %v, want 500", err)
	}
	s.ClearFaults()
	s.InjectFault(fakeaws.Fault{Action: "GetRole", Code: "Throttling", Message: "Rate exceeded"})
	_, err = c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("r")})
	wantCode(t, err, "Throttling")
	if !errors.As(err, &re) || re.HTTPStatusCode() != 400 {
		t.Errorf("Throttling status = %v, want 400", err)
	}
	if calls := s.Requests(); calls[len(calls)-1].Status != 400 {
		t.Errorf("logged status = %d, want 400", calls[len(calls)-1].Status)
	}
}

func TestFaultDropAndAfterApply(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		fault       fakeaws.Fault
		wantCreated bool
	}{
		{"drop before apply", fakeaws.Fault{Action: "CreateRole", Drop: true}, false},
		{"drop after apply", fakeaws.Fault{Action: "CreateRole", Drop: true, AfterApply: true}, true},
		{"error after apply", fakeaws.Fault{Action: "CreateRole", Code: "ServiceFailure", AfterApply: true}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := startServer(t)
			c := iamClient(s)
			s.InjectFault(tt.fault)
			_, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(ec2Trust)})
			var ae smithy.APIError
			var send *smithyhttp.RequestSendError
			switch {
			case tt.fault.Drop && (errors.As(err, &ae) || !errors.As(err, &send)):
				t.Fatalf("err = %v, want a connection error without an API error", err)
			case !tt.fault.Drop:
				wantCode(t, err, tt.fault.Code)
			}
			s.ClearFaults()
			_, err = c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("r")})
			if created := err == nil; created != tt.wantCreated {
				t.Errorf("role created = %v, want %v", created, tt.wantCreated)
			}
			if calls := s.Requests(); tt.fault.Drop && (calls[0].Status != 0 || calls[0].ErrorCode != "ConnectionDropped") {
				t.Errorf("dropped call logged as %+v", calls[0])
			}
		})
	}
}

func TestLatency(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := startServer(t)
	c := iamClient(s)
	s.SetLatency(30 * time.Millisecond)
	s.SetActionLatency("ListRoles", 40*time.Millisecond)
	must(stsClient(s).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))(t)
	must(c.ListRoles(ctx, &iam.ListRolesInput{}))(t)
	// Lower bounds only: the server must have waited at least this long.
	for _, call := range s.Requests() {
		min := 30 * time.Millisecond
		if call.Action == "ListRoles" {
			min = 70 * time.Millisecond
		}
		if d := call.End.Sub(call.Start); d < min {
			t.Errorf("%s took %v, want at least %v", call.Action, d, min)
		}
	}
}

func TestLatencyHonoursCancellation(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.SetLatency(time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := iamClient(s).ListRoles(ctx, &iam.ListRolesInput{})
		done <- err
	}()
	waitFor(t, func() bool { return s.InFlight() == 1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	waitFor(t, func() bool { return s.CountCalls("ListRoles") == 1 })
	if got := s.Requests()[0].ErrorCode; got != "RequestCanceled" {
		t.Errorf("logged ErrorCode = %q, want RequestCanceled", got)
	}
}

func TestCloseDoesNotWaitForLatency(t *testing.T) {
	t.Parallel()
	s := fakeaws.NewServer()
	s.SetLatency(time.Hour)
	done := make(chan error)
	go func() {
		_, err := iamClient(s).ListRoles(context.Background(), &iam.ListRolesInput{})
		done <- err
	}()
	waitFor(t, func() bool { return s.InFlight() == 1 })
	s.Close() // would block for an hour if latency ignored Close
	if err := <-done; err == nil {
		t.Error("call cut short by Close succeeded")
	}
}

// waitFor polls cond for up to 5s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 500 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("condition not reached")
}

// post sends a raw AWS Query request, as a check of the wire format.
func post(t *testing.T, s *fakeaws.Server, form url.Values, signed bool) (int, string) {
	t.Helper()
	req := must(http.NewRequest(http.MethodPost, s.URL(), strings.NewReader(form.Encode())))(t)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if signed {
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+adminKey+"/20250601/us-east-1/iam/aws4_request, SignedHeaders=host;x-amz-date, Signature=00")
	}
	resp := must(http.DefaultClient.Do(req))(t)
	defer resp.Body.Close()
	return resp.StatusCode, string(must(io.ReadAll(resp.Body))(t))
}

func TestWireFormat(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	type errorResponse struct {
		XMLName xml.Name `xml:"https://iam.amazonaws.com/doc/2010-05-08/ ErrorResponse"`
		Type    string   `xml:"Error>Type"`
		Code    string   `xml:"Error>Code"`
		Message string   `xml:"Error>Message"`
		ReqID   string   `xml:"RequestId"`
	}
	tests := []struct {
		name       string
		form       url.Values
		signed     bool
		wantStatus int
		wantCode   string
	}{
		{"unknown action", url.Values{"Action": {"LaunchRockets"}, "Version": {"2010-05-08"}}, true, 400, "InvalidAction"},
		{"unsigned", url.Values{"Action": {"ListRoles"}, "Version": {"2010-05-08"}}, false, 403, "MissingAuthenticationToken"},
		{"missing role", url.Values{"Action": {"GetRole"}, "Version": {"2010-05-08"}, "RoleName": {"x"}}, true, 404, "NoSuchEntity"},
	}
	for _, tt := range tests {
		status, body := post(t, s, tt.form, tt.signed)
		var er errorResponse
		if err := xml.Unmarshal([]byte(body), &er); err != nil {
			t.Fatalf("%s: %v in %s", tt.name, err, body)
		}
		if status != tt.wantStatus || er.Code != tt.wantCode || er.Type != "Sender" || er.ReqID == "" || er.Message == "" {
			t.Errorf("%s: status %d body %s; want %d %s", tt.name, status, body, tt.wantStatus, tt.wantCode)
		}
	}
	status, body := post(t, s, url.Values{"Action": {"ListRoles"}, "Version": {"2010-05-08"}}, true)
	var ok struct {
		XMLName     xml.Name `xml:"https://iam.amazonaws.com/doc/2010-05-08/ ListRolesResponse"`
		IsTruncated string   `xml:"ListRolesResult>IsTruncated"`
		ReqID       string   `xml:"ResponseMetadata>RequestId"`
	}
	if err := xml.Unmarshal([]byte(body), &ok); err != nil || status != 200 || ok.IsTruncated != "false" || ok.ReqID == "" {
		t.Errorf("ListRoles: status %d body %s (%v)", status, body, err)
	}
	status, body = post(t, s, url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}}, true)
	if status != 200 || !strings.Contains(body, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>`) {
		t.Errorf("GetCallerIdentity: status %d body %s", status, body)
	}
}

func TestRequestLog(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := startServer(t)
	c := iamClient(s)
	must(c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(ec2Trust)}))(t)
	_, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(ec2Trust)})
	wantCode(t, err, "EntityAlreadyExists")
	must(stsClient(s).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))(t)
	s.AddRole("seeded", "/", ec2Trust) // seeding is not logged

	calls := s.Requests()
	type row struct {
		action, service, key string
		status               int
		code                 string
	}
	var got []row
	for _, c := range calls {
		got = append(got, row{c.Action, c.Service, c.AccessKeyID, c.Status, c.ErrorCode})
	}
	want := []row{
		{"CreateRole", "iam", adminKey, 200, ""},
		{"CreateRole", "iam", adminKey, 409, "EntityAlreadyExists"},
		{"GetCallerIdentity", "sts", adminKey, 200, ""},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("log = %v, want %v", got, want)
	}
	if calls[0].Params.Get("RoleName") != "r" {
		t.Errorf("Params = %v", calls[0].Params)
	}
	if s.CountCalls("CreateRole") != 2 || s.CountCalls("") != 3 {
		t.Errorf("CountCalls = %d / %d", s.CountCalls("CreateRole"), s.CountCalls(""))
	}
	s.ResetRequests()
	if len(s.Requests()) != 0 {
		t.Error("ResetRequests left entries")
	}
}

func TestParallelServers(t *testing.T) {
	t.Parallel()
	const n = 8
	var wg sync.WaitGroup
	servers := make([]*fakeaws.Server, n)
	for i := range n {
		servers[i] = startServer(t, func(s *fakeaws.Server) { s.AccountID = fmt.Sprintf("%012d", i+1) })
	}
	errs := make(chan error, n)
	for i, s := range servers {
		wg.Go(func() {
			ctx := context.Background()
			c := iamClient(s)
			for j := range 5 {
				if _, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(fmt.Sprintf("same-%d", j)), AssumeRolePolicyDocument: aws.String(ec2Trust)}); err != nil {
					errs <- fmt.Errorf("server %d: %w", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i, s := range servers {
		snap := s.Snapshot()
		if len(snap.Roles) != 5 || !strings.Contains(snap.Roles[0].ARN, fmt.Sprintf(":%012d:", i+1)) {
			t.Errorf("server %d: %d roles, first %+v", i, len(snap.Roles), snap.Roles)
		}
		if s.TokenRequestToken() == servers[(i+1)%n].TokenRequestToken() {
			t.Error("servers share a token request token")
		}
	}
}
