package console

import (
	"fmt"
	"sort"
	"time"
)

// The expiry timeline: one row per certificate with content, a bar from
// its NotBefore to its NotAfter on a time axis from two weeks ago to the
// last expiry (at least 90 days ahead, at most two years), today and the
// next 30 days marked. It is drawn as inline SVG by the template from the
// numbers worked out here.

// Geometry of the timeline, in SVG user units.
const (
	tlLabelWidth = 300 // the certificates' names, left of the plot
	tlPlotWidth  = 640
	tlRowHeight  = 22
	tlTop        = 28 // room for the month labels
	tlMaxRows    = 200
)

// timeline is what the template draws.
type timeline struct {
	Width, Height int
	PlotX         int // where the plot starts
	Rows          []timelineRow
	Ticks         []timelineTick
	TodayX        float64
	WarnX, WarnW  float64 // the band of the next 30 days
	Bottom        int     // the y of the axis' end
	Hidden        int     // certificates left out past tlMaxRows
	Summary       string  // the picture in words (its <desc>)
}

// timelineRow is one certificate's bar.
type timelineRow struct {
	Y, TextY   int
	X, W       float64
	EndX       float64 // where the days-left label goes
	Label      string
	Urgency    string
	Title      string // the tooltip: name, site, dates, days left
	Href       string
	DaysText   string
	LabelAfter bool // the days-left label fits after the bar
}

// timelineTick is one month (or quarter) line on the axis.
type timelineTick struct {
	X     float64
	Label string
}

// newTimeline builds the timeline of certs at now; certs without content
// (free certificates not issued yet) have no bar. Rows are sorted by expiry.
func newTimeline(certs []certView, now time.Time) *timeline {
	var dated []certView
	for _, c := range certs {
		if !c.Expires.IsZero() {
			dated = append(dated, c)
		}
	}
	sort.SliceStable(dated, func(i, j int) bool { return dated[i].Expires.Before(dated[j].Expires) })
	t := &timeline{PlotX: tlLabelWidth, Width: tlLabelWidth + tlPlotWidth + 20}
	if len(dated) > tlMaxRows {
		t.Hidden = len(dated) - tlMaxRows
		dated = dated[:tlMaxRows]
	}
	day := 24 * time.Hour
	start := now.Add(-14 * day).Truncate(day)
	end := now.Add(90 * day)
	for _, c := range dated {
		if c.Expires.After(end) {
			end = c.Expires
		}
	}
	if max := now.Add(2 * 365 * day); end.After(max) {
		end = max
	}
	end = end.Add(7 * day)
	span := end.Sub(start).Seconds()
	x := func(at time.Time) float64 {
		switch {
		case at.Before(start):
			at = start
		case at.After(end):
			at = end
		}
		return float64(tlLabelWidth) + float64(tlPlotWidth)*at.Sub(start).Seconds()/span
	}
	t.TodayX = x(now)
	t.WarnX, t.WarnW = t.TodayX, x(now.Add(30*day))-t.TodayX
	// Month lines, or quarters past 18 months.
	step := 1
	if end.Sub(start) > 18*30*day {
		step = 3
	}
	m := time.Date(start.Year(), start.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 1, 0)
	january := false
	for ; m.Before(end); m = m.AddDate(0, step, 0) {
		label := m.Format("Jan")
		if m.Month() == time.January {
			label, january = m.Format("Jan 2006"), true
		}
		t.Ticks = append(t.Ticks, timelineTick{X: x(m), Label: label})
	}
	if !january && len(t.Ticks) > 0 { // the year once, where no January says it
		t.Ticks[0].Label += start.Format(" 2006")
	}
	expiring, expired := 0, 0
	for i, c := range dated {
		y := tlTop + i*tlRowHeight
		x1, x2 := x(c.Begins), x(c.Expires)
		if c.Begins.IsZero() || x2-x1 < 3 {
			x1 = x2 - 3
		}
		label := c.SiteName + " · " + c.Name
		if len([]rune(label)) > 44 {
			label = string([]rune(label)[:43]) + "…"
		}
		row := timelineRow{Y: y + 4, TextY: y + 15, X: x1, W: x2 - x1, EndX: x2 + 4, Label: label, Urgency: c.Urgency(),
			Href:     fmt.Sprintf("/sites/%d/certificates/%s", c.SiteId, c.Id),
			DaysText: c.DaysText(),
			Title: fmt.Sprintf("%s (%s): valid %s to %s UTC, %s", c.Name, c.SiteName, c.Begins.Format("2006-01-02"),
				c.Expires.Format("2006-01-02 15:04"), c.DaysText())}
		row.LabelAfter = row.EndX+90 < float64(t.Width)
		if !row.LabelAfter {
			row.EndX = x1 - 4
		}
		t.Rows = append(t.Rows, row)
		switch c.Urgency() {
		case "expired":
			expired++
		case "expiring":
			expiring++
		}
	}
	t.Bottom = tlTop + len(t.Rows)*tlRowHeight + 4
	t.Height = t.Bottom + 16
	t.Summary = fmt.Sprintf("%d certificates from %s to %s: %d expired, %d expiring within 30 days.",
		len(dated), start.Format("2006-01-02"), end.Format("2006-01-02"), expired, expiring)
	if len(dated) > 0 {
		t.Summary += fmt.Sprintf(" The first to expire is %s on %s.", dated[0].Name, dated[0].Expires.Format("2006-01-02"))
	}
	return t
}
