package record_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/keyseal"
	"github.com/esacert/esacert/internal/record"
	"github.com/esacert/esacert/internal/site"
	"github.com/esacert/esacert/internal/sitetest"
	"github.com/google/go-cmp/cmp"
)

var t0 = sitetest.T0

// newService is a Service on a real SQLite file, with a settable clock and
// one site, example.com.
func newService(t *testing.T) (*record.Service, *sitetest.Clock, site.Site) {
	e := sitetest.New(t)
	return &record.Service{Store: e.Store, Sites: e.Store, Sealer: e.Sealer, Now: e.Clock.Now}, e.Clock, e.Site
}

func ptr[T any](v T) *T { return &v }

// rec builds a RecordInput for the site example.com.
func rec(name, typ string, data record.RecordData) record.RecordInput {
	return record.RecordInput{Name: name, Type: ptr(typ), Data: &data}
}

func proxied(in record.RecordInput, biz string) record.RecordInput {
	in.Proxied, in.BizName = ptr(true), ptr(biz)
	return in
}

// wantParam checks that err is a ParamError naming param whose cause is target.
func wantParam(t *testing.T, err error, param string, target error) {
	t.Helper()
	var pe *domain.ParamError
	if !errors.As(err, &pe) || pe.Param != param || !errors.Is(err, target) {
		t.Fatalf("error = %v, want a ParamError on %s matching %v", err, param, target)
	}
}

