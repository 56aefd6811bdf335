package api

import (
	"database/sql"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/esacert/esacert/internal/accesskey"
	"github.com/esacert/esacert/internal/site"
	"github.com/esacert/esacert/internal/sitesetting"
	"github.com/esacert/esacert/internal/store/sqlstore"
)

// manyTagged is more sites than SQLite takes parameters in one statement
// (32766): a filter that listed the ids of the matching sites failed.
const manyTagged = 33000

// TestTagFiltersManySites: ListSites' TagFilter and ListTagResources by
// tag answer over more tagged sites than one SQL statement could name.
func TestTagFiltersManySites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "esacert.db")
	store, err := sqlstore.Open(t.Context(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	clk := &clock{t: testNow}
	sites := &site.Service{Store: store, Now: clk.Now}
	if err := sites.EnsureDefaultInstance(t.Context()); err != nil {
		t.Fatal(err)
	}
	instance, err := sites.DefaultInstanceID()
	if err != nil {
		t.Fatal(err)
	}
	// Thousands of sites through the API would take minutes: write them
	// straight into the database, tagged env=prod (every third also
	// team=edge), and two untagged ones.
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	insert := []struct {
		q    string
		args []any
	}{
		{`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
		  INSERT INTO sites (id, name, access_type, coverage, status, instance_id, resource_group_id, verify_code, created_us, updated_us)
		  SELECT 1000000000000 + i, 'site' || i || '.example.com', 'NS', 'overseas', 'active', ?, '', 'verify', i, i FROM n`,
			[]any{manyTagged + 2, instance}},
		{`INSERT INTO site_tags (site_id, tag_key, tag_value) SELECT id, 'env', 'prod' FROM sites WHERE id <= 1000000000000 + ?`,
			[]any{manyTagged}},
		{`INSERT INTO site_tags (site_id, tag_key, tag_value) SELECT id, 'team', 'edge' FROM sites WHERE id % 3 = 0 AND id <= 1000000000000 + ?`,
			[]any{manyTagged}},
	}
	for _, in := range insert {
		if _, err := db.ExecContext(t.Context(), in.q, in.args...); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	s := &Server{Sites: sites, Settings: &sitesetting.Service{Store: store}, Keys: accesskey.NewRing(accesskey.Key{ID: "testAKID", Secret: "testSecret"}),
		Now: clk.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	hs := httptest.NewServer(s)
	defer hs.Close()
	sig := &signer{key: "testAKID", secret: "testSecret", now: testNow}
	tests := []struct {
		name      string
		action    string
		params    url.Values
		wantTotal float64
		wantNext  string
	}{
		{"ListSites/by_tag", "ListSites", url.Values{"TagFilter": {`[{"Key":"env","Value":"prod"}]`}, "PageSize": {"5"}}, manyTagged, ""},
		{"ListSites/by_two_tags", "ListSites", url.Values{"Tags.1.Key": {"env"}, "Tags.2.Key": {"team"}, "Tags.2.Value": {"edge"}}, manyTagged / 3, ""},
		{"ListTagResources/by_tag", "ListTagResources", url.Values{"ResourceType": {"site"}, "Tag.1.Key": {"env"}, "MaxItem": {"100"}}, manyTagged, "100"},
		{"ListTagResources/by_either_tag", "ListTagResources", url.Values{"ResourceType": {"site"}, "Tag.1.Key": {"env"}, "Tag.2.Key": {"team"},
			"NextToken": {"100"}}, manyTagged + manyTagged/3, "120"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := do(t, sig.rpc(t, hs.URL, "POST", tt.action, tt.params, nil))
			if a.status != 200 {
				t.Fatalf("%s: %d %v", tt.action, a.status, a.body)
			}
			if got := a.body["TotalCount"]; got != tt.wantTotal {
				t.Errorf("TotalCount = %v, want %v", got, tt.wantTotal)
			}
			if got, _ := a.body["NextToken"].(string); got != tt.wantNext {
				t.Errorf("NextToken = %q, want %q", got, tt.wantNext)
			}
		})
	}
}
