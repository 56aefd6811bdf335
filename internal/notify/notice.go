package notify

import (
	"fmt"
	"strings"
	"time"

	"github.com/esacert/esacert/internal/cert"
)

// Events a notice is about.
const (
	// EventExpiring: a certificate entered one of its last days
	// (Notice.ThresholdDays: 30, 14, 7 or 1) before NotAfter.
	EventExpiring = "certificate.expiring"
	// EventExpired: a certificate's NotAfter passed.
	EventExpired = "certificate.expired"
	// EventFailed: a free certificate could not be issued or renewed
	// (Notice.ApplyCode and ApplyMessage say why).
	EventFailed = "certificate.failed"
	// EventRecovered: a free certificate that had failed was issued.
	EventRecovered = "certificate.recovered"
)

// Events lists every event.
var Events = []string{EventExpiring, EventExpired, EventFailed, EventRecovered}

// Notice is one thing to tell an operator. Its JSON form is the body the
// generic webhook posts; Title and Text are what the chat formats show.
type Notice struct {
	ID    string    `json:"id"` // the same on every retry: receivers de-duplicate on it
	Event string    `json:"event"`
	Time  time.Time `json:"time"` // when it was noticed
	Title string    `json:"title"`
	Text  string    `json:"text"`

	CertificateID   string    `json:"certificate_id"`
	CertificateName string    `json:"certificate_name"`
	CertificateType string    `json:"certificate_type"` // upload, cas, free (cert.Type…)
	SiteID          int64     `json:"site_id"`
	SiteName        string    `json:"site_name"`
	NotAfter        time.Time `json:"not_after,omitzero"` // zero for a free certificate never issued

	// ThresholdDays is, for EventExpiring, the number of days before
	// NotAfter the certificate entered.
	ThresholdDays int `json:"threshold_days,omitempty"`
	// For EventFailed: the ApplyCode and ApplyMessage of the failure, the
	// failed attempts in a row, the CA and when the renewer tries again.
	ApplyCode    int       `json:"apply_code,omitempty"`
	ApplyMessage string    `json:"apply_message,omitempty"`
	Attempts     int       `json:"attempts,omitempty"`
	CA           string    `json:"ca,omitempty"`
	NextAttempt  time.Time `json:"next_attempt,omitzero"`

	// Episode tells apart two notices of one event for one certificate
	// (see Key); it is not part of the body.
	Episode string `json:"-"`
}

// Key names a notice of a certificate: its event and its episode.
type Key struct{ Event, Episode string }

// Key returns the notice's key.
func (n Notice) Key() Key { return Key{n.Event, n.Episode} }

// dateLayout is how times are written in a notice's words.
const dateLayout = "2006-01-02 15:04 UTC"

// words fills in Title and Text. Every title starts with "esacert:", which
// also satisfies a chat robot whose security setting is the keyword
// "esacert".
func (n *Notice) words() {
	what := "Certificate " + n.CertificateName
	if n.CertificateType == cert.TypeFree {
		what = "Free certificate " + n.CertificateName
	}
	where := fmt.Sprintf(" of site %s (certificate %s)", n.SiteName, n.CertificateID)
	notAfter := n.NotAfter.UTC().Format(dateLayout)
	switch n.Event {
	case EventExpiring:
		n.Title = fmt.Sprintf("esacert: %s expires within %s", what, days(n.ThresholdDays))
		n.Text = fmt.Sprintf("%s%s expires on %s. %s", what, where, notAfter, remedy(n.CertificateType))
	case EventExpired:
		n.Title = fmt.Sprintf("esacert: %s has expired", what)
		n.Text = fmt.Sprintf("%s%s expired on %s: clients now refuse it. %s", what, where, notAfter, remedy(n.CertificateType))
	case EventFailed:
		verb := "renewed"
		if n.NotAfter.IsZero() {
			verb = "issued"
		}
		n.Title = fmt.Sprintf("esacert: %s could not be %s", what, verb)
		var b strings.Builder
		fmt.Fprintf(&b, "%s%s could not be %s by %s: %s (ApplyCode %d, %s in a row).", what, where, verb, n.CA,
			strings.TrimSuffix(n.ApplyMessage, "."), n.ApplyCode, attempts(n.Attempts))
		if !n.NextAttempt.IsZero() {
			fmt.Fprintf(&b, " esacert tries again at %s.", n.NextAttempt.UTC().Format(dateLayout))
		}
		if !n.NotAfter.IsZero() {
			fmt.Fprintf(&b, " The certificate served now expires on %s.", notAfter)
		}
		n.Text = b.String()
	case EventRecovered:
		n.Title = fmt.Sprintf("esacert: %s was issued again", what)
		n.Text = fmt.Sprintf("%s%s was issued after failing; it is valid until %s.", what, where, notAfter)
	}
}

// remedy says what to do about a certificate of type typ that expires.
func remedy(typ string) string {
	switch typ {
	case cert.TypeFree:
		return "esacert renews free certificates by itself; its renewal has not succeeded in time (see the failure notices, and GetCertificate's ApplyMessage)."
	case cert.TypeCAS:
		return "Renew it in the certificate repository and take the new one onto the site (SetCertificate Type=cas)."
	}
	return "Upload a renewed certificate in its place (SetCertificate with its Id) before then."
}

func days(n int) string {
	if n == 1 {
		return "a day"
	}
	return fmt.Sprintf("%d days", n)
}

func attempts(n int) string {
	if n == 1 {
		return "1 attempt"
	}
	return fmt.Sprintf("%d attempts", n)
}
