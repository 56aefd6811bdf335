package policy

import (
	"errors"
	"strings"
	"testing"
)

func TestGlob(t *testing.T) {
	tests := []struct {
		pat, s string
		fold   bool
		want   bool
	}{
		{"*", "", false, true},
		{"esa:*", "esa:SetCertificate", true, true},
		{"esa:get*", "esa:GetSite", true, true},
		{"esa:Get*", "esa:ListSites", true, false},
		{"ESA:SETCERTIFICATE", "esa:SetCertificate", true, true},
		{"acs:esa:*:123:site/42", "acs:esa:*:123:site/42", false, true},
		{"acs:esa:*:123:site/42", "acs:esa:*:123:site/420", false, false},
		{"acs:esa:*:123:site/*", "acs:esa:*:123:site/420", false, true},
		{"acs:esa:*:123:Site/*", "acs:esa:*:123:site/420", false, false},
		{"a?c", "abc", false, true},
		{"a?c", "ac", false, false},
		{"*a*a*a*a*a*b", strings.Repeat("a", 60), false, false},
		{"**", "x", false, true},
		{"a*b*c", "aXbYc", false, true},
		{"a*b*c", "aXbY", false, false},
	}
	for _, tt := range tests {
		if got := compile(tt.pat, tt.fold).match(tt.s); got != tt.want {
			t.Errorf("match(%q, %q, fold=%v) = %v, want %v", tt.pat, tt.s, tt.fold, got, tt.want)
		}
	}
}

func TestParseRefusesMalformedDocuments(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"fail/not_json", `{`, "not a JSON object"},
		{"fail/version", `{"Version":"2","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`, `Version must be "1"`},
		{"fail/no_statement", `{"Version":"1"}`, "Statement"},
		{"fail/empty_statement", `{"Version":"1","Statement":[]}`, "Statement"},
		{"fail/effect", `{"Version":"1","Statement":[{"Effect":"Maybe","Action":"*","Resource":"*"}]}`, "Effect"},
		{"fail/no_action", `{"Version":"1","Statement":[{"Effect":"Allow","Resource":"*"}]}`, "Action or NotAction"},
		{"fail/both_actions", `{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","NotAction":"*","Resource":"*"}]}`, "not both"},
		{"fail/bad_action", `{"Version":"1","Statement":[{"Effect":"Allow","Action":"SetCertificate","Resource":"*"}]}`, "product:ActionName"},
		{"fail/no_resource", `{"Version":"1","Statement":[{"Effect":"Allow","Action":"esa:*"}]}`, "Resource"},
		{"fail/operator", `{"Version":"1","Statement":[{"Effect":"Allow","Action":"esa:*","Resource":"*","Condition":{"IpAdress":{"acs:SourceIp":"10.0.0.0/8"}}}]}`, "unknown condition operator"},
		{"fail/cidr", `{"Version":"1","Statement":[{"Effect":"Allow","Action":"esa:*","Resource":"*","Condition":{"IpAddress":{"acs:SourceIp":"10.0.0.0/99"}}}]}`, "IP addresses"},
		{"fail/date", `{"Version":"1","Statement":[{"Effect":"Allow","Action":"esa:*","Resource":"*","Condition":{"DateLessThan":{"acs:CurrentTime":"tomorrow"}}}]}`, "times"},
		{"fail/unknown_element", `{"Version":"1","Statement":[{"Effect":"Allow","Action":"esa:*","Resource":"*","Principal":"*"}]}`, "unknown element"},
		{"fail/too_large", `{"Version":"1","Statement":[{"Effect":"Allow","Action":"esa:*","Resource":"` + strings.Repeat("x", MaxDocumentSize) + `"}]}`, "more than the 6144"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.doc)
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse = %v, want ErrMalformed saying %q", err, tt.want)
			}
		})
	}
}

func req(action, resource string, kv ...string) Request {
	r := Request{Action: action, Resource: resource}
	for i := 0; i+1 < len(kv); i += 2 {
		r.Set(kv[i], kv[i+1])
	}
	return r
}

