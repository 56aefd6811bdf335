package record_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/record"
)

// TestProxiedOriginsFollowThePolicy: a proxied record whose origin is not
// public is refused when written (on create, and on an update that makes
// a record proxied), naming Data and the range; records that are not
// proxied are DNS data and keep any address; an allowed range is accepted.
func TestProxiedOriginsFollowThePolicy(t *testing.T) {
	svc, _, site := newService(t)
	ctx := t.Context()
	v := func(s string) record.RecordData { return record.RecordData{Value: s} }
	create := func(in record.RecordInput) (record.Record, error) {
		in.SiteID = site.ID
		return svc.CreateRecord(ctx, in)
	}
	fails := []struct {
		name string
		in   record.RecordInput
		why  string // a part of the reason
	}{
		{"fail/a_loopback_api", proxied(rec("a.example.com", "A/AAAA", v("127.0.0.1:8787")), "web"), "127.0.0.0/8 (loopback)"},
		{"fail/a_second_address", proxied(rec("b.example.com", "A/AAAA", v("192.0.2.1,10.0.0.1")), "web"), "10.0.0.0/8 (private)"},
		{"fail/a_v6_loopback", proxied(rec("c.example.com", "A/AAAA", v("192.0.2.1,[::1]:80")), "web"), "::1/128 (loopback)"},
		{"fail/cname_localhost", proxied(rec("d.example.com", "CNAME", v("localhost:8787")), "web"), "origin localhost (127.0.0.1)"},
		{"fail/cname_under_localhost", proxied(rec("e.example.com", "CNAME", v("api.localhost.")), "web"), "127.0.0.0/8"},
	}
	for _, tt := range fails {
		t.Run(tt.name, func(t *testing.T) {
			_, err := create(tt.in)
			wantParam(t, err, "Data", domain.ErrInvalid)
			if !strings.Contains(err.Error(), tt.why) || !strings.Contains(err.Error(), "--private-origins") {
				t.Errorf("reason %q does not name %q and the setting", err, tt.why)
			}
		})
	}
	// Not proxied: DNS data only.
	plain, err := create(rec("plain.example.com", "A/AAAA", v("10.0.0.1,127.0.0.1")))
	if err != nil {
		t.Fatalf("an unproxied record with private addresses: %v", err)
	}
	if _, err := create(rec("alias.example.com", "CNAME", v("localhost"))); err != nil {
		t.Fatalf("an unproxied CNAME to localhost: %v", err)
	}
	// Made proxied by an update: checked then.
	_, err = svc.UpdateRecord(ctx, plain.ID, record.RecordInput{Proxied: ptr(true), BizName: ptr("web")})
	wantParam(t, err, "Data", domain.ErrInvalid)
	// A name is left to the edge, which checks what it resolves to.
	if _, err := create(proxied(rec("name.example.com", "CNAME", v("origin.example.net:8080")), "web")); err != nil {
		t.Fatalf("a proxied CNAME to a name: %v", err)
	}
	// Allowed by the operator.
	svc.Origins.Allow = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.1/32")}
	if _, err := svc.UpdateRecord(ctx, plain.ID, record.RecordInput{Proxied: ptr(true), BizName: ptr("web")}); err != nil {
		t.Fatalf("allowed ranges refused: %v", err)
	}
	if _, err := create(proxied(rec("d.example.com", "CNAME", v("localhost:8787")), "web")); err != nil {
		t.Fatalf("localhost with 127.0.0.1/32 allowed: %v", err)
	}
}
