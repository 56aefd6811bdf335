package certcheck

// DefaultName names a certificate uploaded without a name: its common name
// (or first SAN, else fallback) and the first 8 hex digits of its
// fingerprint, cut to at most max runes in all.
func DefaultName(info Info, fallback string, max int) string {
	base := info.CommonName
	if base == "" && len(info.SANs) > 0 {
		base = info.SANs[0]
	}
	if base == "" {
		base = fallback
	}
	suffix := ""
	if len(info.FingerprintSHA256) >= 8 {
		suffix = "-" + info.FingerprintSHA256[:8]
	}
	if r := []rune(base); len(r)+len(suffix) > max {
		base = string(r[:max-len(suffix)])
	}
	return base + suffix
}