func TestEvaluate(t *testing.T) {
	pipeline := MustParse(`{"Version":"1","Statement":[{"Effect":"Allow","Action":"esa:SetCertificate",
		"Resource":"acs:esa:*:1234:site/42","Condition":{"IpAddress":{"acs:SourceIp":["203.0.113.0/24"]}}}]}`)
	readOnly := MustParse(`{"Version":"1","Statement":{"Effect":"Allow","Action":["esa:Get*","esa:List*"],"Resource":"*"}}`)
	denyDelete := MustParse(`{"Version":"1","Statement":[{"Effect":"Deny","Action":"esa:Delete*","Resource":"*"}]}`)
	admin := MustParse(`{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)
	httpsOnly := MustParse(`{"Version":"1","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"Bool":{"acs:SecureTransport":"false"}}}]}`)
	window := MustParse(`{"Version":"1","Statement":[{"Effect":"Allow","Action":"esa:*","Resource":"*",
		"Condition":{"DateGreaterThan":{"acs:CurrentTime":"2026-01-01T00:00:00Z"},"DateLessThan":{"acs:CurrentTime":"2027-01-01T00:00:00Z"}}}]}`)
	notEsa := MustParse(`{"Version":"1","Statement":[{"Effect":"Allow","NotAction":"esa:*","Resource":"*"}]}`)
	site := "acs:esa:*:1234:site/42"
	tests := []struct {
		name     string
		r        Request
		policies []*Policy
		want     Decision
	}{
		{"ok/pipeline", req("esa:SetCertificate", site, KeySourceIP, "203.0.113.9"), []*Policy{pipeline}, Allowed},
		{"fail/pipeline_other_ip", req("esa:SetCertificate", site, KeySourceIP, "198.51.100.9"), []*Policy{pipeline}, ImplicitDeny},
		{"fail/pipeline_no_ip", req("esa:SetCertificate", site), []*Policy{pipeline}, ImplicitDeny},
		{"fail/pipeline_other_site", req("esa:SetCertificate", "acs:esa:*:1234:site/43", KeySourceIP, "203.0.113.9"), []*Policy{pipeline}, ImplicitDeny},
		{"fail/pipeline_other_action", req("esa:DeleteCertificate", site, KeySourceIP, "203.0.113.9"), []*Policy{pipeline}, ImplicitDeny},
		{"ok/mapped_ipv4", req("esa:SetCertificate", site, KeySourceIP, "::ffff:203.0.113.9"), []*Policy{pipeline}, Allowed},
		{"ok/read_only", req("esa:GetSite", site), []*Policy{readOnly}, Allowed},
		{"ok/action_case", req("ESA:getsite", site), []*Policy{readOnly}, Allowed},
		{"fail/read_only_write", req("esa:SetCertificate", site), []*Policy{readOnly}, ImplicitDeny},
		{"fail/explicit_deny_wins", req("esa:DeleteSite", site), []*Policy{admin, denyDelete}, ExplicitDeny},
		{"fail/explicit_deny_first", req("esa:DeleteSite", site), []*Policy{denyDelete, admin}, ExplicitDeny},
		{"ok/admin", req("ram:CreateUser", "*"), []*Policy{admin, denyDelete}, Allowed},
		{"fail/insecure", req("esa:GetSite", site, KeySecureTransport, "false"), []*Policy{admin, httpsOnly}, ExplicitDeny},
		{"ok/secure", req("esa:GetSite", site, KeySecureTransport, "true"), []*Policy{admin, httpsOnly}, Allowed},
		{"ok/window", req("esa:GetSite", site, KeyCurrentTime, "2026-12-04T10:00:00Z"), []*Policy{window}, Allowed},
		{"fail/window_after", req("esa:GetSite", site, KeyCurrentTime, "2027-02-01T00:00:00Z"), []*Policy{window}, ImplicitDeny},
		{"ok/not_action", req("ram:ListUsers", "*"), []*Policy{notEsa}, Allowed},
		{"fail/not_action", req("esa:ListSites", "*"), []*Policy{notEsa}, ImplicitDeny},
		{"fail/nothing", req("esa:ListSites", "*"), nil, ImplicitDeny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Evaluate(tt.r, tt.policies...); got != tt.want {
				t.Errorf("Evaluate = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseTrustRefusesMalformedDocuments(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"fail/no_principal", `{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}`, "needs a Principal"},
		{"fail/resource", `{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*","Principal":{"RAM":"*"}}]}`, "no Resource"},
		{"fail/principal_string", `{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":"*"}]}`, "Principal must be an object"},
		{"fail/unknown_principal", `{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"AWS":"*"}}]}`, `unknown Principal "AWS"`},
		{"fail/empty_principal", `{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":[]}}]}`, "non-empty list"},
		{"fail/bad_condition", `{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":"*"},"Condition":{"Nope":{"a":"b"}}}]}`, "unknown condition operator"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseTrust(tt.doc)
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParseTrust = %v, want ErrMalformed saying %q", err, tt.want)
			}
		})
	}
	if _, err := Parse(`{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Principal":{"RAM":"*"}}]}`); !errors.Is(err, ErrMalformed) {
		t.Errorf("Parse accepted a Principal: %v", err)
	}
}

func TestTrustEvaluate(t *testing.T) {
	account := MustParseTrust(`{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":["acs:ram::1234:root"]}}]}`)
	alice := MustParseTrust(`{"Version":"1","Statement":{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":"acs:ram::1234:user/alice"},
		"Condition":{"IpAddress":{"acs:SourceIp":"10.0.0.0/8"}}}}`)
	denyBob := MustParseTrust(`{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":"1234"}},
		{"Effect":"Deny","Action":"sts:*","Principal":{"RAM":"acs:ram::1234:user/bob"}}]}`)
	service := MustParseTrust(`{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Service":"ecs.aliyuncs.com"}}]}`)
	user := func(acct, name string) Caller {
		return Caller{Account: acct, ARNs: []string{"acs:ram::" + acct + ":user/" + name}}
	}
	tests := []struct {
		name   string
		trust  *Trust
		r      Request
		caller Caller
		want   Decision
	}{
		{"ok/account_root", account, req("sts:AssumeRole", ""), user("1234", "alice"), Allowed},
		{"fail/other_account", account, req("sts:AssumeRole", ""), user("9999", "alice"), ImplicitDeny},
		{"fail/other_action", account, req("sts:GetCallerIdentity", ""), user("1234", "alice"), ImplicitDeny},
		{"ok/user_and_ip", alice, req("sts:AssumeRole", "", KeySourceIP, "10.1.2.3"), user("1234", "alice"), Allowed},
		{"fail/user_other_ip", alice, req("sts:AssumeRole", "", KeySourceIP, "192.0.2.1"), user("1234", "alice"), ImplicitDeny},
		{"fail/other_user", alice, req("sts:AssumeRole", "", KeySourceIP, "10.1.2.3"), user("1234", "bob"), ImplicitDeny},
		{"ok/bare_account", denyBob, req("sts:AssumeRole", ""), user("1234", "alice"), Allowed},
		{"fail/explicit_deny", denyBob, req("sts:AssumeRole", ""), user("1234", "bob"), ExplicitDeny},
		{"fail/service_only", service, req("sts:AssumeRole", ""), user("1234", "alice"), ImplicitDeny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.trust.Evaluate(tt.r, tt.caller); got != tt.want {
				t.Errorf("Evaluate = %v, want %v", got, tt.want)
			}
		})
	}
}
