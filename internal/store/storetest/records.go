package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/record"
	"github.com/esacert/esacert/internal/site"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// recordStore is what the record tests need: a Store that keeps DNS
// records too, with the bulk reads the edge uses.
type recordStore interface {
	Store
	record.Store
	ProxiedRecords(ctx context.Context) ([]record.Record, error)
	RecordsOfSite(ctx context.Context, siteID int64) ([]record.Record, error)
}

// revisioner is the edge change feed's revision, when the store has one.
type revisioner interface {
	Revision(ctx context.Context) (int64, error)
}

func newRecord(id, siteID int64, name, typ string, data record.RecordData, created time.Time) record.Record {
	return record.Record{ID: id, SiteID: siteID, Name: name, Type: typ, Ttl: 1, Data: data, Created: created, Updated: created}
}

func recordIDs(list []record.Record) []int64 {
	var ids []int64
	for _, r := range list {
		ids = append(ids, r.ID)
	}
	return ids
}

func testRecords(t *testing.T, st Store) {
	s, ok := st.(recordStore)
	if !ok {
		t.Fatalf("%T does not store DNS records", st)
	}
	ctx := t.Context()
	mustInstance(t, s, instance("inst-r", "basic", 0, now))
	const site1, site2 = 7000000000001, 7000000000002
	mustSite(t, s, newSite(site1, "example.com", "inst-r", now))
	mustSite(t, s, newSite(site2, "other.com", "inst-r", now))

	a := newRecord(7100000000001, site1, "www.example.com", record.RecordA, record.RecordData{Value: "192.0.2.1,2001:db8::1"}, now)
	a.Proxied, a.BizName, a.Ttl, a.Comment = true, "web", 600, "front door"
	c := newRecord(7100000000002, site1, "static.example.com", record.RecordCNAME, record.RecordData{Value: "bucket.oss.example.net"}, now.Add(time.Second))
	c.Proxied, c.BizName, c.SourceType, c.HostPolicy = true, "image_video", record.SourceOSS, "follow_origin_domain"
	c.AuthConf = record.AuthConf{AuthType: "private_cross_account", AccessKey: "LTAI****wxyz", SecretKey: "abcd****6789"}
	c.SealedSecrets = []byte{9, 8, 7, 0, 255}
	txt := newRecord(7100000000003, site1, "_dmarc.example.com", record.RecordTXT, record.RecordData{Value: "v=DMARC1; p=none"}, now.Add(2*time.Second))
	mx := newRecord(7100000000004, site1, "example.com", record.RecordMX, record.RecordData{Value: "mail.example.com", Priority: 10}, now.Add(3*time.Second))
	plain := newRecord(7100000000005, site1, "api.example.com", record.RecordCNAME, record.RecordData{Value: "origin.example.net"}, now.Add(4*time.Second))
	plain.Proxied, plain.BizName = true, "video_image" // no SourceType: Domain
	otherA := newRecord(7100000000006, site2, "www.other.com", record.RecordA, record.RecordData{Value: "198.51.100.7"}, now)

	rev := func() int64 {
		if r, ok := s.(revisioner); ok {
			n, err := r.Revision(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		return 0
	}
	before := rev()
	for _, r := range []record.Record{a, c, txt, mx, plain, otherA} {
		if err := s.CreateRecord(ctx, r); err != nil {
			t.Fatalf("CreateRecord(%s %s): %v", r.Type, r.Name, err)
		}
	}
	if _, ok := s.(revisioner); ok && rev() != before+6 {
		t.Errorf("edge revision moved from %d to %d over 6 creates", before, rev())
	}

	for _, want := range []record.Record{a, c, txt, mx} {
		got, err := s.Record(ctx, want.ID)
		if err != nil {
			t.Fatalf("Record(%d): %v", want.ID, err)
		}
		want.SiteName = "example.com"
		if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("Record(%s) (-want +got):\n%s", want.Name, diff)
		}
	}
	if _, err := s.Record(ctx, 42); !errors.Is(err, record.ErrRecordNotFound) {
		t.Errorf("Record(missing) = %v, want ErrRecordNotFound", err)
	}

	creates := []struct {
		name string
		r    record.Record
		want error
	}{
		{"fail/same_name_type_value", newRecord(7100000000010, site1, "www.example.com", record.RecordA, a.Data, now), record.ErrRecordDuplicate},
		{"fail/cname_where_a", newRecord(7100000000011, site1, "www.example.com", record.RecordCNAME, record.RecordData{Value: "x.example.net"}, now), record.ErrRecordTypeConflict},
		{"fail/a_where_cname", newRecord(7100000000012, site1, "static.example.com", record.RecordA, record.RecordData{Value: "192.0.2.9"}, now), record.ErrRecordTypeConflict},
		{"fail/second_cname", newRecord(7100000000013, site1, "static.example.com", record.RecordCNAME, record.RecordData{Value: "y.example.net"}, now), record.ErrRecordTypeConflict},
		{"fail/same_id", newRecord(a.ID, site1, "new.example.com", record.RecordTXT, record.RecordData{Value: "x"}, now), domain.ErrExists},
		{"fail/no_site", newRecord(7100000000014, 42, "www.nowhere.com", record.RecordTXT, record.RecordData{Value: "x"}, now), site.ErrSiteNotFound},
		{"ok/second_a_other_value", newRecord(7100000000015, site1, "www.example.com", record.RecordA, record.RecordData{Value: "192.0.2.2"}, now.Add(5*time.Second)), nil},
		{"ok/same_name_other_type", newRecord(7100000000016, site1, "www.example.com", record.RecordTXT, record.RecordData{Value: "hello"}, now.Add(6*time.Second)), nil},
		{"ok/same_record_other_site", newRecord(7100000000017, site2, "www.example.com", record.RecordA, a.Data, now), nil},
	}
	for _, tt := range creates {
		t.Run(tt.name, func(t *testing.T) {
			err := s.CreateRecord(ctx, tt.r)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("CreateRecord = %v, want %v", err, tt.want)
			}
			if errors.Is(tt.want, record.ErrRecordConflict) && !errors.Is(err, record.ErrRecordConflict) {
				t.Fatalf("CreateRecord = %v, which does not match ErrRecordConflict", err)
			}
			if tt.want != domain.ErrExists && errors.Is(err, domain.ErrExists) {
				t.Fatalf("CreateRecord = %v, which also matches ErrExists", err)
			}
		})
	}

	yes, no := true, false
	lists := []struct {
		name      string
		f         record.RecordFilter
		want      []int64
		wantTotal int
	}{
		{"ok/all_by_name", record.RecordFilter{SiteID: site1}, []int64{txt.ID, plain.ID, mx.ID, c.ID, a.ID, 7100000000015, 7100000000016}, 7},
		{"ok/exact", record.RecordFilter{SiteID: site1, Name: "www.example.com"}, []int64{a.ID, 7100000000015, 7100000000016}, 3},
		{"ok/exact_is_not_substring", record.RecordFilter{SiteID: site1, Name: "www", NameMatch: domain.MatchExact}, nil, 0},
		{"ok/prefix", record.RecordFilter{SiteID: site1, Name: "st", NameMatch: domain.MatchPrefix}, []int64{c.ID}, 1},
		{"ok/suffix", record.RecordFilter{SiteID: site1, Name: "ic.example.com", NameMatch: domain.MatchSuffix}, []int64{c.ID}, 1},
		{"ok/fuzzy", record.RecordFilter{SiteID: site1, Name: "a", NameMatch: domain.MatchFuzzy}, []int64{txt.ID, plain.ID, mx.ID, c.ID, a.ID, 7100000000015, 7100000000016}, 7},
		{"ok/underscore_is_literal", record.RecordFilter{SiteID: site1, Name: "_d", NameMatch: domain.MatchPrefix}, []int64{txt.ID}, 1},
		{"ok/percent_is_literal", record.RecordFilter{SiteID: site1, Name: "%", NameMatch: domain.MatchFuzzy}, nil, 0},
		{"ok/type", record.RecordFilter{SiteID: site1, Type: record.RecordCNAME}, []int64{plain.ID, c.ID}, 2},
		{"ok/proxied", record.RecordFilter{SiteID: site1, Proxied: &yes}, []int64{plain.ID, c.ID, a.ID}, 3},
		{"ok/not_proxied", record.RecordFilter{SiteID: site1, Proxied: &no}, []int64{txt.ID, mx.ID, 7100000000015, 7100000000016}, 4},
		{"ok/source_oss", record.RecordFilter{SiteID: site1, SourceType: record.SourceOSS}, []int64{c.ID}, 1},
		{"ok/source_domain_includes_unset", record.RecordFilter{SiteID: site1, SourceType: record.SourceDomain}, []int64{plain.ID}, 1},
		{"ok/biz_names", record.RecordFilter{SiteID: site1, BizNames: []string{"image_video", "video_image"}}, []int64{plain.ID, c.ID}, 2},
		{"ok/combined", record.RecordFilter{SiteID: site1, Name: "www.example.com", Type: record.RecordA, Proxied: &yes}, []int64{a.ID}, 1},
		{"ok/page_2", record.RecordFilter{SiteID: site1, Page: domain.Page{Offset: 2, Limit: 2}}, []int64{mx.ID, c.ID}, 7},
		{"ok/page_past_end", record.RecordFilter{SiteID: site1, Page: domain.Page{Offset: 10, Limit: 2}}, nil, 7},
		{"ok/other_site", record.RecordFilter{SiteID: site2}, []int64{7100000000017, otherA.ID}, 2},
		{"ok/unknown_site", record.RecordFilter{SiteID: 42}, nil, 0},
	}
	for _, tt := range lists {
		t.Run(tt.name, func(t *testing.T) {
			got, total, err := s.ListRecords(ctx, tt.f)
			if err != nil {
				t.Fatalf("ListRecords: %v", err)
			}
			if diff := cmp.Diff(tt.want, recordIDs(got)); diff != "" {
				t.Errorf("ListRecords ids (-want +got):\n%s", diff)
			}
			if total != tt.wantTotal {
				t.Errorf("ListRecords total = %d, want %d", total, tt.wantTotal)
			}
		})
	}
	// Lists carry whole records, secrets sealed.
	got, _, err := s.ListRecords(ctx, record.RecordFilter{SiteID: site1, Name: "static.example.com"})
	if err != nil || len(got) != 1 {
		t.Fatalf("ListRecords(static) = %v, %v", got, err)
	}
	wantC := c
	wantC.SiteName = "example.com"
	if diff := cmp.Diff(wantC, got[0], cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("listed record (-want +got):\n%s", diff)
	}

	t.Run("update", func(t *testing.T) {
		u := c
		u.Data = record.RecordData{Value: "other-bucket.oss.example.net"}
		u.Ttl, u.Comment, u.HostPolicy = 3600, "moved", ""
		u.AuthConf, u.SealedSecrets = record.AuthConf{AuthType: "public"}, nil
		u.Updated = now.Add(time.Hour)
		before := rev()
		if err := s.UpdateRecord(ctx, u); err != nil {
			t.Fatalf("UpdateRecord: %v", err)
		}
		if r, ok := s.(revisioner); ok {
			if n, _ := r.Revision(ctx); n != before+1 {
				t.Errorf("edge revision %d after an update from %d", n, before)
			}
		}
		got, err := s.Record(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		u.SiteName = "example.com"
		if diff := cmp.Diff(u, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("after update (-want +got):\n%s", diff)
		}
		if got.Created != c.Created {
			t.Errorf("update changed the creation time")
		}
		// Secrets back again.
		u.SealedSecrets = []byte{1, 2, 3}
		if err := s.UpdateRecord(ctx, u); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Record(ctx, c.ID); string(got.SealedSecrets) != string([]byte{1, 2, 3}) {
			t.Errorf("SealedSecrets after update = %v", got.SealedSecrets)
		}
	})
	updates := []struct {
		name   string
		change func(r *record.Record)
		want   error
	}{
		{"fail/becomes_duplicate", func(r *record.Record) { *r = mustRecord(s.Record(ctx, 7100000000015)); r.Data = a.Data }, record.ErrRecordDuplicate},
		{"fail/becomes_cname_beside_a", func(r *record.Record) {
			*r = mustRecord(s.Record(ctx, 7100000000016))
			r.Type, r.Data = record.RecordCNAME, record.RecordData{Value: "z.example.net"}
		}, record.ErrRecordTypeConflict},
		{"ok/same_data_again", func(r *record.Record) { *r = mustRecord(s.Record(ctx, a.ID)); r.Comment = "still here" }, nil},
		{"fail/missing", func(r *record.Record) { *r = mustRecord(s.Record(ctx, a.ID)); r.ID = 42 }, record.ErrRecordNotFound},
		{"fail/wrong_site", func(r *record.Record) { *r = mustRecord(s.Record(ctx, a.ID)); r.SiteID = site2 }, record.ErrRecordNotFound},
	}
	for _, tt := range updates {
		t.Run("update/"+tt.name, func(t *testing.T) {
			var r record.Record
			tt.change(&r)
			err := s.UpdateRecord(ctx, r)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("UpdateRecord = %v, want %v", err, tt.want)
			}
		})
	}

	t.Run("bulk_reads", func(t *testing.T) {
		proxied, err := s.ProxiedRecords(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]int64{plain.ID, c.ID, a.ID}, recordIDs(proxied)); diff != "" {
			t.Errorf("ProxiedRecords (-want +got):\n%s", diff)
		}
		if len(proxied) == 3 && (proxied[1].SiteName != "example.com" || len(proxied[1].SealedSecrets) == 0) {
			t.Errorf("ProxiedRecords gives %+v, want the site name and the sealed secrets", proxied[1])
		}
		ofSite, err := s.RecordsOfSite(ctx, site2)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]int64{7100000000017, otherA.ID}, recordIDs(ofSite)); diff != "" {
			t.Errorf("RecordsOfSite (-want +got):\n%s", diff)
		}
		if none, err := s.RecordsOfSite(ctx, 42); err != nil || len(none) != 0 {
			t.Errorf("RecordsOfSite(missing) = %v, %v; want none", none, err)
		}
	})

	t.Run("delete", func(t *testing.T) {
		before := rev()
		if err := s.DeleteRecord(ctx, txt.ID); err != nil {
			t.Fatal(err)
		}
		if r, ok := s.(revisioner); ok {
			if n, _ := r.Revision(ctx); n != before+1 {
				t.Errorf("edge revision %d after a delete from %d", n, before)
			}
		}
		if _, err := s.Record(ctx, txt.ID); !errors.Is(err, record.ErrRecordNotFound) {
			t.Errorf("Record(deleted) = %v, want ErrRecordNotFound", err)
		}
		if err := s.DeleteRecord(ctx, txt.ID); !errors.Is(err, record.ErrRecordNotFound) {
			t.Errorf("DeleteRecord(deleted) = %v, want ErrRecordNotFound", err)
		}
		// The same record can be created again.
		if err := s.CreateRecord(ctx, newRecord(7100000000020, site1, txt.Name, txt.Type, txt.Data, now)); err != nil {
			t.Errorf("CreateRecord after delete: %v", err)
		}
	})

	t.Run("conflict_race", func(t *testing.T) { testRecordConflictRace(t, s) })

	t.Run("site_delete_cascades", func(t *testing.T) {
		if err := s.DeleteSite(ctx, site1); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Record(ctx, c.ID); !errors.Is(err, record.ErrRecordNotFound) {
			t.Errorf("Record of a deleted site = %v, want ErrRecordNotFound", err)
		}
		if list, _ := s.RecordsOfSite(ctx, site1); len(list) != 0 {
			t.Errorf("RecordsOfSite(deleted site) = %v", recordIDs(list))
		}
		proxied, _ := s.ProxiedRecords(ctx)
		if len(proxied) != 0 {
			t.Errorf("ProxiedRecords after the site's deletion = %v", recordIDs(proxied))
		}
		if err := s.UpdateRecord(ctx, c); !errors.Is(err, record.ErrRecordNotFound) {
			t.Errorf("UpdateRecord of a deleted site's record = %v, want ErrRecordNotFound", err)
		}
		// Its ids and names are free again.
		mustSite(t, s, newSite(site1, "example.com", "inst-r", now))
		if err := s.CreateRecord(ctx, c); err != nil {
			t.Errorf("CreateRecord with a freed id: %v", err)
		}
	})
}

