package httpsconf_test

import (
	"crypto/tls"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/httpsconf"
	"github.com/esacert/esacert/internal/site"
	"github.com/esacert/esacert/internal/sitetest"
	"github.com/esacert/esacert/internal/store/sqlstore"
	"github.com/google/go-cmp/cmp"
)

// newService is a Service on a real SQLite file with one site, example.com.
func newService(t *testing.T) (*httpsconf.Service, *sqlstore.Store, site.Site) {
	e := sitetest.New(t)
	return &httpsconf.Service{Store: e.Store, Sites: e.Store}, e.Store, e.Site
}

// sitesOf is the site service beside svc, on its store.
func sitesOf(svc *httpsconf.Service) *site.Service {
	return &site.Service{Store: svc.Sites.(site.Store)}
}

func TestParseRule(t *testing.T) {
	ok := []struct {
		name string
		rule string
		want httpsconf.RuleMatch
	}{
		{"ok/true", "true", httpsconf.RuleMatch{All: true}},
		{"ok/true_spaces", "  true ", httpsconf.RuleMatch{All: true}},
		{"ok/eq", `(http.host eq "a.example.com")`, httpsconf.RuleMatch{Hosts: []string{"a.example.com"}}},
		{"ok/eq_without_parens", `http.host eq "a.example.com"`, httpsconf.RuleMatch{Hosts: []string{"a.example.com"}}},
		{"ok/eq_lowercased_trailing_dot", `(http.host eq "A.Example.COM.")`, httpsconf.RuleMatch{Hosts: []string{"a.example.com"}}},
		{"ok/or", `(http.host eq "b.example.com") or (http.host eq "a.example.com")`,
			httpsconf.RuleMatch{Hosts: []string{"a.example.com", "b.example.com"}}},
		{"ok/in", `(http.host in {"a.example.com" "b.example.com"})`, httpsconf.RuleMatch{Hosts: []string{"a.example.com", "b.example.com"}}},
		{"ok/in_duplicates", `(http.host in {"a.example.com" "a.example.com"})`, httpsconf.RuleMatch{Hosts: []string{"a.example.com"}}},
		{"ok/and_same_host", `(http.host eq "a.example.com") and (http.host in {"a.example.com" "b.example.com"})`,
			httpsconf.RuleMatch{Hosts: []string{"a.example.com"}}},
		{"ok/and_binds_tighter", `(http.host eq "c.example.com") or (http.host eq "a.example.com") and (http.host eq "a.example.com")`,
			httpsconf.RuleMatch{Hosts: []string{"a.example.com", "c.example.com"}}},
		{"ok/nested", `((http.host eq "a.example.com") or (http.host eq "b.example.com"))`,
			httpsconf.RuleMatch{Hosts: []string{"a.example.com", "b.example.com"}}},
		{"ok/true_or_host", `true or (http.host eq "a.example.com")`, httpsconf.RuleMatch{All: true}},
		{"ok/true_and_host", `true and (http.host eq "a.example.com")`, httpsconf.RuleMatch{Hosts: []string{"a.example.com"}}},
		{"ok/newlines", "(http.host eq \"a.example.com\")\n or\t(http.host eq \"b.example.com\")",
			httpsconf.RuleMatch{Hosts: []string{"a.example.com", "b.example.com"}}},
	}
	for _, tt := range ok {
		t.Run(tt.name, func(t *testing.T) {
			got, err := httpsconf.ParseRule(tt.rule)
			if err != nil {
				t.Fatalf("ParseRule(%q): %v", tt.rule, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseRule(%q) (-want +got):\n%s", tt.rule, diff)
			}
		})
	}

	fails := []struct {
		name string
		rule string
		why  string // a part of the public reason
	}{
		{"fail/empty", "", "empty"},
		{"fail/false", "false", `unexpected "false"`},
		{"fail/ne", `(http.host ne "a.example.com")`, "unsupported operator"},
		{"fail/double_equals", `(http.host == "a.example.com")`, "unexpected"},
		{"fail/other_field", `(http.request.uri.path eq "/a")`, `unexpected "http.request.uri.path"`},
		{"fail/not", `not (http.host eq "a.example.com")`, `unexpected "not"`},
		{"fail/unquoted_host", `(http.host eq a.example.com)`, "quoted host name"},
		{"fail/unclosed_paren", `(http.host eq "a.example.com"`, `")"`},
		{"fail/unclosed_string", `(http.host eq "a.example.com)`, "not closed"},
		{"fail/trailing", `(http.host eq "a.example.com") foo`, `unexpected "foo"`},
		{"fail/dangling_or", `(http.host eq "a.example.com") or`, "ends"},
		{"fail/empty_set", `(http.host in {})`, "empty"},
		{"fail/set_with_comma", `(http.host in {"a.example.com", "b.example.com"})`, "unexpected"},
		{"fail/wildcard", `(http.host eq "*.example.com")`, "not a host name"},
		{"fail/ip", `(http.host eq "192.0.2.1")`, "not a host name"},
		{"fail/empty_host", `(http.host eq "")`, "empty"},
		{"fail/escaped_quote_in_host", `(http.host eq "a\"b.example.com")`, "not a host name"},
		{"fail/matches_nothing", `(http.host eq "a.example.com") and (http.host eq "b.example.com")`, "matches no host"},
		{"fail/uppercase_keyword", `(http.host eq "a.example.com") OR (http.host eq "b.example.com")`, `unexpected "OR"`},
		{"fail/doc_escaping", `(http.host eq \"a.example.com\")`, "unexpected"},
		{"fail/bad_escape", `(http.host eq "a\.example.com")`, "backslash"},
		{"fail/starts_with", `starts_with(http.host, "a")`, "unexpected"},
		{"fail/too_long", `(http.host eq "` + strings.Repeat("a", httpsconf.MaxRule) + `")`, "at most"},
	}
	for _, tt := range fails {
		t.Run(tt.name, func(t *testing.T) {
			got, err := httpsconf.ParseRule(tt.rule)
			var pe *domain.ParamError
			if !errors.As(err, &pe) || pe.Param != "Rule" || !errors.Is(err, domain.ErrInvalid) {
				t.Fatalf("ParseRule(%q) = %+v, %v; want an InvalidParameter naming Rule", tt.rule, got, err)
			}
			if !strings.Contains(pe.Reason, tt.why) {
				t.Errorf("reason %q does not say %q", pe.Reason, tt.why)
			}
			if !strings.Contains(pe.Reason, "supported forms are true, (http.host eq") {
				t.Errorf("reason %q does not list the supported forms", pe.Reason)
			}
		})
	}
}

func TestRuleMatchMatches(t *testing.T) {
	m, err := httpsconf.ParseRule(`(http.host eq "a.example.com") or (http.host eq "b.example.com")`)
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]bool{"a.example.com": true, "B.EXAMPLE.COM.": true, "c.example.com": false, "example.com": false, "": false} {
		if got := m.Matches(host); got != want {
			t.Errorf("Matches(%q) = %v, want %v", host, got, want)
		}
	}
	if !(httpsconf.RuleMatch{All: true}).Matches("anything.example.org") {
		t.Error("true does not match every host")
	}
}

