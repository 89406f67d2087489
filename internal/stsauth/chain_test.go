package stsauth

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// The default profile is looked for in the files the SDK will read: those
// AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE name, not only ~/.aws.
// Keys there come before the instance's role, as in the SDK's own chain.
// Not parallel: the SDK reads the process environment.
func TestDefaultProfileFromTheNamedFiles(t *testing.T) {
	dir := t.TempDir()
	creds := filepath.Join(dir, "creds")
	if err := os.WriteFile(creds, []byte("[default]\naws_access_key_id = AKIDFROMFILE0000\naws_secret_access_key = s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"HOME": t.TempDir(), "AWS_SHARED_CREDENTIALS_FILE": creds, "AWS_CONFIG_FILE": filepath.Join(dir, "none"),
		"AWS_ACCESS_KEY_ID": "ASIAEXPORTED00000", "AWS_SECRET_ACCESS_KEY": "x", "AWS_EC2_METADATA_DISABLED": "true",
	}
	for _, k := range []string{"AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_WEB_IDENTITY_TOKEN_FILE"} {
		t.Setenv(k, "")
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	p, err := chainCredentials(context.Background(), Options{Region: "us-east-1", SkipKeyID: "ASIAEXPORTED00000", Getenv: os.Getenv})
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.Retrieve(context.Background())
	if err != nil || c.AccessKeyID != "AKIDFROMFILE0000" {
		t.Fatalf("got %q, %v; want the default profile of AWS_SHARED_CREDENTIALS_FILE", c.AccessKeyID, err)
	}
}
