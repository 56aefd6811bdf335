package accesslog

import (
	"encoding/json"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// appendEntry appends e as one JSON object, the fields in Entry's order
// and with its names, the empty optional ones left out: what json.Marshal
// would write (TestEncodeMatchesJSON), without its reflection, so that the
// writer keeps up with many requests a second.
func appendEntry(b []byte, e Entry) []byte {
	b = append(b, `{"time":"`...)
	b = e.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	b = appendField(b, "client_ip", e.ClientIP)
	b = appendField(b, "scheme", e.Scheme)
	if e.SNI != "" {
		b = appendField(b, "sni", e.SNI)
	}
	b = appendField(b, "host", e.Host)
	b = appendField(b, "method", e.Method)
	b = appendField(b, "path", e.Path)
	b = appendField(b, "proto", e.Proto)
	if e.TLSVersion != "" {
		b = appendField(b, "tls_version", e.TLSVersion)
	}
	if e.ALPN != "" {
		b = appendField(b, "alpn", e.ALPN)
	}
	b = append(b, `,"resumed":`...)
	b = strconv.AppendBool(b, e.Resumed)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(e.Status), 10)
	b = append(b, `,"bytes":`...)
	b = strconv.AppendInt(b, e.Bytes, 10)
	b = append(b, `,"duration_ms":`...)
	b = appendFloat(b, e.DurationMS)
	if e.OriginStatus != 0 {
		b = append(b, `,"origin_status":`...)
		b = strconv.AppendInt(b, int64(e.OriginStatus), 10)
	}
	return append(b, '}')
}

// appendFloat appends f as encoding/json does: plain decimals, exponent
// form below 1e-6 and from 1e21.
func appendFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if n := len(b); format == 'e' && n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
		b[n-2] = b[n-1] // e-07 → e-7
		b = b[:n-1]
	}
	return b
}

// appendField appends ,"name":"value".
func appendField(b []byte, name, v string) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendString(b, v)
}

// appendString appends v as a JSON string. Printable ASCII other than the
// quote and the backslash goes as it is; anything else (control
// characters, non-ASCII, invalid UTF-8, which becomes U+FFFD) is left to
// encoding/json.
func appendString(b []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(v)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, v...)
	return append(b, '"')
}