func TestCreateRecordRules(t *testing.T) {
	svc, _, st := newService(t)
	ctx := t.Context()
	v := func(s string) record.RecordData { return record.RecordData{Value: s} }
	cname := func(name, target string) record.RecordInput { return rec(name, "CNAME", v(target)) }
	withAuth := func(in record.RecordInput, source string, a record.AuthConf) record.RecordInput {
		in.SourceType, in.AuthConf = ptr(source), &a
		return in
	}

	oks := []struct {
		name string
		in   record.RecordInput
		want func(r *record.Record) // the fields the case is about, set on a copy of the result
	}{
		{"ok/a_proxied_port", proxied(rec("WWW.Example.COM.", "a", v("192.0.2.1:8080")), "web"), func(r *record.Record) {
			r.Name, r.Type, r.Ttl = "www.example.com", record.RecordA, 1
		}},
		{"ok/aaaa_is_a", rec("v6.example.com", "AAAA", v("192.0.2.1,2001:db8::1")), func(r *record.Record) { r.Type = record.RecordA }},
		{"ok/a_bracketed_v6_port", proxied(rec("b6.example.com", "A/AAAA", v("192.0.2.1,[2001:db8::1]:8443")), "api"), nil},
		{"ok/a_apex_wildcard", proxied(rec("*.example.com", "A/AAAA", v("192.0.2.2")), "video_image"), func(r *record.Record) { r.BizName = "video_image" }},
		{"ok/cname_source_any_case", withAuth(proxied(cname("img.example.com", "bucket.oss-cn-hangzhou.aliyuncs.com"), "image_video"), "oss",
			record.AuthConf{AuthType: "public"}), func(r *record.Record) { r.SourceType = record.SourceOSS }},
		{"ok/cname_port_host_policy", func() record.RecordInput {
			in := proxied(cname("app.example.com", "origin.example.net:8080"), "api")
			in.HostPolicy = ptr("follow_origin_domain")
			return in
		}(), nil},
		{"ok/cname_underscore_target", cname("_acme-challenge.example.com", "x._acme.example.net"), nil},
		{"ok/ns_delegation", rec("sub.example.com", "NS", v("ns1.example.net")), nil},
		{"ok/mx", rec("example.com", "MX", record.RecordData{Value: "mail.example.com", Priority: 10}), nil},
		{"ok/mx_priority_zero", rec("mx0.example.com", "MX", record.RecordData{Value: "mail.example.com"}), nil},
		{"ok/txt_underscore", rec("_dmarc.example.com", "TXT", v("v=DMARC1; p=none")), nil},
		{"ok/caa", rec("example.com", "CAA", record.RecordData{Value: "letsencrypt.org", Flag: 128, Tag: "issue"}), nil},
		{"ok/srv", rec("_sip._udp.example.com", "SRV", record.RecordData{Value: "sip.example.com", Priority: 1, Weight: 5, Port: 5060}), nil},
		{"ok/uri", rec("_ftp._tcp.example.com", "URI", record.RecordData{Value: "ftp://ftp.example.com/pub", Priority: 10, Weight: 1}), nil},
		{"ok/cert", rec("c.example.com", "CERT", record.RecordData{Type: 1, KeyTag: 12345, Algorithm: 8, Certificate: "dGVzdGFkYWxrcw=="}), nil},
		{"ok/sshfp", rec("h.example.com", "SSHFP", record.RecordData{Type: 2, Algorithm: 4, Fingerprint: "abcdef1234567890"}), nil},
		{"ok/tlsa", rec("_443._tcp.example.com", "TLSA", record.RecordData{Usage: 3, Selector: 1, MatchingType: 1, Certificate: "ab12"}), nil},
		{"ok/smimea", rec("x._smimecert.example.com", "smimea", record.RecordData{Certificate: "00ff"}), nil},
		{"ok/ttl_bounds", func() record.RecordInput { in := rec("t1.example.com", "TXT", v("a")); in.Ttl = ptr(86400); return in }(), nil},
	}
	for _, tt := range oks {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			in.SiteID = st.ID
			got, err := svc.CreateRecord(ctx, in)
			if err != nil {
				t.Fatalf("CreateRecord: %v", err)
			}
			if got.ID < 1_000_000_000_000 || got.ID > 9_999_999_999_999 {
				t.Errorf("RecordId %d is not 13 digits", got.ID)
			}
			want := got
			if tt.want != nil {
				tt.want(&want)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("created record (-want +got):\n%s", diff)
			}
			stored, err := svc.Record(ctx, got.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, stored); diff != "" {
				t.Errorf("stored record differs from the answer (-answer +stored):\n%s", diff)
			}
		})
	}

	long := strings.Repeat("a", 60) + "."
	fails := []struct {
		name   string
		in     record.RecordInput
		param  string
		target error
	}{
		{"fail/no_type", record.RecordInput{Name: "x.example.com", Data: &record.RecordData{Value: "192.0.2.1"}}, "Type", domain.ErrMissing},
		{"fail/unknown_type", rec("x.example.com", "DS", v("x")), "Type", domain.ErrInvalid},
		{"fail/no_data", record.RecordInput{Name: "x.example.com", Type: ptr("TXT")}, "Data", domain.ErrMissing},
		{"fail/no_name", rec(" ", "TXT", v("x")), "RecordName", domain.ErrMissing},
		{"fail/name_other_site", rec("www.example.org", "TXT", v("x")), "RecordName", domain.ErrInvalid},
		{"fail/name_site_as_label", rec("example.com.evil.com", "TXT", v("x")), "RecordName", domain.ErrInvalid},
		{"fail/name_glued", rec("wwwexample.com", "TXT", v("x")), "RecordName", domain.ErrInvalid},
		{"fail/name_relative", rec("www", "TXT", v("x")), "RecordName", domain.ErrInvalid},
		{"fail/name_two_wildcards", rec("*.*.example.com", "TXT", v("x")), "RecordName", domain.ErrInvalid},
		{"fail/name_partial_wildcard", rec("a*.example.com", "TXT", v("x")), "RecordName", domain.ErrInvalid},
		{"fail/name_too_long", rec(strings.Repeat(long, 4)+"example.com", "TXT", v("x")), "RecordName", domain.ErrInvalid},
		{"fail/name_label_too_long", rec(strings.Repeat("a", 64)+".example.com", "TXT", v("x")), "RecordName", domain.ErrInvalid},
		{"fail/name_empty_label", rec("a..example.com", "TXT", v("x")), "RecordName", domain.ErrInvalid},
		{"fail/name_proxied_underscore", proxied(rec("_x.example.com", "A/AAAA", v("192.0.2.1")), "web"), "RecordName", domain.ErrInvalid},
		{"fail/ns_at_apex", rec("example.com", "NS", v("ns1.example.net")), "RecordName", domain.ErrInvalid},
		{"fail/srv_name", rec("sip.example.com", "SRV", record.RecordData{Value: "sip.example.com", Port: 5060}), "RecordName", domain.ErrInvalid},
		{"fail/a_no_ipv4", rec("x.example.com", "A/AAAA", v("2001:db8::1")), "Data", domain.ErrInvalid},
		{"fail/a_not_ip", rec("x.example.com", "A/AAAA", v("192.0.2.1,origin.example.net")), "Data", domain.ErrInvalid},
		{"fail/a_port_unproxied", rec("x.example.com", "A/AAAA", v("192.0.2.1:8080")), "Data", domain.ErrInvalid},
		{"fail/a_port_zero", proxied(rec("x.example.com", "A/AAAA", v("192.0.2.1:0")), "web"), "Data", domain.ErrInvalid},
		{"fail/a_port_too_big", proxied(rec("x.example.com", "A/AAAA", v("192.0.2.1:65536")), "web"), "Data", domain.ErrInvalid},
		{"fail/a_empty_value", rec("x.example.com", "A/AAAA", v("")), "Data", domain.ErrInvalid},
		{"fail/a_priority", rec("x.example.com", "A/AAAA", record.RecordData{Value: "192.0.2.1", Priority: 10}), "Data", domain.ErrInvalid},
		{"fail/txt_fingerprint", rec("x.example.com", "TXT", record.RecordData{Value: "x", Fingerprint: "ab"}), "Data", domain.ErrInvalid},
		{"fail/mx_no_value", rec("x.example.com", "MX", record.RecordData{Priority: 10}), "Data", domain.ErrInvalid},
		{"fail/mx_priority_range", rec("x.example.com", "MX", record.RecordData{Value: "mail.example.com", Priority: 65536}), "Data", domain.ErrInvalid},
		{"fail/mx_negative", rec("x.example.com", "MX", record.RecordData{Value: "mail.example.com", Priority: -1}), "Data", domain.ErrInvalid},
		{"fail/mx_ip", rec("x.example.com", "MX", v("192.0.2.1")), "Data", domain.ErrInvalid},
		{"fail/caa_tag", rec("x.example.com", "CAA", record.RecordData{Value: "ca.example", Tag: "issuer"}), "Data", domain.ErrInvalid},
		{"fail/caa_flag", rec("x.example.com", "CAA", record.RecordData{Value: "ca.example", Tag: "issue", Flag: 256}), "Data", domain.ErrInvalid},
		{"fail/cert_base64", rec("x.example.com", "CERT", record.RecordData{Certificate: "not base64!"}), "Data", domain.ErrInvalid},
		{"fail/sshfp_hex", rec("x.example.com", "SSHFP", record.RecordData{Fingerprint: "xyz"}), "Data", domain.ErrInvalid},
		{"fail/tlsa_missing_cert", rec("x.example.com", "TLSA", record.RecordData{Usage: 3}), "Data", domain.ErrInvalid},
		{"fail/uri_relative", rec("_a._tcp.example.com", "URI", v("/relative")), "Data", domain.ErrInvalid},
		{"fail/cname_to_itself", cname("loop.example.com", "loop.example.com."), "Data", domain.ErrInvalid},
		{"fail/cname_ip", cname("ip.example.com", "192.0.2.1"), "Data", domain.ErrInvalid},
		{"fail/proxied_txt", proxied(rec("x.example.com", "TXT", v("x")), "web"), "Proxied", domain.ErrInvalid},
		{"fail/proxied_no_biz", func() record.RecordInput {
			in := rec("x.example.com", "A", v("192.0.2.1"))
			in.Proxied = ptr(true)
			return in
		}(), "BizName", domain.ErrMissing},
		{"fail/biz_unknown", proxied(rec("x.example.com", "A", v("192.0.2.1")), "video"), "BizName", domain.ErrInvalid},
		{"fail/ttl_zero", func() record.RecordInput { in := rec("x.example.com", "TXT", v("x")); in.Ttl = ptr(0); return in }(), "Ttl", domain.ErrInvalid},
		{"fail/ttl_29", func() record.RecordInput { in := rec("x.example.com", "TXT", v("x")); in.Ttl = ptr(29); return in }(), "Ttl", domain.ErrInvalid},
		{"fail/ttl_86401", func() record.RecordInput { in := rec("x.example.com", "TXT", v("x")); in.Ttl = ptr(86401); return in }(), "Ttl", domain.ErrInvalid},
		{"fail/source_on_a", func() record.RecordInput {
			in := rec("x.example.com", "A", v("192.0.2.1"))
			in.SourceType = ptr("Domain")
			return in
		}(), "SourceType", domain.ErrInvalid},
		{"fail/source_unknown", func() record.RecordInput {
			in := cname("x.example.com", "o.example.net")
			in.SourceType = ptr("ftp")
			return in
		}(), "SourceType", domain.ErrInvalid},
		{"fail/host_policy_on_a", func() record.RecordInput {
			in := rec("x.example.com", "A", v("192.0.2.1"))
			in.HostPolicy = ptr("follow_hostname")
			return in
		}(), "HostPolicy", domain.ErrInvalid},
		{"fail/host_policy_unknown", func() record.RecordInput {
			in := cname("x.example.com", "o.example.net")
			in.HostPolicy = ptr("follow_me")
			return in
		}(), "HostPolicy", domain.ErrInvalid},
		{"fail/comment_101", func() record.RecordInput {
			in := rec("x.example.com", "TXT", v("x"))
			in.Comment = ptr(strings.Repeat("é", 101))
			return in
		}(), "Comment", domain.ErrInvalid},
		{"fail/auth_on_domain_origin", withAuth(cname("x.example.com", "o.example.net"), "Domain", record.AuthConf{AuthType: "public"}), "AuthConf", domain.ErrInvalid},
		{"fail/auth_on_a", func() record.RecordInput {
			in := rec("x.example.com", "A", v("192.0.2.1"))
			in.AuthConf = &record.AuthConf{AuthType: "public"}
			return in
		}(), "AuthConf", domain.ErrInvalid},
		{"fail/auth_no_type", withAuth(cname("x.example.com", "o.example.net"), "OSS", record.AuthConf{Region: "cn-hangzhou"}), "AuthConf", domain.ErrInvalid},
		{"fail/auth_private_on_oss", withAuth(cname("x.example.com", "o.example.net"), "OSS", record.AuthConf{AuthType: "private", AccessKey: "a", SecretKey: "b"}), "AuthConf", domain.ErrInvalid},
		{"fail/auth_cross_account_no_keys", withAuth(cname("x.example.com", "o.example.net"), "OSS", record.AuthConf{AuthType: "private_cross_account"}), "AuthConf", domain.ErrInvalid},
		{"fail/auth_version", withAuth(cname("x.example.com", "o.example.net"), "S3", record.AuthConf{AuthType: "public", Version: "v3"}), "AuthConf", domain.ErrInvalid},
		// What the edge cannot sign for is refused (internal/originauth).
		{"fail/auth_same_account", withAuth(cname("x.example.com", "b.oss-cn-hangzhou.aliyuncs.com"), "OSS", record.AuthConf{AuthType: "private_same_account"}), "AuthConf", domain.ErrInvalid},
		{"fail/auth_cross_account_not_a_bucket", withAuth(cname("x.example.com", "o.example.net"), "OSS", record.AuthConf{AuthType: "private_cross_account", AccessKey: "a", SecretKey: "b"}), "AuthConf", domain.ErrInvalid},
		{"fail/auth_s3_v4_no_region", withAuth(cname("x.example.com", "b.s3.amazonaws.com"), "S3", record.AuthConf{AuthType: "private", AccessKey: "a", SecretKey: "b"}), "AuthConf", domain.ErrInvalid},
	}
	for _, tt := range fails {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			in.SiteID = st.ID
			_, err := svc.CreateRecord(ctx, in)
			wantParam(t, err, tt.param, tt.target)
		})
	}

	t.Run("fail/unknown_site", func(t *testing.T) {
		in := rec("www.example.com", "TXT", v("x"))
		in.SiteID = 1234567890123
		_, err := svc.CreateRecord(ctx, in)
		wantParam(t, err, "SiteId", site.ErrSiteNotFound)
	})
	t.Run("conflicts", func(t *testing.T) {
		in := rec("dup.example.com", "A", v("192.0.2.7"))
		in.SiteID = st.ID
		if _, err := svc.CreateRecord(ctx, in); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.CreateRecord(ctx, in); !errors.Is(err, record.ErrRecordDuplicate) || !errors.Is(err, record.ErrRecordConflict) {
			t.Errorf("the same record again = %v, want ErrRecordDuplicate", err)
		}
		c := cname("dup.example.com", "o.example.net")
		c.SiteID = st.ID
		if _, err := svc.CreateRecord(ctx, c); !errors.Is(err, record.ErrRecordTypeConflict) {
			t.Errorf("a CNAME beside an A/AAAA = %v, want ErrRecordTypeConflict", err)
		}
		in.Data = &record.RecordData{Value: "192.0.2.8"}
		if _, err := svc.CreateRecord(ctx, in); err != nil {
			t.Errorf("a second A/AAAA record with another value: %v", err)
		}
	})
}