func TestHTTPSBasicLifecycle(t *testing.T) {
	svc, _, st := newService(t)
	ctx := t.Context()

	// A global configuration with three settings reads back exactly those.
	global, err := svc.CreateHTTPSBasic(ctx, httpsconf.HTTPSBasic{SiteID: st.ID, Https: "on", Tls10: "off", CiphersuiteGroup: "strict"})
	if err != nil {
		t.Fatal(err)
	}
	if global.ConfigID < 100_000_000_000_000 || global.ConfigID > 999_999_999_999_999 {
		t.Errorf("ConfigID %d has not 15 digits", global.ConfigID)
	}
	want := httpsconf.HTTPSBasic{ConfigID: global.ConfigID, SiteID: st.ID, ConfigType: httpsconf.ConfigGlobal,
		Https: "on", Tls10: "off", CiphersuiteGroup: "strict"}
	got, err := svc.HTTPSBasic(ctx, st.ID, global.ConfigID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("HTTPSBasic (-want +got):\n%s", diff)
	}

	if _, err := svc.CreateHTTPSBasic(ctx, httpsconf.HTTPSBasic{SiteID: st.ID, Http2: "off"}); !errors.Is(err, httpsconf.ErrGlobalConfigExists) {
		t.Errorf("second global = %v, want ErrGlobalConfigExists", err)
	}
	// The application family has its own global.
	if _, err := svc.CreateHTTPSApplication(ctx, httpsconf.HTTPSApplication{SiteID: st.ID, Hsts: "on"}); err != nil {
		t.Errorf("global application configuration beside a global basic one: %v", err)
	}

	rule, err := svc.CreateHTTPSBasic(ctx, httpsconf.HTTPSBasic{SiteID: st.ID, Rule: `(http.host eq "api.example.com")`,
		RuleName: "api", RuleEnable: "on", Sequence: 2, Tls13: "off"})
	if err != nil {
		t.Fatal(err)
	}
	if rule.ConfigType != httpsconf.ConfigRule {
		t.Errorf("ConfigType = %q, want rule", rule.ConfigType)
	}
	second, err := svc.CreateHTTPSBasic(ctx, httpsconf.HTTPSBasic{SiteID: st.ID, Rule: "true", RuleName: "all", Sequence: 1})
	if err != nil {
		t.Fatal(err)
	}

	ids := func(list []httpsconf.HTTPSBasic) []int64 {
		var out []int64
		for _, b := range list {
			out = append(out, b.ConfigID)
		}
		return out
	}
	lists := []struct {
		name      string
		f         httpsconf.HTTPSFilter
		want      []int64
		wantTotal int
	}{
		{"ok/all_in_order", httpsconf.HTTPSFilter{SiteID: st.ID}, []int64{global.ConfigID, second.ConfigID, rule.ConfigID}, 3},
		{"ok/global", httpsconf.HTTPSFilter{SiteID: st.ID, ConfigType: httpsconf.ConfigGlobal}, []int64{global.ConfigID}, 1},
		{"ok/rule", httpsconf.HTTPSFilter{SiteID: st.ID, ConfigType: httpsconf.ConfigRule}, []int64{second.ConfigID, rule.ConfigID}, 2},
		{"ok/rule_name", httpsconf.HTTPSFilter{SiteID: st.ID, RuleName: "api"}, []int64{rule.ConfigID}, 1},
		{"ok/config_id", httpsconf.HTTPSFilter{SiteID: st.ID, ConfigID: second.ConfigID}, []int64{second.ConfigID}, 1},
		{"ok/page_2", httpsconf.HTTPSFilter{SiteID: st.ID, Page: domain.Page{Offset: 2, Limit: 2}}, []int64{rule.ConfigID}, 3},
		{"ok/other_version", httpsconf.HTTPSFilter{SiteID: st.ID, SiteVersion: 1}, nil, 0},
	}
	for _, tt := range lists {
		t.Run(tt.name, func(t *testing.T) {
			got, total, err := svc.ListHTTPSBasic(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, ids(got)); diff != "" {
				t.Errorf("ListHTTPSBasic (-want +got):\n%s", diff)
			}
			if total != tt.wantTotal {
				t.Errorf("total = %d, want %d", total, tt.wantTotal)
			}
		})
	}
	if _, _, err := svc.ListHTTPSBasic(ctx, httpsconf.HTTPSFilter{SiteID: st.ID, ConfigType: "both"}); !isParam(err, "ConfigType", domain.ErrInvalid) {
		t.Errorf("ListHTTPSBasic(ConfigType=both) = %v, want InvalidParameter ConfigType", err)
	}

	// Update changes the named fields only; an empty value unsets.
	upd, err := svc.UpdateHTTPSBasic(ctx, httpsconf.HTTPSBasic{SiteID: st.ID, ConfigID: rule.ConfigID, Tls13: "", Http2: "off", RuleEnable: "off"},
		[]string{"Tls13", "Http2", "RuleEnable"})
	if err != nil {
		t.Fatal(err)
	}
	wantRule := httpsconf.HTTPSBasic{ConfigID: rule.ConfigID, SiteID: st.ID, ConfigType: httpsconf.ConfigRule,
		Rule: `(http.host eq "api.example.com")`, RuleName: "api", RuleEnable: "off", Sequence: 2, Http2: "off"}
	if diff := cmp.Diff(wantRule, upd); diff != "" {
		t.Errorf("UpdateHTTPSBasic (-want +got):\n%s", diff)
	}
	if got, _ := svc.HTTPSBasic(ctx, st.ID, rule.ConfigID); !cmp.Equal(wantRule, got) {
		t.Errorf("after update: %+v, want %+v", got, wantRule)
	}
	// A refused update changes nothing.
	if _, err := svc.UpdateHTTPSBasic(ctx, httpsconf.HTTPSBasic{SiteID: st.ID, ConfigID: rule.ConfigID, Http2: "maybe", Https: "off"},
		[]string{"Https", "Http2"}); !isParam(err, "Http2", domain.ErrInvalid) {
		t.Errorf("update with Http2=maybe = %v", err)
	}
	if got, _ := svc.HTTPSBasic(ctx, st.ID, rule.ConfigID); !cmp.Equal(wantRule, got) {
		t.Errorf("after a refused update: %+v, want %+v", got, wantRule)
	}
	if _, err := svc.UpdateHTTPSBasic(ctx, httpsconf.HTTPSBasic{SiteID: st.ID, ConfigID: global.ConfigID, Rule: "true"}, []string{"Rule"}); !isParam(err, "Rule", domain.ErrInvalid) {
		t.Errorf("giving the global configuration a rule = %v, want InvalidParameter Rule", err)
	}
	if _, err := svc.UpdateHTTPSBasic(ctx, httpsconf.HTTPSBasic{SiteID: st.ID, ConfigID: rule.ConfigID}, []string{"Rule"}); !isParam(err, "Rule", domain.ErrMissing) {
		t.Errorf("clearing a rule configuration's Rule = %v, want MissingParameter Rule", err)
	}
	if _, err := svc.UpdateHTTPSBasic(ctx, httpsconf.HTTPSBasic{SiteID: st.ID, ConfigID: 123456789012345, Https: "on"}, []string{"Https"}); !errors.Is(err, httpsconf.ErrConfigNotFound) {
		t.Errorf("update of a missing configuration = %v, want ErrConfigNotFound", err)
	}

	// Another family's id is not found, nor is another site's.
	apps, _, err := svc.ListHTTPSApplication(ctx, httpsconf.HTTPSFilter{SiteID: st.ID})
	if err != nil || len(apps) != 1 {
		t.Fatalf("ListHTTPSApplication = %v, %v", apps, err)
	}
	if _, err := svc.HTTPSBasic(ctx, st.ID, apps[0].ConfigID); !errors.Is(err, httpsconf.ErrConfigNotFound) {
		t.Errorf("an application id read as basic = %v, want ErrConfigNotFound", err)
	}
	other, err := sitesOf(svc).CreateSite(ctx, site.CreateSiteInput{Name: "other.com", InstanceID: mustPlan(t, svc)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.HTTPSBasic(ctx, other.ID, rule.ConfigID); !errors.Is(err, httpsconf.ErrConfigNotFound) {
		t.Errorf("another site's configuration = %v, want ErrConfigNotFound", err)
	}

	if err := svc.DeleteHTTPSBasic(ctx, st.ID, rule.ConfigID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.HTTPSBasic(ctx, st.ID, rule.ConfigID); !errors.Is(err, httpsconf.ErrConfigNotFound) {
		t.Errorf("after delete = %v, want ErrConfigNotFound", err)
	}
	if err := svc.DeleteHTTPSBasic(ctx, st.ID, rule.ConfigID); !errors.Is(err, httpsconf.ErrConfigNotFound) {
		t.Errorf("second delete = %v, want ErrConfigNotFound", err)
	}
	// The global one is gone too once deleted, and a new one may be created.
	if err := svc.DeleteHTTPSBasic(ctx, st.ID, global.ConfigID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateHTTPSBasic(ctx, httpsconf.HTTPSBasic{SiteID: st.ID, Http2: "off"}); err != nil {
		t.Errorf("a new global after deleting the old one: %v", err)
	}

	// A missing site is a ParamError naming SiteId.
	for name, err := range map[string]error{
		"create": func() error { _, err := svc.CreateHTTPSBasic(ctx, httpsconf.HTTPSBasic{SiteID: 42}); return err }(),
		"get":    func() error { _, err := svc.HTTPSBasic(ctx, 42, rule.ConfigID); return err }(),
		"list":   func() error { _, _, err := svc.ListHTTPSBasic(ctx, httpsconf.HTTPSFilter{SiteID: 42}); return err }(),
		"update": func() error {
			_, err := svc.UpdateHTTPSBasic(ctx, httpsconf.HTTPSBasic{SiteID: 42, ConfigID: 1}, nil)
			return err
		}(),
		"delete": svc.DeleteHTTPSBasic(ctx, 42, rule.ConfigID),
	} {
		if !isParam(err, "SiteId", site.ErrSiteNotFound) {
			t.Errorf("%s on a missing site = %v, want a ParamError naming SiteId", name, err)
		}
	}
}

// mustPlan buys a plan instance with room for another site.
func mustPlan(t *testing.T, svc *httpsconf.Service) string {
	t.Helper()
	in, err := sitesOf(svc).PurchasePlan(t.Context(), site.PurchaseInput{PlanName: "basic"})
	if err != nil {
		t.Fatal(err)
	}
	return in.ID
}

func isParam(err error, param string, target error) bool {
	var pe *domain.ParamError
	return errors.As(err, &pe) && pe.Param == param && errors.Is(err, target)
}

func TestHTTPSApplicationLifecycle(t *testing.T) {
	svc, _, site := newService(t)
	ctx := t.Context()
	a, err := svc.CreateHTTPSApplication(ctx, httpsconf.HTTPSApplication{SiteID: site.ID, Rule: `(http.host in {"www.example.com" "example.com"})`,
		RuleName: "force", HttpsForce: "on", HttpsForceCode: "308", HstsMaxAge: "31536000", HttpsSniWhitelist: "a.example.com *.b.example.com, C.example.com. under_score.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := svc.HTTPSApplication(ctx, site.ID, a.ConfigID)
	if err != nil {
		t.Fatal(err)
	}
	want := httpsconf.HTTPSApplication{ConfigID: a.ConfigID, SiteID: site.ID, ConfigType: httpsconf.ConfigRule,
		Rule: `(http.host in {"www.example.com" "example.com"})`, RuleName: "force", HttpsForce: "on", HttpsForceCode: "308",
		HstsMaxAge: "31536000", HttpsSniWhitelist: "a.example.com *.b.example.com, C.example.com. under_score.example.com"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("HTTPSApplication (-want +got):\n%s", diff)
	}
	upd, err := svc.UpdateHTTPSApplication(ctx, httpsconf.HTTPSApplication{SiteID: site.ID, ConfigID: a.ConfigID, AltSvcMa: "3600", HttpsForceCode: ""},
		[]string{"AltSvcMa", "HttpsForceCode"})
	if err != nil {
		t.Fatal(err)
	}
	want.AltSvcMa, want.HttpsForceCode = "3600", ""
	if diff := cmp.Diff(want, upd); diff != "" {
		t.Errorf("UpdateHTTPSApplication (-want +got):\n%s", diff)
	}
	if err := svc.DeleteHTTPSApplication(ctx, site.ID, a.ConfigID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.HTTPSApplication(ctx, site.ID, a.ConfigID); !errors.Is(err, httpsconf.ErrConfigNotFound) {
		t.Errorf("after delete = %v, want ErrConfigNotFound", err)
	}
}

func TestHTTPSValidation(t *testing.T) {
	svc, _, site := newService(t)
	ctx := t.Context()
	basic := []struct {
		name  string
		in    httpsconf.HTTPSBasic
		param string
		want  error
	}{
		{"fail/switch", httpsconf.HTTPSBasic{Https: "ON"}, "Https", domain.ErrInvalid},
		{"fail/switch_true", httpsconf.HTTPSBasic{Tls12: "true"}, "Tls12", domain.ErrInvalid},
		{"fail/http3_yes", httpsconf.HTTPSBasic{Http3: "yes"}, "Http3", domain.ErrInvalid},
		{"fail/ocsp_yes", httpsconf.HTTPSBasic{OcspStapling: "yes"}, "OcspStapling", domain.ErrInvalid},
		{"fail/group", httpsconf.HTTPSBasic{CiphersuiteGroup: "weak"}, "CiphersuiteGroup", domain.ErrInvalid},
		{"fail/custom_without_suites", httpsconf.HTTPSBasic{CiphersuiteGroup: "custom"}, "Ciphersuite", domain.ErrMissing},
		{"fail/unknown_suite", httpsconf.HTTPSBasic{CiphersuiteGroup: "custom", Ciphersuite: "TLS_RSA_WITH_RC4_128_SHA"}, "Ciphersuite", domain.ErrInvalid},
		{"fail/openssl_name", httpsconf.HTTPSBasic{CiphersuiteGroup: "custom", Ciphersuite: "ECDHE-RSA-AES128-GCM-SHA256"}, "Ciphersuite", domain.ErrInvalid},
		{"fail/empty_suite", httpsconf.HTTPSBasic{CiphersuiteGroup: "custom", Ciphersuite: "TLS_AES_128_GCM_SHA256,,"}, "Ciphersuite", domain.ErrInvalid},
		// TLS 1.3's suites cannot be chosen one by one: all of them or none.
		{"fail/some_tls13_suites", httpsconf.HTTPSBasic{CiphersuiteGroup: "custom",
			Ciphersuite: "TLS_AES_256_GCM_SHA384,TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"}, "Ciphersuite", domain.ErrInvalid},
		{"fail/tls13_suite_twice", httpsconf.HTTPSBasic{Rule: "true",
			Ciphersuite: "TLS_AES_128_GCM_SHA256,TLS_AES_128_GCM_SHA256,TLS_AES_256_GCM_SHA384"}, "Ciphersuite", domain.ErrInvalid},
		{"fail/rule_name_without_rule", httpsconf.HTTPSBasic{RuleName: "x"}, "Rule", domain.ErrMissing},
		{"fail/rule_enable_without_rule", httpsconf.HTTPSBasic{RuleEnable: "on"}, "Rule", domain.ErrMissing},
		{"fail/bad_rule", httpsconf.HTTPSBasic{Rule: `(http.host ne "a.example.com")`}, "Rule", domain.ErrInvalid},
		{"fail/rule_outside_site", httpsconf.HTTPSBasic{Rule: `(http.host eq "example.org")`}, "Rule", domain.ErrInvalid},
		{"fail/rule_enable", httpsconf.HTTPSBasic{Rule: "true", RuleEnable: "yes"}, "RuleEnable", domain.ErrInvalid},
		{"fail/rule_name_long", httpsconf.HTTPSBasic{Rule: "true", RuleName: strings.Repeat("n", httpsconf.MaxRuleName+1)}, "RuleName", domain.ErrInvalid},
		{"fail/sequence", httpsconf.HTTPSBasic{Rule: "true", Sequence: -1}, "Sequence", domain.ErrInvalid},
	}
	for _, tt := range basic {
		t.Run("basic/"+tt.name, func(t *testing.T) {
			tt.in.SiteID = site.ID
			if _, err := svc.CreateHTTPSBasic(ctx, tt.in); !isParam(err, tt.param, tt.want) {
				t.Fatalf("CreateHTTPSBasic = %v, want %v naming %s", err, tt.want, tt.param)
			}
		})
	}
	apps := []struct {
		name  string
		in    httpsconf.HTTPSApplication
		param string
		want  error
	}{
		{"fail/force_code", httpsconf.HTTPSApplication{HttpsForceCode: "303"}, "HttpsForceCode", domain.ErrInvalid},
		{"fail/max_age_sign", httpsconf.HTTPSApplication{HstsMaxAge: "-1"}, "HstsMaxAge", domain.ErrInvalid},
		{"fail/max_age_unit", httpsconf.HTTPSApplication{HstsMaxAge: "1d"}, "HstsMaxAge", domain.ErrInvalid},
		{"fail/max_age_huge", httpsconf.HTTPSApplication{AltSvcMa: "99999999999"}, "AltSvcMa", domain.ErrInvalid},
		{"fail/switch", httpsconf.HTTPSApplication{Hsts: "enabled"}, "Hsts", domain.ErrInvalid},
		{"fail/site_version", httpsconf.HTTPSApplication{SiteVersion: 1}, "SiteVersion", domain.ErrInvalid},
		{"fail/whitelist_long", httpsconf.HTTPSApplication{HttpsSniWhitelist: strings.Repeat("a ", httpsconf.MaxHTTPSText)}, "HttpsSniWhitelist", domain.ErrInvalid},
		{"fail/whitelist_name", httpsconf.HTTPSApplication{HttpsSniWhitelist: "www.example.com bad/name.example.com"}, "HttpsSniWhitelist", domain.ErrInvalid},
		{"fail/whitelist_ip", httpsconf.HTTPSApplication{HttpsSniWhitelist: "192.0.2.1"}, "HttpsSniWhitelist", domain.ErrInvalid},
		{"fail/whitelist_wildcard_deep", httpsconf.HTTPSApplication{HttpsSniWhitelist: "*.*.example.com"}, "HttpsSniWhitelist", domain.ErrInvalid},
	}
	for _, tt := range apps {
		t.Run("application/"+tt.name, func(t *testing.T) {
			tt.in.SiteID = site.ID
			if _, err := svc.CreateHTTPSApplication(ctx, tt.in); !isParam(err, tt.param, tt.want) {
				t.Fatalf("CreateHTTPSApplication = %v, want %v naming %s", err, tt.want, tt.param)
			}
		})
	}
	// Nothing was stored by the refusals.
	if list, total, err := svc.ListHTTPSBasic(ctx, httpsconf.HTTPSFilter{SiteID: site.ID}); err != nil || total != 0 {
		t.Errorf("ListHTTPSBasic after refusals = %v, %d, %v", list, total, err)
	}

	oks := []httpsconf.HTTPSBasic{
		{Http3: "off", OcspStapling: "off", CiphersuiteGroup: "custom",
			Ciphersuite: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"},
		{Rule: `(http.host eq "example.com")`},
		{Rule: "true", Ciphersuite: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"}, // kept, used only with custom
		{Rule: `(http.host eq "a.example.com")`, CiphersuiteGroup: "custom", // every TLS 1.3 suite
			Ciphersuite: "TLS_CHACHA20_POLY1305_SHA256,TLS_AES_128_GCM_SHA256,TLS_AES_256_GCM_SHA384,TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"},
	}
	for i, in := range oks {
		in.SiteID = site.ID
		if _, err := svc.CreateHTTPSBasic(ctx, in); err != nil {
			t.Errorf("ok #%d: %v", i, err)
		}
	}
}

func TestCiphers(t *testing.T) {
	svc := &httpsconf.Service{}
	all, err := svc.Ciphers("all")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, cs := range tls.CipherSuites() {
		want = append(want, cs.Name)
	}
	if diff := cmp.Diff(want, all); diff != "" {
		t.Errorf("all (-want +got):\n%s", diff)
	}
	custom, _ := svc.Ciphers("custom")
	if diff := cmp.Diff(all, custom); diff != "" {
		t.Errorf("custom differs from all (-all +custom):\n%s", diff)
	}
	strict, _ := svc.Ciphers("strict")
	if len(strict) == 0 || len(strict) >= len(all) {
		t.Fatalf("strict has %d suites of %d", len(strict), len(all))
	}
	for _, n := range strict {
		if !slices.Contains(all, n) || strings.Contains(n, "CBC") {
			t.Errorf("strict suite %s", n)
		}
	}
	if _, err := svc.Ciphers(""); !isParam(err, "CiphersGroup", domain.ErrMissing) {
		t.Errorf("Ciphers(\"\") = %v", err)
	}
	if _, err := svc.Ciphers("weak"); !isParam(err, "CiphersGroup", domain.ErrInvalid) {
		t.Errorf("Ciphers(weak) = %v", err)
	}

	ids := httpsconf.HTTPSBasic{CiphersuiteGroup: "custom",
		Ciphersuite: "TLS_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"}.CipherSuiteIDs()
	if diff := cmp.Diff([]uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}, ids); diff != "" {
		t.Errorf("custom ids (-want +got):\n%s", diff)
	}
	if ids := (httpsconf.HTTPSBasic{CiphersuiteGroup: "custom", Ciphersuite: "TLS_AES_128_GCM_SHA256"}).CipherSuiteIDs(); ids == nil || len(ids) != 0 {
		t.Errorf("custom TLS 1.3 only = %#v, want empty and not nil", ids)
	}
	for _, id := range (httpsconf.HTTPSBasic{CiphersuiteGroup: "strict"}).CipherSuiteIDs() {
		if name := tls.CipherSuiteName(id); strings.Contains(name, "CBC") || strings.HasPrefix(name, "TLS_AES") || strings.HasPrefix(name, "TLS_CHACHA") {
			t.Errorf("strict id %s", name)
		}
	}
	if n := len((httpsconf.HTTPSBasic{}).CipherSuiteIDs()); n != len(all)-3 {
		t.Errorf("unset group gives %d suites, want the %d TLS 1.0–1.2 suites of all", n, len(all)-3)
	}
}

func TestEffectiveHTTPS(t *testing.T) {
	global := httpsconf.HTTPSBasic{ConfigID: 5, ConfigType: httpsconf.ConfigGlobal, Tls10: "on", Http2: "off"}
	apiRule := httpsconf.HTTPSBasic{ConfigID: 3, ConfigType: httpsconf.ConfigRule, Rule: `(http.host eq "api.example.com")`,
		RuleEnable: "on", Sequence: 2, Http2: "on", Tls11: "off"}
	allRule := httpsconf.HTTPSBasic{ConfigID: 4, ConfigType: httpsconf.ConfigRule, Rule: "true", Sequence: 1, Tls11: "on", Tls12: "off"}
	tieLow := httpsconf.HTTPSBasic{ConfigID: 1, ConfigType: httpsconf.ConfigRule, Rule: `(http.host eq "tie.example.com")`, Sequence: 7, CiphersuiteGroup: "strict"}
	tieHigh := httpsconf.HTTPSBasic{ConfigID: 2, ConfigType: httpsconf.ConfigRule, Rule: `(http.host eq "tie.example.com")`, Sequence: 7, CiphersuiteGroup: "all"}
	disabled := httpsconf.HTTPSBasic{ConfigID: 6, ConfigType: httpsconf.ConfigRule, Rule: "true", RuleEnable: "off", Https: "off"}
	broken := httpsconf.HTTPSBasic{ConfigID: 8, ConfigType: httpsconf.ConfigRule, Rule: "bogus", Https: "off"}
	basics := []httpsconf.HTTPSBasic{apiRule, tieHigh, disabled, global, broken, allRule, tieLow}

	forceGlobal := httpsconf.HTTPSApplication{ConfigID: 9, ConfigType: httpsconf.ConfigGlobal, HttpsForce: "on", HttpsForceCode: "302"}
	hstsRule := httpsconf.HTTPSApplication{ConfigID: 10, ConfigType: httpsconf.ConfigRule, Rule: `(http.host in {"api.example.com" "www.example.com"})`,
		Hsts: "on", HstsMaxAge: "600", HttpsForceCode: "308"}
	apps := []httpsconf.HTTPSApplication{hstsRule, forceGlobal}

	def := httpsconf.DefaultHTTPSBasic()
	with := func(f func(*httpsconf.HTTPSBasic)) httpsconf.HTTPSBasic { b := def; f(&b); return b }
	defApp := httpsconf.DefaultHTTPSApplication()
	withApp := func(f func(*httpsconf.HTTPSApplication)) httpsconf.HTTPSApplication { a := defApp; f(&a); return a }

	tests := []struct {
		name    string
		basics  []httpsconf.HTTPSBasic
		apps    []httpsconf.HTTPSApplication
		host    string
		want    httpsconf.HTTPSBasic
		wantApp httpsconf.HTTPSApplication
	}{
		{"ok/defaults", nil, nil, "www.example.com",
			httpsconf.HTTPSBasic{Https: "on", Http2: "on", Http3: "off", Tls10: "off", Tls11: "on", Tls12: "on", Tls13: "on",
				CiphersuiteGroup: "all", OcspStapling: "off"}, defApp},
		// global, then the true rule (sequence 1), then the api rule (sequence 2).
		{"ok/api_host", basics, apps, "API.example.com.",
			with(func(b *httpsconf.HTTPSBasic) { b.Tls10, b.Http2, b.Tls11, b.Tls12 = "on", "on", "off", "off" }),
			withApp(func(a *httpsconf.HTTPSApplication) {
				a.HttpsForce, a.HttpsForceCode, a.Hsts, a.HstsMaxAge = "on", "308", "on", "600"
			})},
		{"ok/other_host", basics, apps, "other.example.com",
			with(func(b *httpsconf.HTTPSBasic) { b.Tls10, b.Http2, b.Tls12 = "on", "off", "off" }),
			withApp(func(a *httpsconf.HTTPSApplication) { a.HttpsForce, a.HttpsForceCode = "on", "302" })},
		// Equal sequences apply by ConfigID: 1 (strict), then 2 (all).
		{"ok/tie_by_config_id", basics, nil, "tie.example.com",
			with(func(b *httpsconf.HTTPSBasic) {
				b.Tls10, b.Http2, b.Tls12, b.CiphersuiteGroup = "on", "off", "off", "all"
			}), defApp},
		{"ok/no_global", []httpsconf.HTTPSBasic{apiRule}, nil, "api.example.com",
			with(func(b *httpsconf.HTTPSBasic) { b.Tls11 = "off" }), defApp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, gotApp := httpsconf.EffectiveHTTPS(tt.basics, tt.apps, tt.host)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("basic (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantApp, gotApp); diff != "" {
				t.Errorf("application (-want +got):\n%s", diff)
			}
		})
	}
	// The input is not reordered.
	if basics[0].ConfigID != apiRule.ConfigID || basics[3].ConfigID != global.ConfigID {
		t.Error("EffectiveHTTPS reordered its input")
	}
}

// OcspStapling=on is accepted, stored and read back (the edge staples it).
func TestHTTPSOcspStaplingOn(t *testing.T) {
	svc, _, site := newService(t)
	ctx := t.Context()
	b, err := svc.CreateHTTPSBasic(ctx, httpsconf.HTTPSBasic{SiteID: site.ID, OcspStapling: "on"})
	if err != nil {
		t.Fatalf("CreateHTTPSBasic(OcspStapling=on) = %v", err)
	}
	got, err := svc.HTTPSBasic(ctx, site.ID, b.ConfigID)
	if err != nil || got.OcspStapling != "on" {
		t.Fatalf("HTTPSBasic = %+v, %v; want OcspStapling on", got, err)
	}
}

// TestSNIWhitelistStoredBeforeItWasChecked: a whitelist stored before its
// names were checked (written to the store directly here) does not block
// an update of another field of its configuration; changing it to a list
// that fails the check is refused.
func TestSNIWhitelistStoredBeforeItWasChecked(t *testing.T) {
	svc, store, site := newService(t)
	ctx := t.Context()
	c := httpsconf.HTTPSApplication{SiteID: site.ID, ConfigID: 900001, ConfigType: httpsconf.ConfigGlobal,
		HttpsSniWhitelist: "192.0.2.1 www.example.com"}.Config()
	if err := store.CreateHTTPSConfig(ctx, c); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.UpdateHTTPSApplication(ctx, httpsconf.HTTPSApplication{SiteID: site.ID, ConfigID: 900001, Hsts: "on"},
		[]string{"Hsts"}); err != nil {
		t.Fatalf("updating Hsts beside an old whitelist: %v", err)
	}
	if _, err := svc.UpdateHTTPSApplication(ctx, httpsconf.HTTPSApplication{SiteID: site.ID, ConfigID: 900001,
		HttpsSniWhitelist: "198.51.100.1"}, []string{"HttpsSniWhitelist"}); !isParam(err, "HttpsSniWhitelist", domain.ErrInvalid) {
		t.Fatalf("changing the whitelist to an address: %v, want InvalidParameter", err)
	}
}
