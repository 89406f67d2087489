package awsfacts

import "slices"

// deniedCodes are the error codes AWS services answer with when the caller
// lacks a permission: IAM and STS (AccessDenied), EC2 (UnauthorizedOperation,
// and Client.UnauthorizedOperation as SDK v1 reports it in client-side
// monitoring), JSON-protocol services (AccessDeniedException), and the older
// UnauthorizedAccess and AuthorizationError (SNS, SES).
var deniedCodes = []string{
	"AccessDenied",
	"AccessDeniedException",
	"UnauthorizedOperation",
	"Client.UnauthorizedOperation",
	"UnauthorizedAccess",
	"AuthorizationError",
}

// IsDenied reports whether an AWS error code means "not authorized".
func IsDenied(code string) bool { return slices.Contains(deniedCodes, code) }
