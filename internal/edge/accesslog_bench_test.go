package edge

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/esacert/esacert/internal/accesslog"
)

// discardWriter is a ResponseWriter that keeps nothing.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

// BenchmarkAccessLog is the access log's cost per request, in the
// request's goroutine: the handler answers 1 KiB; "off" is the edge without
// an access log. Lines go to a real file; dropped/op says how many the
// writer could not keep up with.
//
//	go test ./internal/edge -run '^$' -bench AccessLog -benchmem
func BenchmarkAccessLog(b *testing.B) {
	body := make([]byte, 1024)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) })
	req := httptest.NewRequest("GET", "https://www.example.com/products/42?q=1", nil)
	req.TLS = &tls.ConnectionState{Version: tls.VersionTLS13, ServerName: "www.example.com", NegotiatedProtocol: "h2"}
	for _, c := range []struct {
		name   string
		sample float64
	}{{"off", -1}, {"sample=0", 0}, {"sample=0.1", 0.1}, {"sample=1", 1}} {
		b.Run(c.name, func(b *testing.B) {
			e := &Edge{}
			var l *accesslog.Log
			if c.sample >= 0 {
				var err error
				if l, err = accesslog.Open(filepath.Join(b.TempDir(), "access.log"), c.sample, nil); err != nil {
					b.Fatal(err)
				}
				e.AccessLog = l
			}
			handler := e.logged(h, "https")
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				handler.ServeHTTP(w, req)
			}
			b.StopTimer()
			if l != nil {
				l.Close()
				b.ReportMetric(float64(l.Dropped())/float64(b.N), "dropped/op")
			}
		})
	}
}
