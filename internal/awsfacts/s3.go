package awsfacts

import "strings"

// s3Actions maps the S3 API operations whose IAM actions have other names
// to those actions (Amazon S3 User Guide, "Required permissions for Amazon
// S3 API operations"), keyed by the operation's name in lower case. The
// first action is the one the operation's own resource needs (CopyObject
// writes its destination, and also reads its source).
var s3Actions = map[string][]string{
	"listobjects":                     {"s3:ListBucket"},
	"listobjectsv2":                   {"s3:ListBucket"},
	"headbucket":                      {"s3:ListBucket"},
	"headobject":                      {"s3:GetObject"},
	"copyobject":                      {"s3:PutObject", "s3:GetObject"},
	"uploadpartcopy":                  {"s3:PutObject", "s3:GetObject"},
	"listobjectversions":              {"s3:ListBucketVersions"},
	"listmultipartuploads":            {"s3:ListBucketMultipartUploads"},
	"listparts":                       {"s3:ListMultipartUploadParts"},
	"createmultipartupload":           {"s3:PutObject"},
	"uploadpart":                      {"s3:PutObject"},
	"completemultipartupload":         {"s3:PutObject"},
	"deleteobjects":                   {"s3:DeleteObject"},
	"listbuckets":                     {"s3:ListAllMyBuckets"},
	"getbucketencryption":             {"s3:GetEncryptionConfiguration"},
	"putbucketencryption":             {"s3:PutEncryptionConfiguration"},
	"getbucketlifecycleconfiguration": {"s3:GetLifecycleConfiguration"},
	"putbucketlifecycleconfiguration": {"s3:PutLifecycleConfiguration"},
	"getbucketreplication":            {"s3:GetReplicationConfiguration"},
	"putbucketreplication":            {"s3:PutReplicationConfiguration"},
}

// S3Actions returns the IAM actions an S3 API operation needs when they
// are not "s3:" plus its own name; nil for the operations named like their
// action. The name is matched case-insensitively.
func S3Actions(api string) []string {
	a := s3Actions[strings.ToLower(api)]
	if a == nil {
		return nil
	}
	return append([]string(nil), a...)
}
