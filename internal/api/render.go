package api

import "time"

// Time formats on the wire (decisions.md "The envelope").
const (
	siteTime = "2006-01-02T15:04:05Z"
	certTime = "2006-01-02 15:04:05"
)

// fmtSiteTime formats t as a site time, or "" for the zero time.
func fmtSiteTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(siteTime)
}

// fmtCertTime formats t as a certificate time, or "" for the zero time.
func fmtCertTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(certTime)
}
