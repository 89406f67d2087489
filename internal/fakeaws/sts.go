package fakeaws

import (
	"crypto/rsa"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/buildrole/buildrole/internal/fakeaws/authz"

	"github.com/golang-jwt/jwt/v5"
)

const (
	minDuration     = 900
	chainedDuration = 3600
	defaultDuration = 3600
)

// session is a set of credentials this server issued.
type session struct {
	roleARN, roleName, roleID string
	sessionName               string
	token                     string
	secret                    string // the secret access key: signatures are checked
	chained                   bool   // created by AssumeRole with session credentials
	expires                   time.Time
}

var stsActions = map[string]handler{
	"GetCallerIdentity":         (*Server).getCallerIdentity,
	"AssumeRole":                (*Server).assumeRole,
	"AssumeRoleWithWebIdentity": (*Server).assumeRoleWithWebIdentity,
}

func (s *Server) assumedRoleARN(roleName, sessionName string) string {
	return fmt.Sprintf("arn:%s:sts::%s:assumed-role/%s/%s", s.Partition, s.AccountID, roleName, sessionName)
}

func (s *Server) adminARN() string {
	return fmt.Sprintf("arn:%s:iam::%s:user/fake-admin", s.Partition, s.AccountID)
}

func (s *Server) getCallerIdentity(rc *reqCtx) (any, *apiError) {
	out := struct {
		UserId  string `xml:"UserId"`
		Account string `xml:"Account"`
		Arn     string `xml:"Arn"`
	}{s.adminID, s.AccountID, s.adminARN()}
	if sess := s.sessions[rc.akid]; sess != nil {
		out.UserId = sess.roleID + ":" + sess.sessionName
		out.Arn = s.assumedRoleARN(sess.roleName, sess.sessionName)
	}
	return out, nil
}

// stsParams validates what AssumeRole and AssumeRoleWithWebIdentity share.
func stsParams(rc *reqCtx) (sessionName string, duration int, v validation) {
	sessionName = rc.params.Get("RoleSessionName")
	switch {
	case sessionName == "":
		v.add("roleSessionName", nil, "not be null")
	case len(sessionName) < 2:
		v.add("roleSessionName", sessionName, "have length greater than or equal to 2")
	case len(sessionName) > 64:
		v.add("roleSessionName", sessionName, "have length less than or equal to 64")
	case !namePattern.MatchString(sessionName):
		v.add("roleSessionName", sessionName, namePatternText)
	}
	arn := rc.params.Get("RoleArn")
	switch {
	case arn == "":
		v.add("roleArn", nil, "not be null")
	case len(arn) < 20:
		v.add("roleArn", arn, "have length greater than or equal to 20")
	}
	duration = defaultDuration
	if d := rc.params.Get("DurationSeconds"); d != "" {
		n, err := strconv.Atoi(d)
		switch {
		case err != nil || n > maxSessionDuration:
			v.add("durationSeconds", d, fmt.Sprintf("have value less than or equal to %d", maxSessionDuration))
		case n < minDuration:
			v.add("durationSeconds", d, fmt.Sprintf("have value greater than or equal to %d", minDuration))
		default:
			duration = n
		}
	}
	return sessionName, duration, v
}

// roleByARN finds the role an STS request names, if it exists and its trust
// policy has propagated.
func (s *Server) roleByARN(arn string, now time.Time) *role {
	r := s.roles[strings.ToLower(arn[strings.LastIndex(arn, "/")+1:])]
	if r == nil || r.arn != arn || !s.propagated(r.trustChanged, now) {
		return nil
	}
	return r
}