func mustRecord(r record.Record, err error) record.Record {
	if err != nil {
		panic(err)
	}
	return r
}

// testRecordConflictRace creates CNAME records on one name from many
// goroutines at once: exactly one may win.
func testRecordConflictRace(t *testing.T, s recordStore) {
	ctx := t.Context()
	mustInstance(t, s, instance("inst-rr", "basic", 0, now))
	mustSite(t, s, newSite(7200000000001, "race.com", "inst-rr", now))
	const n = 10
	won := race(t, n, record.ErrRecordTypeConflict, func(i int) error {
		r := newRecord(int64(7200000000100+i), 7200000000001, "www.race.com", record.RecordCNAME,
			record.RecordData{Value: fmt.Sprintf("o%d.example.net", i)}, now)
		if i%2 == 1 {
			r.Type, r.Data = record.RecordA, record.RecordData{Value: fmt.Sprintf("192.0.2.%d", i)}
		}
		return s.CreateRecord(ctx, r)
	})
	list, _, err := s.ListRecords(ctx, record.RecordFilter{SiteID: 7200000000001})
	if err != nil {
		t.Fatal(err)
	}
	// Either one CNAME, or any number of A/AAAA records and no CNAME.
	cnames := 0
	for _, r := range list {
		if r.Type == record.RecordCNAME {
			cnames++
		}
	}
	if won != len(list) || cnames > 1 || cnames == 1 && len(list) != 1 {
		t.Fatalf("%d creates won, the name holds %d records of which %d CNAME", won, len(list), cnames)
	}
}
