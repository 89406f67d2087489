package cli_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/buildrole/buildrole/internal/cli"
	"github.com/buildrole/buildrole/internal/fakeaws"
	"github.com/buildrole/buildrole/internal/wiretap"
)

var execBenchTable = flag.String("exec-bench-table", "", "write BenchmarkExecProxy's table to this file instead of stdout")

const (
	fixedRuns       = 15
	proxyCalls      = 300 // per side, for the per-call median
	packerBuildRuns = 5   // builds per side
)

// BenchmarkExecProxy measures what exec's proxy costs:
//
//   - per call: the AWS SDK for Go v2 calling GetCallerIdentity on a TLS
//     endpoint on loopback, directly, and through the proxy (intercepted,
//     recorded and forwarded to that endpoint), one call at a time,
//     alternating; the medians and their difference.
//   - per run: `true` started directly and under exec (proxy, its CA,
//     the CSM listener, both closed), alternating; medians.
//   - per build: Debian's packer 1.6.6 building an AMI (amazon-ebs, the whole build)
//     against fakeaws, with the endpoint in the template, and under exec
//     --endpoint-url with none; alternating, medians of wall time.
func BenchmarkExecProxy(b *testing.B) {
	var out strings.Builder
	for range b.N {
		direct, proxied := proxyPerCall(b)
		fmt.Fprintf(&out, "| per call (SDK v2, loopback TLS, %d calls) | %.2f ms | %.2f ms | +%.2f ms |\n", proxyCalls,
			ms(direct), ms(proxied), ms(proxied)-ms(direct))
		bareTrue, underTrue := fixedCost(b)
		fmt.Fprintf(&out, "| exec's start and end (command: true, %d runs) | %.1f ms | %.1f ms | +%.1f ms |\n", fixedRuns,
			ms(bareTrue), ms(underTrue), ms(underTrue)-ms(bareTrue))
		if packer, err := exec.LookPath("packer"); err == nil {
			bare, under := packerBuilds(b, packer)
			fmt.Fprintf(&out, "| packer 1.6.6 amazon-ebs build, AMI included (%d runs) | %.3f s | %.3f s | %+.1f %% |\n", packerBuildRuns,
				bare.Seconds(), under.Seconds(), 100*(under.Seconds()-bare.Seconds())/bare.Seconds())
		}
	}
	table := "| exec's proxy | without | under exec | cost |\n|---|---|---|---|\n" + out.String() + "\nMedians.\n"
	if *execBenchTable != "" {
		if err := os.WriteFile(*execBenchTable, []byte(table), 0o644); err != nil {
			b.Fatal(err)
		}
		return
	}
	fmt.Print(table)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func medianDuration(d []time.Duration) time.Duration {
	slices.Sort(d)
	return d[len(d)/2]
}

func proxyPerCall(b *testing.B) (direct, proxied time.Duration) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/b</Arn><UserId>AIDAB</UserId><Account>123456789012</Account></GetCallerIdentityResult></GetCallerIdentityResponse>`)
	}))
	defer srv.Close()
	serverPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	endpoint, _ := url.Parse(srv.URL)
	px, err := wiretap.Start(wiretap.Options{Endpoint: endpoint, Upstream: wiretap.Upstream{CABundle: serverPEM}, Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer px.Close()
	var bundle string
	for _, kv := range px.Environ(nil) {
		if v, ok := strings.CutPrefix(kv, "AWS_CA_BUNDLE="); ok {
			bundle = v
		}
	}
	caPEM, err := os.ReadFile(bundle)
	if err != nil {
		b.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	proxyURL, _ := url.Parse(px.URL())
	creds := credentials.NewStaticCredentialsProvider("AKIAIOSFODNN7EXAMPLE", "secret", "")
	viaProxy := sts.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: creds,
		HTTPClient: &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxyURL), TLSClientConfig: &tls.Config{RootCAs: pool}}}})
	straight := sts.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: creds, BaseEndpoint: aws.String(srv.URL), HTTPClient: srv.Client()})
	ctx := context.Background()
	var d, p []time.Duration
	for i := range proxyCalls + 10 {
		for _, c := range []struct {
			client *sts.Client
			into   *[]time.Duration
		}{{straight, &d}, {viaProxy, &p}} {
			start := time.Now()
			if _, err := c.client.GetCallerIdentity(ctx, nil); err != nil {
				b.Fatal(err)
			}
			if i >= 10 { // the first calls open connections
				*c.into = append(*c.into, time.Since(start))
			}
		}
	}
	return medianDuration(d), medianDuration(p)
}

func packerBuilds(b *testing.B, packer string) (bare, under time.Duration) {
	srv := fakeaws.NewServer()
	defer srv.Close()
	srv.EC2().SeedImage(fakeaws.EC2Image{ID: "ami-0abc1234", Name: "bench-source", Owner: "099720109477"})
	dir := b.TempDir()
	template := func(name, endpoint string) string {
		path := filepath.Join(dir, name)
		_ = os.WriteFile(path, []byte(fakeaws.PackerEBSTemplate(fakeaws.PackerBuild{Endpoint: endpoint, SourceAMI: "ami-0abc1234"})), 0o644)
		return path
	}
	withEndpoint := template("direct.pkr.hcl", srv.URL())
	without := template("proxied.pkr.hcl", "")
	// A whole amazon-ebs build, AMI included, as the account's
	// administrator (static keys fakeaws does not bind to a role).
	environ := append(os.Environ(), "HOME="+dir, "PACKER_CONFIG_DIR="+dir, "CHECKPOINT_DISABLE=1", "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
		"AWS_SECRET_ACCESS_KEY=secret", "AWS_PROFILE=", "AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent",
		"AWS_POLL_DELAY_SECONDS=1")
	var bs, us []time.Duration
	for range packerBuildRuns {
		start := time.Now()
		cmd := exec.Command(packer, "build", "-color=false", withEndpoint)
		cmd.Env = environ
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("packer build: %v\n%s", err, out)
		}
		bs = append(bs, time.Since(start))
		start = time.Now()
		code := cli.Main(context.Background(), []string{"buildrole", "exec", "--endpoint-url", srv.URL(), "--", packer, "build", "-color=false", without},
			cli.Env{Environ: func() []string { return environ }, Stdout: io.Discard, Stderr: io.Discard, Stdin: strings.NewReader("")})
		us = append(us, time.Since(start))
		if code != 0 {
			b.Fatalf("packer build under exec: exit %d, calls %d", code, srv.CountCalls(""))
		}
	}
	return medianDuration(bs), medianDuration(us)
}

func fixedCost(b *testing.B) (bare, under time.Duration) {
	truePath, err := exec.LookPath("true")
	if err != nil {
		b.Fatal(err)
	}
	var bs, us []time.Duration
	for range fixedRuns {
		start := time.Now()
		if err := exec.Command(truePath).Run(); err != nil {
			b.Fatal(err)
		}
		bs = append(bs, time.Since(start))
		start = time.Now()
		if code := cli.Main(context.Background(), []string{"buildrole", "exec", "--credentials=environment", "--", truePath},
			cli.Env{Environ: os.Environ, Stdout: io.Discard, Stderr: io.Discard, Stdin: strings.NewReader("")}); code != 0 {
			b.Fatalf("exec exit %d", code)
		}
		us = append(us, time.Since(start))
	}
	return medianDuration(bs), medianDuration(us)
}
