package notify

import (
	"strings"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/cert"
	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

// TestDue: which notices are newly true of one certificate.
func TestDue(t *testing.T) {
	notAfter := t0.Add(10 * day)
	ep := episode(notAfter)
	failing := cert.FreeState{Status: cert.StatusApplyFailed, Code: 7, Message: "CAA forbids lets_encrypt", CA: "lets_encrypt",
		Attempts: 3, Next: t0.Add(time.Hour)}
	tests := []struct {
		name    string
		w       Watched
		now     time.Time
		want    []Key
		details func(t *testing.T, ns []Notice)
	}{
		{"ok/upload_far", Watched{Type: cert.TypeUpload, NotAfter: t0.Add(31 * day)}, t0, nil, nil},
		{"ok/upload_30", Watched{Type: cert.TypeUpload, NotAfter: t0.Add(30 * day)}, t0,
			[]Key{{EventExpiring, episode(t0.Add(30*day)) + "/30"}}, nil},
		{"ok/upload_10_days: the stage it is in, not the ones it passed", Watched{Type: cert.TypeUpload, NotAfter: notAfter}, t0,
			[]Key{{EventExpiring, ep + "/14"}}, func(t *testing.T, ns []Notice) {
				if ns[0].ThresholdDays != 14 {
					t.Errorf("ThresholdDays = %d", ns[0].ThresholdDays)
				}
			}},
		{"ok/upload_10_days_noticed", Watched{Type: cert.TypeCAS, NotAfter: notAfter,
			Noticed: map[Key]bool{{EventExpiring, ep + "/14"}: true}}, t0, nil, nil},
		{"ok/upload_7_days", Watched{Type: cert.TypeCAS, NotAfter: notAfter,
			Noticed: map[Key]bool{{EventExpiring, ep + "/14"}: true}}, notAfter.Add(-7 * day), []Key{{EventExpiring, ep + "/7"}}, nil},
		{"ok/upload_1_day", Watched{Type: cert.TypeUpload, NotAfter: notAfter}, notAfter.Add(-time.Minute), []Key{{EventExpiring, ep + "/1"}}, nil},
		{"ok/upload_replaced: a new NotAfter is a new episode", Watched{Type: cert.TypeUpload, NotAfter: notAfter,
			Noticed: map[Key]bool{{EventExpiring, episode(t0.Add(5*day)) + "/7"}: true}}, t0, []Key{{EventExpiring, ep + "/14"}}, nil},
		{"ok/expired", Watched{Type: cert.TypeUpload, NotAfter: notAfter}, notAfter, []Key{{EventExpired, ep}}, nil},
		{"ok/expired_long_ago", Watched{Type: cert.TypeUpload, NotAfter: notAfter}, notAfter.Add(8 * day), nil, nil},
		{"ok/free_renewed_in_time: the renewer has it", Watched{Type: cert.TypeFree, NotAfter: notAfter,
			Free: cert.FreeState{CA: "lets_encrypt", Next: t0.Add(-30 * time.Minute)}}, t0, nil, nil},
		{"ok/free_overdue: no renewer took it", Watched{Type: cert.TypeFree, NotAfter: notAfter,
			Free: cert.FreeState{CA: "lets_encrypt", Next: t0.Add(-2 * time.Hour)}}, t0, []Key{{EventExpiring, ep + "/14"}}, nil},
		{"ok/free_failing", Watched{Type: cert.TypeFree, NotAfter: notAfter, Free: failing}, t0,
			[]Key{{EventFailed, ep}, {EventExpiring, ep + "/14"}}, func(t *testing.T, ns []Notice) {
				n := ns[0]
				if n.ApplyCode != 7 || n.ApplyMessage != "CAA forbids lets_encrypt" || n.Attempts != 3 || n.CA != "lets_encrypt" || !n.NextAttempt.Equal(t0.Add(time.Hour)) {
					t.Errorf("failure notice %+v", n)
				}
			}},
		{"ok/free_failing_noticed", Watched{Type: cert.TypeFree, NotAfter: notAfter, Free: failing,
			Noticed: map[Key]bool{{EventFailed, ep}: true, {EventExpiring, ep + "/14"}: true}}, t0, nil, nil},
		{"ok/free_never_issued_failing", Watched{Type: cert.TypeFree, Free: failing}, t0, []Key{{EventFailed, "0"}}, nil},
		{"ok/free_applying", Watched{Type: cert.TypeFree, Free: cert.FreeState{Status: cert.StatusApplying, Next: t0}}, t0, nil, nil},
		{"ok/free_issued_after_failing", Watched{Type: cert.TypeFree, NotAfter: t0.Add(90 * day),
			Free:    cert.FreeState{Next: t0.Add(60 * day)},
			Noticed: map[Key]bool{{EventFailed, "0"}: true}}, t0, []Key{{EventRecovered, "0"}}, nil},
		{"ok/free_recovered_noticed", Watched{Type: cert.TypeFree, NotAfter: t0.Add(90 * day),
			Free:    cert.FreeState{Next: t0.Add(60 * day)},
			Noticed: map[Key]bool{{EventFailed, "0"}: true, {EventRecovered, "0"}: true}}, t0, nil, nil},
		{"ok/free_failing_again_over_new_content: recovered in between", Watched{Type: cert.TypeFree, NotAfter: notAfter,
			Free: failing, Noticed: map[Key]bool{{EventFailed, "0"}: true}}, t0,
			[]Key{{EventRecovered, "0"}, {EventFailed, ep}, {EventExpiring, ep + "/14"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.w.CertificateID, tt.w.Name, tt.w.SiteName = "c1", "www.example.com", "example.com"
			got := due(tt.w, tt.now, DefaultThresholds)
			var keys []Key
			for _, n := range got {
				keys = append(keys, n.Key())
				if n.CertificateID != "c1" || n.SiteName != "example.com" || n.CertificateType != tt.w.Type {
					t.Errorf("notice %+v does not name the certificate", n)
				}
			}
			if diff := cmp.Diff(tt.want, keys); diff != "" {
				t.Errorf("due (-want +got):\n%s", diff)
			}
			if tt.details != nil && len(got) > 0 {
				tt.details(t, got)
			}
		})
	}
}

// TestWords: the words of each event say what happened, to what, when, and
// what to do; every title starts with esacert (a DingTalk keyword).
func TestWords(t *testing.T) {
	base := Notice{CertificateID: "c1", CertificateName: "www.example.com", SiteName: "example.com",
		NotAfter: time.Date(2026, 12, 12, 12, 0, 0, 0, time.UTC)}
	tests := []struct {
		name  string
		n     func(n *Notice)
		title string
		text  []string
	}{
		{"expiring_upload", func(n *Notice) { n.Event, n.ThresholdDays, n.CertificateType = EventExpiring, 14, cert.TypeUpload },
			"esacert: Certificate www.example.com expires within 14 days",
			[]string{"of site example.com (certificate c1) expires on 2026-12-12 12:00 UTC", "SetCertificate with its Id"}},
		{"expiring_cas_1", func(n *Notice) { n.Event, n.ThresholdDays, n.CertificateType = EventExpiring, 1, cert.TypeCAS },
			"esacert: Certificate www.example.com expires within a day", []string{"certificate repository"}},
		{"expired_free", func(n *Notice) { n.Event, n.CertificateType = EventExpired, cert.TypeFree },
			"esacert: Free certificate www.example.com has expired", []string{"expired on 2026-12-12 12:00 UTC", "renewal has not succeeded"}},
		{"failed_renewal", func(n *Notice) {
			n.Event, n.CertificateType, n.ApplyCode, n.ApplyMessage, n.Attempts, n.CA = EventFailed, cert.TypeFree, 7, "CAA forbids it.", 1, "lets_encrypt"
			n.NextAttempt = time.Date(2026, 11, 28, 12, 1, 0, 0, time.UTC)
		}, "esacert: Free certificate www.example.com could not be renewed",
			[]string{"could not be renewed by lets_encrypt: CAA forbids it (ApplyCode 7, 1 attempt in a row).",
				"tries again at 2026-11-28 12:01 UTC", "served now expires on 2026-12-12 12:00 UTC"}},
		{"failed_issuance", func(n *Notice) {
			n.Event, n.CertificateType, n.ApplyCode, n.ApplyMessage, n.Attempts, n.CA, n.NotAfter = EventFailed, cert.TypeFree, 3, "no A record", 2, "lets_encrypt", time.Time{}
		}, "esacert: Free certificate www.example.com could not be issued", []string{"no A record (ApplyCode 3, 2 attempts in a row)"}},
		{"recovered", func(n *Notice) { n.Event, n.CertificateType = EventRecovered, cert.TypeFree },
			"esacert: Free certificate www.example.com was issued again", []string{"valid until 2026-12-12 12:00 UTC"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := base
			tt.n(&n)
			n.words()
			if n.Title != tt.title {
				t.Errorf("Title = %q, want %q", n.Title, tt.title)
			}
			for _, s := range tt.text {
				if !strings.Contains(n.Text, s) {
					t.Errorf("Text = %q, want it to say %q", n.Text, s)
				}
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	var got []time.Duration
	for i := 1; i <= 10; i++ {
		got = append(got, Backoff(i, 30*time.Second, time.Hour))
	}
	want := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute,
		16 * time.Minute, 32 * time.Minute, time.Hour, time.Hour, time.Hour}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Backoff (-want +got):\n%s", diff)
	}
}
