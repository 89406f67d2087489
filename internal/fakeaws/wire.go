package fakeaws

import (
	"bytes"
	"crypto/rand"
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
	"time"
)

const (
	iamNS = "https://iam.amazonaws.com/doc/2010-05-08/"
	stsNS = "https://sts.amazonaws.com/doc/2011-06-15/"
)

// apiError is an AWS error response.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

// statusFor is the HTTP status AWS sends with each error code.
var statusFor = map[string]int{
	"NoSuchEntity":               404,
	"EntityAlreadyExists":        409,
	"DeleteConflict":             409,
	"LimitExceeded":              409,
	"ConcurrentModification":     409,
	"MalformedPolicyDocument":    400,
	"ValidationError":            400,
	"InvalidInput":               400,
	"InvalidAction":              400,
	"InvalidParameterValue":      400,
	"Throttling":                 400,
	"AccessDenied":               403,
	"ExpiredToken":               403,
	"InvalidClientTokenId":       403,
	"ExpiredTokenException":      400,
	"InvalidIdentityToken":       400,
	"IDPRejectedClaim":           403,
	"IDPCommunicationError":      400,
	"ServiceFailure":             500,
	"InternalFailure":            500,
	"ServiceUnavailable":         503,
	"RequestLimitExceeded":       400,
	"UnmodifiableEntity":         400,
	"MissingAuthenticationToken": 403,
	"RegionDisabledException":    403,
	"PackedPolicyTooLarge":       400,
	"RequestExpired":             400,
	"SignatureDoesNotMatch":      403,
	"IncompleteSignature":        400,
	"OptInRequired":              403,
}

var defaultMessage = map[string]string{
	"Throttling":         "Rate exceeded",
	"ServiceFailure":     "Service failure",
	"InternalFailure":    "An internal error has occurred",
	"ServiceUnavailable": "Service is unavailable",
	"AccessDenied":       "User is not authorized to perform this operation",
}

func faultError(f *Fault) *apiError {
	e := &apiError{Code: f.Code, Status: f.Status, Message: f.Message}
	if e.Code == "" {
		e.Code = "ServiceFailure"
	}
	if e.Status == 0 {
		e.Status = statusFor[e.Code]
		if e.Status == 0 {
			e.Status = 500
		}
	}
	if e.Message == "" {
		e.Message = defaultMessage[e.Code]
		if e.Message == "" {
			e.Message = "Injected fault " + e.Code
		}
	}
	return e
}

func newErr(code, format string, args ...any) *apiError {
	return &apiError{Status: statusFor[code], Code: code, Message: fmt.Sprintf(format, args...)}
}

func errInvalidAction(action, version string) *apiError {
	if action == "" {
		return &apiError{Status: 400, Code: "MissingAction", Message: "Missing Action"}
	}
	return newErr("InvalidAction", "Could not find operation %s for version %s", action, version)
}

func errInvalidParameter(msg string) *apiError { return newErr("InvalidParameterValue", "%s", msg) }

func errNoSuchRole(name string) *apiError {
	return newErr("NoSuchEntity", "The role with name %s cannot be found.", name)
}

func errNoSuchProfile(name string) *apiError {
	return newErr("NoSuchEntity", "Instance Profile %s cannot be found.", name)
}

func errMalformed(msg string) *apiError { return newErr("MalformedPolicyDocument", "%s", msg) }

// validation collects constraint violations the way AWS reports them:
// "2 validation errors detected: Value 'x' at 'roleName' failed to ...; ...".
type validation []string

func (v *validation) add(field string, value any, constraint string) {
	val := "null"
	if s, ok := value.(string); ok {
		val = "'" + s + "'"
	} else if value != nil {
		val = fmt.Sprintf("'%v'", value)
	}
	*v = append(*v, fmt.Sprintf("Value %s at '%s' failed to satisfy constraint: Member must %s", val, field, constraint))
}

func (v validation) err() *apiError {
	if len(v) == 0 {
		return nil
	}
	noun := "errors"
	if len(v) == 1 {
		noun = "error"
	}
	return newErr("ValidationError", "%d validation %s detected: %s", len(v), noun, strings.Join(v, "; "))
}

func writeXML(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func writeError(w http.ResponseWriter, ns, reqID string, e *apiError) {
	typ := "Sender"
	if e.Status >= 500 {
		typ = "Receiver"
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, `<ErrorResponse xmlns="%s"><Error><Type>%s</Type><Code>%s</Code><Message>`, ns, typ, e.Code)
	_ = xml.EscapeText(&b, []byte(e.Message))
	fmt.Fprintf(&b, `</Message></Error><RequestId>%s</RequestId></ErrorResponse>`, reqID)
	w.Header().Set("X-Amzn-Requestid", reqID)
	writeXML(w, e.Status, b.Bytes())
}

func writeResult(w http.ResponseWriter, ns, action, reqID string, result any) {
	var b bytes.Buffer
	fmt.Fprintf(&b, `<%sResponse xmlns="%s">`, action, ns)
	if result != nil {
		enc := xml.NewEncoder(&b)
		if err := enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: action + "Result"}}); err != nil {
			writeError(w, ns, reqID, newErr("ServiceFailure", "encode response: %v", err))
			return
		}
	}
	fmt.Fprintf(&b, `<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>`, reqID, action)
	w.Header().Set("X-Amzn-Requestid", reqID)
	writeXML(w, http.StatusOK, b.Bytes())
}

func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

const (
	upperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	secretSet  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
)

func randString(set string, n int) string {
	buf := make([]byte, n)
	_, _ = rand.Read(buf)
	for i, c := range buf {
		buf[i] = set[int(c)%len(set)]
	}
	return string(buf)
}
