package accesslog

import (
	"encoding/json"
	"testing"
	"time"
)

var benchEntry = Entry{Time: time.Now().UTC(), ClientIP: "203.0.113.7", Scheme: "https", SNI: "www.example.com",
	Host: "www.example.com", Method: "GET", Path: "/products/42", Proto: "HTTP/2.0", TLSVersion: "TLS 1.3", ALPN: "h2",
	Status: 200, Bytes: 5120, DurationMS: 12.42, OriginStatus: 200}

// BenchmarkEncode is the writer's cost to encode a line (its own encoder,
// against encoding/json): how many lines a second one core can write.
//
//	go test ./internal/accesslog -run '^$' -bench Encode -benchmem
func BenchmarkEncode(b *testing.B) {
	b.Run("appendEntry", func(b *testing.B) {
		var buf []byte
		b.ReportAllocs()
		for b.Loop() {
			buf = appendEntry(buf[:0], benchEntry)
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			json.Marshal(benchEntry)
		}
	})
}
