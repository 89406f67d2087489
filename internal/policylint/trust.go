package policylint

import (
	"slices"
	"strings"

	"github.com/buildrole/buildrole/internal/iampolicy"
	"github.com/buildrole/buildrole/internal/jsonpos"
	"github.com/buildrole/buildrole/internal/run"
)

// trustPrincipal flags trust statements that let anyone assume the role.
func (l *linter) trustPrincipal(s *lintStatement) {
	if s.effect != iampolicy.EffectAllow || s.principal == nil {
		return
	}
	p := s.principal
	anyone := p.Kind == jsonpos.String && p.Str == "*"
	if p.Kind == jsonpos.Object {
		if m := p.Member("AWS"); m != nil {
			for _, v := range l.stringListQuiet(m.Val) {
				if v.s == "*" {
					anyone = true
				}
			}
		}
		if m := p.Member("Federated"); m != nil {
			for _, v := range l.stringListQuiet(m.Val) {
				host := v.s
				if _, after, ok := strings.Cut(v.s, ":oidc-provider/"); ok {
					host = after
				}
				if !githubIssuer(host) {
					continue
				}
				if !slices.ContainsFunc(s.conditions, func(c lintCondition) bool {
					return strings.EqualFold(c.key.s, host+":sub")
				}) {
					l.report(v.off, Error, RuleTrustPrincipal, "GitHub OIDC principal without a condition on %s:sub: every GitHub repository's workflows could assume the role; add StringEquals or StringLike on %s:sub", host, host)
				}
			}
		}
	}
	if anyone && len(s.conditions) == 0 {
		l.report(p.Off, Error, RuleTrustPrincipal, "Principal \"*\" without a Condition lets anyone, in any account, assume the role; name the principals")
	}
}

// githubIssuer reports whether an OIDC provider's name (HOST/PATH, as in
// its ARN and its condition keys) is a GitHub Actions issuer: github.com's
// (an enterprise's own path or not), a data-residency
// token.actions.SUBDOMAIN.ghe.com, or GitHub Enterprise Server's
// HOST/_services/token.
func githubIssuer(name string) bool {
	host, path, _ := strings.Cut(strings.ToLower(name), "/")
	switch {
	case host == run.GitHubOIDCHost:
		return true
	case strings.HasPrefix(host, "token.actions.") && strings.HasSuffix(host, ".ghe.com"):
		return true
	}
	return path == "_services/token"
}

// trustSubjects flags conditions on a GitHub token's sub and aud that
// admit more than the writer likely meant.
func (l *linter) trustSubjects(s *lintStatement) {
	if s.effect != iampolicy.EffectAllow {
		return
	}
	for _, c := range s.conditions {
		i := strings.LastIndexByte(c.key.s, ':')
		if i < 0 || !githubIssuer(c.key.s[:i]) {
			continue
		}
		claim := strings.ToLower(c.key.s[i+1:])
		if claim != "sub" && claim != "aud" {
			continue
		}
		op := baseStringOp(c.op.s)
		if claim == "sub" && strings.HasPrefix(op, "StringNot") && !narrowsSub(s, c.key.s) {
			l.report(c.op.off, Error, RuleTrustSubject, "%s on %s admits every sub but the ones it names: workflows of every other repository on GitHub; use StringEquals on the exact subjects allowed", c.op.s, c.key.s)
			continue
		}
		for _, v := range c.values {
			switch {
			case !hasWildcard(v.s):
			case op == "StringEquals":
				l.report(v.off, Warning, RuleTrustSubject, "%s compares %q literally, so no token's %s matches it; write the value exactly, or use StringLike if a pattern is meant", c.op.s, v.s, claim)
			case op != "StringLike":
			case claim == "aud":
				l.report(v.off, Warning, RuleTrustSubject, "aud %q is a pattern: tokens minted for other audiences match it too; write the audience exactly (sts.amazonaws.com)", v.s)
			default:
				l.subPattern(v)
			}
		}
	}
}

// narrowsSub reports whether s also holds key to StringEquals or
// StringLike, which the conditions' AND makes the bound; a StringNot* then
// only excludes within it.
func narrowsSub(s *lintStatement, key string) bool {
	return slices.ContainsFunc(s.conditions, func(c lintCondition) bool {
		op := baseStringOp(c.op.s)
		return strings.EqualFold(c.key.s, key) && (op == "StringEquals" || op == "StringLike")
	})
}

// baseStringOp is op without a set prefix or IfExists.
func baseStringOp(op string) string {
	op = strings.TrimPrefix(strings.TrimPrefix(op, iampolicy.PrefixForAnyValue), iampolicy.PrefixForAllValues)
	return strings.TrimSuffix(op, iampolicy.SuffixIfExists)
}

// subPattern judges a StringLike pattern over GitHub's sub, whose default
// form is repo:OWNER/REPO:CONTEXT. IAM's * also matches ':' and '/'.
func (l *linter) subPattern(v strVal) {
	rest, repoForm := strings.CutPrefix(v.s, "repo:")
	wild := strings.IndexAny(rest, "*?")
	slash := strings.IndexByte(rest, '/')
	switch {
	case strings.Trim(v.s, "*?") == "" || strings.IndexAny(v.s, "*?") == 0:
		l.report(v.off, Error, RuleTrustSubject, "sub %q admits workflows of any repository on GitHub; name the owner and repository, such as \"repo:OWNER/REPO:ref:refs/heads/main\"", v.s)
		return
	case !repoForm:
		l.report(v.off, Warning, RuleTrustSubject, "sub %q is a pattern over a customized sub: it admits every token whose sub matches; write it exactly where you can", v.s)
		return
	case slash < 0 || wild < slash:
		l.report(v.off, Error, RuleTrustSubject, "sub %q has a wildcard in the owner: anyone can register an owner whose name matches; name the owner exactly", v.s)
		return
	}
	repo, context, _ := strings.Cut(rest, ":")
	switch {
	case hasWildcard(repo):
		l.report(v.off, Warning, RuleTrustSubject, "sub %q admits every repository of %s whose name matches; name the repository exactly", v.s, repo[:slash])
	case strings.Trim(context, "*?") == "":
		l.report(v.off, Warning, RuleTrustSubject, "sub %q admits every workflow of %s: any branch, tag, pull request or environment; list the refs or environments allowed", v.s, repo)
	default:
		l.report(v.off, Warning, RuleTrustSubject, "sub %q admits any branch, tag or environment of %s that matches %q; list exact subjects where you can", v.s, repo, context)
	}
}