// TestParseRecordData reads Data as the clients send it.
func TestParseRecordData(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want record.RecordData
		fail bool
	}{
		{"ok/sdk", `{"Value":"192.0.2.1"}`, record.RecordData{Value: "192.0.2.1"}, false},
		{"ok/lowercase", `{"value":"2.2.2.2"}`, record.RecordData{Value: "2.2.2.2"}, false},
		{"ok/terraform_zeros", `{"Algorithm":0,"Flag":0,"KeyTag":0,"MatchingType":0,"Port":0,"Priority":10,"Selector":0,"Type":0,"Usage":0,"Value":"mail.example.com","Weight":0}`,
			record.RecordData{Value: "mail.example.com", Priority: 10}, false},
		{"ok/mixed_case_and_strings", `{"VALUE":"x","matchingtype":"2","keyTag":" 7 ","Tags":{"a":"b"},"Extra":1}`,
			record.RecordData{Value: "x", MatchingType: 2, KeyTag: 7}, false},
		{"ok/null_and_float", `{"Value":null,"Port":443.0}`, record.RecordData{Port: 443}, false},
		{"fail/empty", ``, record.RecordData{}, true},
		{"fail/not_json", `Value=1.2.3.4`, record.RecordData{}, true},
		{"fail/array", `[{"Value":"x"}]`, record.RecordData{}, true},
		{"fail/null", `null`, record.RecordData{}, true},
		{"fail/trailing", `{"Value":"x"} {}`, record.RecordData{}, true},
		{"fail/key_twice", `{"Value":"a","value":"b"}`, record.RecordData{}, true},
		{"fail/int_as_text", `{"Priority":"ten"}`, record.RecordData{}, true},
		{"fail/fraction", `{"Priority":1.5}`, record.RecordData{}, true},
		{"fail/too_big", `{"Priority":4294967296}`, record.RecordData{}, true},
		{"fail/value_number", `{"Value":12}`, record.RecordData{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := record.ParseRecordData(tt.raw)
			if tt.fail {
				var pe *domain.ParamError
				if !errors.As(err, &pe) || pe.Param != "Data" {
					t.Fatalf("ParseRecordData = %+v, %v; want a ParamError on Data", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseRecordData (-want +got):\n%s", diff)
			}
		})
	}
	a, err := record.ParseAuthConf(`{"authtype":"private","AccessKey":"ak","secretKey":"sk","Region":"us-east-1","VERSION":"v4","Extra":0}`)
	if err != nil {
		t.Fatal(err)
	}
	if want := (record.AuthConf{AuthType: "private", AccessKey: "ak", SecretKey: "sk", Region: "us-east-1", Version: "v4"}); a != want {
		t.Errorf("ParseAuthConf = %+v, want %+v", a, want)
	}
	if a, err := record.ParseAuthConf(""); err != nil || !a.IsZero() {
		t.Errorf("ParseAuthConf(\"\") = %+v, %v; want zero", a, err)
	}
	if _, err := record.ParseAuthConf(`{"AuthType":1}`); err == nil {
		t.Error("ParseAuthConf accepted a number for AuthType")
	}
}

func TestUpdateRecord(t *testing.T) {
	svc, clk, site := newService(t)
	ctx := t.Context()
	in := proxied(rec("www.example.com", "CNAME", record.RecordData{Value: "origin.oss-cn-hangzhou.aliyuncs.com"}), "web")
	in.SiteID, in.Ttl, in.Comment, in.SourceType, in.HostPolicy = site.ID, ptr(600), ptr("first"), ptr("OSS"), ptr("follow_hostname")
	in.AuthConf = &record.AuthConf{AuthType: "private_cross_account", AccessKey: "LTAI5tAccessKeyForTest", SecretKey: "SecretKeyOfTheOriginBucket42"}
	created, err := svc.CreateRecord(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	mask := created.AuthConf

	clk.T = t0.Add(time.Hour)
	// Terraform resends the full Data, with zero ints, and the changed fields.
	tf, err := record.ParseRecordData(`{"Algorithm":0,"Flag":0,"KeyTag":0,"MatchingType":0,"Port":0,"Priority":0,"Selector":0,"Type":0,"Usage":0,"Value":"new-origin.oss-cn-hangzhou.aliyuncs.com","Weight":0}`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := svc.UpdateRecord(ctx, created.ID, record.RecordInput{Data: &tf, Comment: ptr("second"),
		AuthConf: &record.AuthConf{AuthType: "private_cross_account", AccessKey: mask.AccessKey, SecretKey: mask.SecretKey}})
	if err != nil {
		t.Fatal(err)
	}
	want := created
	want.Data, want.Comment, want.Updated = record.RecordData{Value: "new-origin.oss-cn-hangzhou.aliyuncs.com"}, "second", t0.Add(time.Hour)
	if diff := cmp.Diff(want, got, cmpSealed); diff != "" {
		t.Errorf("after update (-want +got):\n%s", diff)
	}
	clear, err := svc.RecordAuth(got)
	if err != nil {
		t.Fatal(err)
	}
	if clear.AccessKey != in.AuthConf.AccessKey || clear.SecretKey != in.AuthConf.SecretKey {
		t.Errorf("masks sent back lost the secrets: %+v", clear)
	}

	steps := []struct {
		name  string
		in    record.RecordInput
		check func(t *testing.T, r record.Record)
		param string
	}{
		{"ok/unproxied_keeps_biz", record.RecordInput{Proxied: ptr(false)}, func(t *testing.T, r record.Record) {
			if r.Proxied || r.BizName != "web" || r.Ttl != 600 {
				t.Errorf("got %+v", r)
			}
		}, ""},
		{"fail/proxied_txt", record.RecordInput{Type: ptr("TXT"), Proxied: ptr(true)}, nil, "Proxied"},
		{"ok/new_secret", record.RecordInput{AuthConf: &record.AuthConf{AuthType: "private_cross_account", AccessKey: "AnotherAccessKey0001", SecretKey: "AnotherSecretKey0002"}},
			func(t *testing.T, r record.Record) {
				clear, err := svc.RecordAuth(r)
				if err != nil || clear.SecretKey != "AnotherSecretKey0002" || r.AuthConf.SecretKey != "Anot****0002" {
					t.Errorf("RecordAuth = %+v, %v; shown %+v", clear, err, r.AuthConf)
				}
			}, ""},
		{"ok/domain_origin_drops_auth", record.RecordInput{SourceType: ptr("domain")}, func(t *testing.T, r record.Record) {
			if !r.AuthConf.IsZero() || r.SealedSecrets != nil || r.SourceType != record.SourceDomain {
				t.Errorf("got %+v", r)
			}
		}, ""},
		{"ok/becomes_a_drops_cname_fields", record.RecordInput{Type: ptr("A"), Data: &record.RecordData{Value: "192.0.2.1"}}, func(t *testing.T, r record.Record) {
			if r.Type != record.RecordA || r.SourceType != "" || r.HostPolicy != "" {
				t.Errorf("got %+v", r)
			}
		}, ""},
		{"fail/bad_ttl", record.RecordInput{Ttl: ptr(5)}, nil, "Ttl"},
		{"fail/data_of_other_type", record.RecordInput{Data: &record.RecordData{Value: "mail.example.com", Priority: 5}}, nil, "Data"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			got, err := svc.UpdateRecord(ctx, created.ID, st.in)
			if st.param != "" {
				wantParam(t, err, st.param, domain.ErrInvalid)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			stored, err := svc.Record(ctx, created.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, stored); diff != "" {
				t.Errorf("stored differs from the answer (-answer +stored):\n%s", diff)
			}
			st.check(t, stored)
		})
	}
	if _, err := svc.UpdateRecord(ctx, 1234567890123, record.RecordInput{Comment: ptr("x")}); !errors.Is(err, record.ErrRecordNotFound) {
		t.Errorf("UpdateRecord(missing) = %v, want ErrRecordNotFound", err)
	}
	if err := svc.DeleteRecord(ctx, created.ID); err != nil {
		t.Fatal(err)
	}
	if err := svc.DeleteRecord(ctx, created.ID); !errors.Is(err, record.ErrRecordNotFound) {
		t.Errorf("DeleteRecord(deleted) = %v, want ErrRecordNotFound", err)
	}
	if _, err := svc.Record(ctx, created.ID); !errors.Is(err, record.ErrRecordNotFound) {
		t.Errorf("Record(deleted) = %v, want ErrRecordNotFound", err)
	}
}

// cmpSealed ignores the sealed bytes, which change with every seal.
var cmpSealed = cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".SealedSecrets" }, cmp.Ignore())

// TestRecordSecretsSealed: the keys of AuthConf are sealed, shown masked,
// opened only by RecordAuth, and follow a master key rotation.
func TestRecordSecretsSealed(t *testing.T) {
	svc, _, site := newService(t)
	ctx := t.Context()
	ak, sk := "LTAI5tQwErTyUiOpAsDf", "u0Nkg5gBKq1w2e3r4t5y6QF5wvKMM504JUHt"
	in := proxied(rec("s3.example.com", "CNAME", record.RecordData{Value: "bucket.s3.amazonaws.com"}), "web")
	in.SiteID, in.SourceType = site.ID, ptr("S3")
	in.AuthConf = &record.AuthConf{AuthType: "private", AccessKey: ak, SecretKey: sk, Region: "us-east-1", Version: "v4"}
	r, err := svc.CreateRecord(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if r.AuthConf.AccessKey != "LTAI****AsDf" || r.AuthConf.SecretKey != "u0Nk****JUHt" {
		t.Errorf("shown keys %q %q, want them masked", r.AuthConf.AccessKey, r.AuthConf.SecretKey)
	}
	if bytes.Contains(r.SealedSecrets, []byte(sk)) || bytes.Contains(r.SealedSecrets, []byte(ak)) || len(r.SealedSecrets) == 0 {
		t.Fatal("the secrets are not sealed")
	}
	stored, _ := svc.Record(ctx, r.ID)
	clear, err := svc.RecordAuth(stored)
	if err != nil || clear.AccessKey != ak || clear.SecretKey != sk || clear.Region != "us-east-1" {
		t.Fatalf("RecordAuth = %+v, %v", clear, err)
	}

	// Rotate the master key: the record's secrets open with the new one only.
	store := svc.Store.(cert.ResealStore)
	k, _ := keyseal.Generate()
	next, _ := keyseal.New(k)
	n, err := cert.Reseal(ctx, store, svc.Sealer, next, nil)
	if err != nil || n != 1 {
		t.Fatalf("Reseal = %d, %v; want 1 key", n, err)
	}
	stored, _ = svc.Record(ctx, r.ID)
	if _, err := svc.RecordAuth(stored); !errors.Is(err, domain.ErrKeyUnavailable) {
		t.Errorf("RecordAuth with the old key = %v, want ErrKeyUnavailable", err)
	}
	rotated := *svc
	rotated.Sealer = next
	if clear, err := rotated.RecordAuth(stored); err != nil || clear.SecretKey != sk {
		t.Errorf("RecordAuth after rotation = %+v, %v", clear, err)
	}
}

func TestRecordOrigins(t *testing.T) {
	tests := []struct {
		value string
		hosts []string
		port  int
	}{
		{"192.0.2.1", []string{"192.0.2.1"}, 80},
		{"192.0.2.1:8080", []string{"192.0.2.1"}, 8080},
		{"192.0.2.1, 192.0.2.2:81", []string{"192.0.2.1", "192.0.2.2"}, 81},
		{"192.0.2.1,2001:db8::1", []string{"192.0.2.1", "2001:db8::1"}, 80},
		{"192.0.2.1,2001:db8::1:8080", []string{"192.0.2.1", "2001:db8::1:8080"}, 80}, // a bare IPv6 address has no port
		{"192.0.2.1,[2001:db8::1]:8443", []string{"192.0.2.1", "2001:db8::1"}, 8443},
		{"origin.example.net:3000", []string{"origin.example.net"}, 3000},
		{"origin.example.net", []string{"origin.example.net"}, 80},
	}
	for _, tt := range tests {
		hosts, port := record.Record{Data: record.RecordData{Value: tt.value}}.Origins()
		if diff := cmp.Diff(tt.hosts, hosts); diff != "" || port != tt.port {
			t.Errorf("Origins(%q) = %v, %d; want %v, %d", tt.value, hosts, port, tt.hosts, tt.port)
		}
	}
}

func TestMaskSecret(t *testing.T) {
	for in, want := range map[string]string{
		"":                                 "",
		"short":                            "****",
		"fifteen-chars!!":                  "****",
		"sixteen-chars!!!":                 "sixt****s!!!",
		"u0Nkg5gBKq1w2e3r4t5y6QF5wvKMM504": "u0Nk****M504",
	} {
		if got := record.MaskSecret(in); got != want {
			t.Errorf("MaskSecret(%q) = %q, want %q", in, got, want)
		}
	}
}
