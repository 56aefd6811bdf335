package edge

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/originauth"
	"github.com/esacert/esacert/internal/record"
	"github.com/esacert/esacert/internal/site"
)

// TestOriginSigned: the requests to a private bucket origin are signed with
// the record's keys (each scheme; the visitor's own Authorization never
// reaches the bucket), a public origin's are not, and a route whose keys
// cannot be opened is answered 502 without reaching its origin. The
// signature is checked by signing the request the origin got again
// (originauth's own tests check it against AWS's published examples).
func TestOriginSigned(t *testing.T) {
	f := newFixture(t)
	type got struct {
		host, auth string
		req        *http.Request
	}
	seen := make(chan got, 16)
	originSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- got{r.Host, r.Header.Get("Authorization"), r.Clone(r.Context())}
		w.Write([]byte("object"))
	}))
	defer originSrv.Close()
	addr := strings.TrimPrefix(originSrv.URL, "http://")
	seal := func(id int64, ak, sk string) []byte {
		b, err := record.SealSecrets(f.sealer, id, ak, sk)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	st := siteState(1, "example.com", site.SiteActive)
	st.Routes = []Route{
		{Name: "s3v4.example.com", Origin: addr, OriginHost: "bucket.s3.us-east-1.amazonaws.com",
			Auth: RouteAuth{Type: "private", Region: "us-east-1", Record: 41, Sealed: seal(41, "AKV4", "secret-v4")}},
		{Name: "s3v2.example.com", Origin: addr, OriginHost: "bucket.s3.amazonaws.com",
			Auth: RouteAuth{Type: "private", Version: "v2", Record: 42, Sealed: seal(42, "AKV2", "secret-v2")}},
		{Name: "oss.example.com", Origin: addr, OriginHost: "bucket.oss-cn-hangzhou.aliyuncs.com",
			Auth: RouteAuth{Type: "private_cross_account", Bucket: "bucket", Record: 43, Sealed: seal(43, "LTAIOSS", "secret-oss")}},
		// The visitor's Host sent (a custom domain bound to the bucket): signed for the record's bucket.
		{Name: "img.example.com", Origin: addr,
			Auth: RouteAuth{Type: "private_cross_account", Bucket: "bucket", Record: 46, Sealed: seal(46, "LTAIOSS", "secret-oss")}},
		{Name: "broken.example.com", Origin: addr, OriginHost: "bucket.s3.amazonaws.com",
			Auth: RouteAuth{Type: "private", Version: "v2", Record: 44, Sealed: seal(45, "AK", "bound to another record")}},
		{Name: "public.example.com", Origin: addr},
	}
	src := newMemSource()
	src.put(st)
	e, _ := serveEdge(t, &Edge{Source: src, Sealer: f.sealer, Poll: time.Hour})
	plain := httptest.NewServer(e.HTTPHandler())
	defer plain.Close()
	fetch := func(host string, method ...string) int {
		t.Helper()
		m := "GET"
		if len(method) > 0 {
			m = method[0]
		}
		req, _ := http.NewRequest(m, plain.URL+"/dir/photo.jpg?versionId=3", nil)
		req.Host = host
		req.Header.Set("Authorization", "Bearer visitor-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tc := range []struct {
		host, authType, version, region, ak, sk, prefix, bucket string
	}{
		{"s3v4.example.com", "private", "", "us-east-1", "AKV4", "secret-v4", "AWS4-HMAC-SHA256 Credential=AKV4/", ""},
		{"s3v2.example.com", "private", "v2", "", "AKV2", "secret-v2", "AWS AKV2:", ""},
		{"oss.example.com", "private_cross_account", "", "", "LTAIOSS", "secret-oss", "OSS LTAIOSS:", "bucket"},
		{"img.example.com", "private_cross_account", "", "", "LTAIOSS", "secret-oss", "OSS LTAIOSS:", "bucket"},
	} {
		for range 2 { // the second with the signer made
			if code := fetch(tc.host); code != http.StatusOK {
				t.Fatalf("%s: %d", tc.host, code)
			}
			g := <-seen
			if !strings.HasPrefix(g.auth, tc.prefix) {
				t.Fatalf("%s: the origin got Authorization %q, want %s…", tc.host, g.auth, tc.prefix)
			}
			// Signed again as the origin got it, at the time it names.
			at, err := time.Parse("20060102T150405Z", g.req.Header.Get("X-Amz-Date"))
			if tc.version != "" || tc.authType != "private" {
				at, err = time.Parse(http.TimeFormat, g.req.Header.Get("Date"))
			}
			if err != nil {
				t.Fatalf("%s: no date signed: %v", tc.host, err)
			}
			s, err := originauth.New(tc.authType, tc.version, tc.region, tc.ak, tc.sk)
			if err != nil {
				t.Fatal(err)
			}
			again := g.req.Clone(g.req.Context())
			again.URL.Host, again.Host = g.host, g.host
			s.ForBucket(tc.bucket).Sign(again, at)
			if want := again.Header.Get("Authorization"); g.auth != want {
				t.Fatalf("%s: the origin got\n%s\nsigned again\n%s", tc.host, g.auth, want)
			}
		}
	}
	// The keys are lent to reads only.
	if code := fetch("s3v4.example.com", "PUT"); code != http.StatusOK {
		t.Fatalf("PUT: %d", code)
	}
	if g := <-seen; g.auth != "Bearer visitor-token" {
		t.Fatalf("a PUT reached the bucket with Authorization %q, want the visitor's", g.auth)
	}
	if code := fetch("public.example.com"); code != http.StatusOK {
		t.Fatalf("public: %d", code)
	}
	if g := <-seen; g.auth != "Bearer visitor-token" {
		t.Fatalf("a public origin got Authorization %q, want the visitor's", g.auth)
	}
	if code := fetch("broken.example.com"); code != http.StatusBadGateway {
		t.Fatalf("keys that cannot be opened: %d, want 502", code)
	}
	select {
	case g := <-seen:
		t.Fatalf("the origin of a route whose keys cannot be opened got a request (%q)", g.auth)
	default:
	}
}

// TestStatesRouteAuth: a proxied CNAME record to a private bucket gives its
// route the record's sealed keys and how to sign; a public one, and a
// record that is not proxied, give none.
func TestStatesRouteAuth(t *testing.T) {
	sealed := []byte("sealed keys")
	sites := []site.Site{{ID: 1, Name: "example.com", Status: site.SiteActive}}
	records := []record.Record{
		{ID: 7, SiteID: 1, Name: "s3.example.com", Type: record.RecordCNAME, Proxied: true, SourceType: "S3",
			Data:     record.RecordData{Value: "bucket.s3.amazonaws.com"},
			AuthConf: record.AuthConf{AuthType: "private", Version: "v2", Region: "us-east-1"}, SealedSecrets: sealed},
		{ID: 8, SiteID: 1, Name: "pub.example.com", Type: record.RecordCNAME, Proxied: true, SourceType: "OSS",
			Data: record.RecordData{Value: "bucket.oss-cn-hangzhou.aliyuncs.com"}, AuthConf: record.AuthConf{AuthType: "public"}},
		{ID: 9, SiteID: 1, Name: "oss.example.com", Type: record.RecordCNAME, Proxied: true, SourceType: "OSS",
			Data:     record.RecordData{Value: "my-bucket.oss-cn-hangzhou.aliyuncs.com"},
			AuthConf: record.AuthConf{AuthType: "private_cross_account"}, SealedSecrets: sealed},
	}
	states := States(nil, sites, nil, records, nil)
	if len(states) != 1 || len(states[0].Routes) != 3 {
		t.Fatalf("states: %+v", states)
	}
	for _, r := range states[0].Routes {
		switch r.Name {
		case "s3.example.com":
			want := RouteAuth{Type: "private", Version: "v2", Region: "us-east-1", Record: 7, Sealed: sealed}
			if r.Auth.Type != want.Type || r.Auth.Version != want.Version || r.Auth.Region != want.Region ||
				r.Auth.Record != want.Record || string(r.Auth.Sealed) != string(want.Sealed) {
				t.Errorf("private route's auth %+v, want %+v", r.Auth, want)
			}
		case "oss.example.com":
			if r.Auth.Type != "private_cross_account" || r.Auth.Bucket != "my-bucket" || r.Auth.Record != 9 {
				t.Errorf("OSS route's auth %+v, want the bucket my-bucket", r.Auth)
			}
		case "pub.example.com":
			if r.Auth.Type != "" {
				t.Errorf("public route's auth %+v", r.Auth)
			}
		}
	}
}