func (s *Server) assumeRole(rc *reqCtx) (any, *apiError) {
	sessionName, duration, v := stsParams(rc)
	if e := v.err(); e != nil {
		return nil, e
	}
	roleARN := rc.params.Get("RoleArn")
	caller := s.sessions[rc.akid]
	callerARN := s.adminARN()
	principals := []string{s.adminARN()}
	ctx := map[string][]string{"aws:principaltype": {"User"}, "aws:userid": {s.adminID}}
	if caller != nil {
		callerARN = s.assumedRoleARN(caller.roleName, caller.sessionName)
		principals = []string{caller.roleARN, callerARN}
		ctx = map[string][]string{"aws:principaltype": {"AssumedRole"}, "aws:userid": {caller.roleID + ":" + caller.sessionName}}
		if duration > chainedDuration {
			return nil, newErr("ValidationError", "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
		}
	}
	principals = append(principals, fmt.Sprintf("arn:%s:iam::%s:root", s.Partition, s.AccountID), s.AccountID)
	ctx["aws:principalarn"] = principals[:1]
	ctx["aws:principalaccount"] = []string{s.AccountID}
	ctx["sts:rolesessionname"] = []string{sessionName}
	if ext, ok := rc.params["ExternalId"]; ok {
		ctx["sts:externalid"] = ext[:1]
	}
	denied := newErr("AccessDenied", "User: %s is not authorized to perform: sts:AssumeRole on resource: %s", callerARN, roleARN)
	r := s.roleByARN(roleARN, rc.now)
	if r == nil {
		return nil, denied
	}
	trust, bad := authz.Parse(r.trust)
	if bad != nil || !trust.Allows(authz.Request{Action: "sts:AssumeRole", PrincipalType: "AWS", Principals: principals, Context: ctx}) {
		return nil, denied
	}
	if duration > int(r.maxSession) {
		return nil, newErr("ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	akid, sess := s.issue(r, sessionName, duration, caller != nil, rc.now)
	return s.assumeResult(akid, sess), nil
}

type credentialsXML struct {
	AccessKeyId     string `xml:"AccessKeyId"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	SessionToken    string `xml:"SessionToken"`
	Expiration      string `xml:"Expiration"`
}

type assumeResult struct {
	Credentials     credentialsXML `xml:"Credentials"`
	AssumedRoleUser struct {
		AssumedRoleId string `xml:"AssumedRoleId"`
		Arn           string `xml:"Arn"`
	} `xml:"AssumedRoleUser"`
}

func (s *Server) issue(r *role, sessionName string, duration int, chained bool, now time.Time) (string, *session) {
	akid := "ASIA" + randString(upperAlnum, 16)
	sess := &session{
		roleARN: r.arn, roleName: r.name, roleID: r.id, sessionName: sessionName,
		token:   "IQoJb3JpZ2luX2VjE" + randString(secretSet, 600),
		secret:  randString(secretSet, 40),
		chained: chained, expires: now.Add(time.Duration(duration) * time.Second),
	}
	if s.lifetime > 0 {
		sess.expires = now.Add(s.lifetime)
	}
	s.sessions[akid] = sess
	return akid, sess
}

func (s *Server) assumeResult(akid string, sess *session) assumeResult {
	var out assumeResult
	out.Credentials = credentialsXML{akid, sess.secret, sess.token, isoTime(sess.expires)}
	out.AssumedRoleUser.AssumedRoleId = sess.roleID + ":" + sess.sessionName
	out.AssumedRoleUser.Arn = s.assumedRoleARN(sess.roleName, sess.sessionName)
	return out
}

func (s *Server) assumeRoleWithWebIdentity(rc *reqCtx) (any, *apiError) {
	sessionName, duration, v := stsParams(rc)
	raw := rc.params.Get("WebIdentityToken")
	switch {
	case raw == "":
		v.add("webIdentityToken", nil, "not be null")
	case len(raw) < 4:
		v.add("webIdentityToken", raw, "have length greater than or equal to 4")
	case len(raw) > 20000:
		v.add("webIdentityToken", "***", "have length less than or equal to 20000")
	}
	if e := v.err(); e != nil {
		return nil, e
	}
	claims, prov, e := s.verifyWebIdentity(raw, rc.now)
	if e != nil {
		return nil, e
	}
	roleARN := rc.params.Get("RoleArn")
	denied := newErr("AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity")
	r := s.roleByARN(roleARN, rc.now)
	if r == nil {
		return nil, denied
	}
	host := providerKey(prov.url)
	ctx := map[string][]string{"sts:rolesessionname": {sessionName}}
	for k, val := range claims {
		if vals, ok := claimValues(val); ok {
			ctx[strings.ToLower(host+":"+k)] = vals
		}
	}
	trust, bad := authz.Parse(r.trust)
	if bad != nil || !trust.Allows(authz.Request{Action: "sts:AssumeRoleWithWebIdentity", PrincipalType: "Federated", Principals: []string{prov.arn}, Context: ctx}) {
		return nil, denied
	}
	if duration > int(r.maxSession) {
		return nil, newErr("ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	akid, sess := s.issue(r, sessionName, duration, false, rc.now)
	sub, _ := claims["sub"].(string)
	aud, _ := claimValues(claims["aud"])
	matched := ""
	for _, a := range aud {
		if containsString(prov.clientIDs, a) {
			matched = a
			break
		}
	}
	return struct {
		assumeResult
		SubjectFromWebIdentityToken string `xml:"SubjectFromWebIdentityToken"`
		Audience                    string `xml:"Audience"`
		Provider                    string `xml:"Provider"`
	}{s.assumeResult(akid, sess), sub, matched, prov.arn}, nil
}

// verifyWebIdentity does what STS does with an OIDC token before looking at
// the role: find the provider for `iss`, check the signature against the
// issuer's JWKS, then expiry and audience.
func (s *Server) verifyWebIdentity(raw string, now time.Time) (jwt.MapClaims, *provider, *apiError) {
	invalid := func(msg string) *apiError { return newErr("InvalidIdentityToken", "%s", msg) }
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(raw, claims); err != nil {
		return nil, nil, invalid("The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)")
	}
	iss, _ := claims["iss"].(string)
	prov := s.providers[s.providerARN(iss)]
	if iss == "" || prov == nil {
		return nil, nil, invalid("No OpenIDConnect provider found in your account for " + iss)
	}
	if providerKey(iss) != providerKey(s.Issuer) {
		return nil, nil, newErr("IDPCommunicationError", "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements")
	}
	key, kid, err := s.issuer.SigningKey()
	if err != nil {
		return nil, nil, newErr("ServiceFailure", "signing key: %v", err)
	}
	_, err = jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithoutClaimsValidation()).
		Parse(raw, func(t *jwt.Token) (any, error) {
			if t.Header["kid"] != kid {
				return nil, fmt.Errorf("unknown kid %v", t.Header["kid"])
			}
			return key.Public().(*rsa.PublicKey), nil
		})
	if err != nil {
		return nil, nil, invalid("Couldn't verify the signature of the web identity token with any key published by the identity provider.")
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		return nil, nil, invalid("The ID Token provided does not contain an expiration (exp) claim.")
	}
	if !now.Before(exp.Time) {
		return nil, nil, newErr("ExpiredTokenException", "Token expired: current date/time %d must be before the expiration date/time %d", now.Unix(), exp.Unix())
	}
	aud, _ := claimValues(claims["aud"])
	for _, a := range aud {
		if containsString(prov.clientIDs, a) {
			return claims, prov, nil
		}
	}
	return nil, nil, invalid("Incorrect token audience")
}

// claimValues turns a string or string-array claim into condition values;
// other claim types are not usable as condition keys.
func claimValues(v any) ([]string, bool) {
	switch t := v.(type) {
	case string:
		return []string{t}, true
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out, true
	case bool:
		return []string{strconv.FormatBool(t)}, true
	}
	return nil, false
}

func containsString(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
