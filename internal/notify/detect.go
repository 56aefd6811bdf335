package notify

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/esacert/esacert/internal/cert"
)

// DefaultThresholds are the days before NotAfter at which a certificate is
// noticed as expiring.
var DefaultThresholds = []int{30, 14, 7, 1}

// expiredFor is how long after its NotAfter an expired certificate is still
// noticed (a node that was down over the moment still tells); one that
// expired longer ago is left alone.
const expiredFor = 7 * 24 * time.Hour

// overdueAfter is how late a free certificate's renewal may be (its renewal
// time passed, and no renewer took it) before the certificate is noticed
// as expiring like any other.
const overdueAfter = time.Hour

// Episodes. A certificate is noticed once per event and episode:
//   - expiring: per NotAfter and threshold ("1767225600/14"), so a
//     certificate replaced in place (a new NotAfter) is noticed afresh;
//   - expired: per NotAfter;
//   - failed and recovered: per the NotAfter of what was served when the
//     failure began ("0" when nothing had been issued yet). A success
//     changes the NotAfter, so the next failure is a new episode.
func episode(notAfter time.Time) string {
	if notAfter.IsZero() {
		return "0"
	}
	return strconv.FormatInt(notAfter.Unix(), 10)
}

// due returns the notices that are newly true of w at now (without ID,
// Time and words). thresholds are in days.
func due(w Watched, now time.Time, thresholds []int) []Notice {
	base := Notice{CertificateID: w.CertificateID, CertificateName: w.Name, CertificateType: w.Type,
		SiteID: w.SiteID, SiteName: w.SiteName, NotAfter: w.NotAfter}
	var out []Notice
	add := func(n Notice) {
		if !w.Noticed[n.Key()] {
			out = append(out, n)
		}
	}
	current := episode(w.NotAfter)
	failing := w.Type == cert.TypeFree && w.Free.Status == cert.StatusApplyFailed
	// A failure noticed and not resolved has recovered when the certificate
	// no longer fails, or fails again over new content (it succeeded in
	// between).
	var open []string
	for k := range w.Noticed {
		if k.Event == EventFailed && !w.Noticed[Key{EventRecovered, k.Episode}] && !(failing && k.Episode == current) {
			open = append(open, k.Episode)
		}
	}
	slices.Sort(open)
	for _, ep := range open {
		if w.NotAfter.IsZero() {
			continue // not issued yet: nothing to say it recovered with
		}
		n := base
		n.Event, n.Episode = EventRecovered, ep
		add(n)
	}
	if failing {
		n := base
		n.Event, n.Episode = EventFailed, current
		n.ApplyCode, n.ApplyMessage, n.Attempts, n.CA, n.NextAttempt = w.Free.Code, w.Free.Message, w.Free.Attempts, w.Free.CA, w.Free.Next
		add(n)
	}
	if w.NotAfter.IsZero() {
		return out
	}
	if w.Type == cert.TypeFree && !failing && !(w.Free.Status == "" && !w.Free.Next.IsZero() && now.Sub(w.Free.Next) > overdueAfter) {
		return out // renewed in time by the renewer: nothing to tell
	}
	left := w.NotAfter.Sub(now)
	if left <= 0 {
		if left > -expiredFor {
			n := base
			n.Event, n.Episode = EventExpired, current
			add(n)
		}
		return out
	}
	threshold := 0
	for _, d := range thresholds {
		if left <= time.Duration(d)*24*time.Hour && (threshold == 0 || d < threshold) {
			threshold = d
		}
	}
	if threshold > 0 {
		n := base
		n.Event, n.Episode, n.ThresholdDays = EventExpiring, fmt.Sprintf("%s/%d", current, threshold), threshold
		add(n)
	}
	return out
}

// Detect records the notices that have become true since the last look:
// certificates that entered an expiry threshold or expired, free
// certificates that failed or recovered. Each is recorded once, by this
// node or another, with a pending delivery to each channel that takes its
// event. It returns how many this call recorded.
func (s *Service) Detect(ctx context.Context) (int, error) {
	now := s.now()
	thresholds := s.thresholds()
	ws, err := s.Store.Watched(ctx, now.Add(-expiredFor), now.Add(time.Duration(slices.Max(thresholds))*24*time.Hour))
	if err != nil {
		return 0, fmt.Errorf("notify: look at the certificates: %w", err)
	}
	added := 0
	for _, w := range ws {
		for _, n := range due(w, now, thresholds) {
			n.ID, n.Time = s.hexID(16), now
			n.words()
			ok, err := s.Store.AddNotice(ctx, n, s.channelsFor(n.Event))
			if err != nil {
				return added, fmt.Errorf("notify: record %s of certificate %s: %w", n.Event, n.CertificateID, err)
			}
			if ok {
				added++
				s.log().Info("noticed", "event", n.Event, "notice", n.ID, "certificate", n.CertificateID,
					"name", n.CertificateName, "site", n.SiteName)
			}
		}
	}
	return added, nil
}
