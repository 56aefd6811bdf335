package domain

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"time"
)

// Now returns now() in UTC, or the current time in UTC when now is nil:
// what a Service's optional Now field means.
func Now(now func() time.Time) time.Time {
	if now != nil {
		return now().UTC()
	}
	return time.Now().UTC()
}

// Random fills b from r, or from crypto/rand when r is nil: what a
// Service's optional Rand field means. It panics when r runs dry:
// crypto/rand does not fail on supported platforms, and an injected reader
// that runs dry is a programming error in a test.
func Random(r io.Reader, b []byte) {
	if r == nil {
		r = rand.Reader
	}
	if _, err := io.ReadFull(r, b); err != nil {
		panic(fmt.Sprintf("domain: random source failed: %v", err))
	}
}

// NumericID draws a number of exactly digits decimal digits (2 to 18) from
// r, as Random reads it: the shape of ESA's ids (13 digits for sites and
// records, 15 for configurations). It reads 8 bytes.
func NumericID(r io.Reader, digits int) int64 {
	var b [8]byte
	Random(r, b[:])
	lo := int64(1)
	for range digits - 1 {
		lo *= 10
	}
	span := 9 * lo
	return lo + int64(binary.BigEndian.Uint64(b[:])%uint64(span))
}

// HexID draws n bytes from r, as Random reads it, in lowercase hex.
func HexID(r io.Reader, n int) string {
	b := make([]byte, n)
	Random(r, b)
	return hex.EncodeToString(b)
}
