package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/esacert/esacert/internal/api"
	"github.com/esacert/esacert/internal/apiclient"
	"github.com/esacert/esacert/internal/config"
)

// certRow is one certificate as esacert certs shows it (and --json prints
// it).
type certRow struct {
	SiteId   int64
	SiteName string
	Id       string
	Name     string
	// Names are the certificate's host names (its SAN, else its common name).
	Names  []string
	Type   string
	Status string
	// NotAfter is as the API shows it (YYYY-MM-DD HH:MM:SS, UTC); empty for
	// a free certificate not issued yet.
	NotAfter string `json:",omitempty"`
	// DaysLeft is the whole days until NotAfter (negative once expired);
	// absent without a NotAfter.
	DaysLeft     *int   `json:",omitempty"`
	ApplyCode    int    `json:",omitempty"`
	ApplyMessage string `json:",omitempty"`
	// Problem is expired, expiring, failed (an issuance or a renewal that
	// failed last) or empty.
	Problem string `json:",omitempty"`

	notAfter, updated time.Time
}

// certsCmd is esacert certs [--json] [flags]: every certificate of every
// site, through the API, problems first.
func certsCmd(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("esacert certs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	jsonOut := fs.Bool("json", false, "print a JSON array instead of a table")
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: esacert certs [--json] [flags]

Lists the certificates of every site with their days left: expired ones first (the most recently
expired first), then those expiring within 30 days (the soonest first), then those whose issuance or
renewal failed last (the latest first), then the rest (the soonest to expire first).
It calls the API (ListSites, ListCertificates), so it works against any node: the flags that say
which node and which key are esacert api's (esacert api --help).

  --json   print a JSON array instead of the table
`)
	}
	cc, positional, err := config.LoadClient(fs, args, getenv)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "esacert certs: %v\n", err)
		return 2
	}
	if len(positional) > 0 {
		fmt.Fprintf(stderr, "esacert certs: unexpected arguments: %s\n", strings.Join(positional, " "))
		return 2
	}
	c, err := newAPIClient(cc)
	if err != nil {
		fmt.Fprintf(stderr, "esacert certs: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rows, err := listCerts(ctx, c, time.Now())
	if err != nil {
		return reportCallError(stderr, "esacert certs", cc.Endpoint, err)
	}
	if *jsonOut {
		if rows == nil {
			rows = []certRow{}
		}
		out, _ := json.MarshalIndent(rows, "", "  ")
		fmt.Fprintf(stdout, "%s\n", out)
		return 0
	}
	writeCertTable(stdout, rows)
	return 0
}

// listCerts reads every certificate of every site and orders them.
func listCerts(ctx context.Context, c *apiclient.Client, now time.Time) ([]certRow, error) {
	type siteJSON struct {
		SiteId   int64
		SiteName string
	}
	var sites []siteJSON
	err := pages(ctx, c, "ListSites", nil, func(raw json.RawMessage) (int, int, error) {
		var p struct {
			TotalCount int
			Sites      []siteJSON
		}
		err := json.Unmarshal(raw, &p)
		sites = append(sites, p.Sites...)
		return len(p.Sites), p.TotalCount, err
	})
	if err != nil {
		return nil, err
	}
	var rows []certRow
	for _, s := range sites {
		err := pages(ctx, c, "ListCertificates", url.Values{"SiteId": {strconv.FormatInt(s.SiteId, 10)}}, func(raw json.RawMessage) (int, int, error) {
			var p struct {
				TotalCount int
				Result     []struct {
					Id, Name, Type, Status, CommonName, SAN, NotAfter, UpdateTime string
					ApplyCode                                                     int
					ApplyMessage                                                  string
				}
			}
			if err := json.Unmarshal(raw, &p); err != nil {
				return 0, 0, err
			}
			for _, r := range p.Result {
				row := certRow{SiteId: s.SiteId, SiteName: s.SiteName, Id: r.Id, Name: r.Name, Type: r.Type, Status: r.Status,
					NotAfter: r.NotAfter, ApplyCode: r.ApplyCode, ApplyMessage: r.ApplyMessage}
				for _, n := range strings.Split(r.SAN, ",") {
					if n = strings.TrimSpace(n); n != "" {
						row.Names = append(row.Names, n)
					}
				}
				if len(row.Names) == 0 && r.CommonName != "" {
					row.Names = []string{r.CommonName}
				}
				row.updated, _ = time.Parse(time.DateTime, r.UpdateTime)
				if t, err := time.Parse(time.DateTime, r.NotAfter); err == nil {
					row.notAfter = t
					days := int(math.Floor(t.Sub(now).Hours() / 24))
					row.DaysLeft = &days
				}
				row.Problem = problem(row)
				rows = append(rows, row)
			}
			return len(p.Result), p.TotalCount, nil
		})
		if err != nil {
			return nil, fmt.Errorf("site %s: %w", s.SiteName, err)
		}
	}
	sortCerts(rows)
	return rows, nil
}

// pages calls a paged List action page by page (500 a page) until read
// says it has seen TotalCount items or a page comes back empty.
func pages(ctx context.Context, c *apiclient.Client, action string, params url.Values, read func(json.RawMessage) (n, total int, err error)) error {
	seen := 0
	for page := 1; ; page++ {
		q := url.Values{"PageNumber": {strconv.Itoa(page)}, "PageSize": {"500"}}
		for k, v := range params {
			q[k] = v
		}
		raw, err := c.Call(ctx, api.ESAVersion, action, q)
		if err != nil {
			return err
		}
		n, total, err := read(raw)
		if err != nil {
			return fmt.Errorf("%s: %w", action, err)
		}
		seen += n
		if n == 0 || seen >= total {
			return nil
		}
	}
}

// problem classifies a certificate: expired, expiring, failed or none.
func problem(r certRow) string {
	switch {
	case r.Status == "Expired":
		return "expired"
	case r.Status == "Expiring":
		return "expiring"
	case r.Status == "ApplyFailed" || r.ApplyCode != 0:
		return "failed"
	}
	return ""
}

// sortCerts orders rows: expired (the most recently expired first),
// expiring (the soonest first), failed (the latest update first), then
// the rest (the soonest to expire first, those without a NotAfter last);
// ties by site name and id.
func sortCerts(rows []certRow) {
	rank := map[string]int{"expired": 0, "expiring": 1, "failed": 2, "": 3}
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if rank[a.Problem] != rank[b.Problem] {
			return rank[a.Problem] < rank[b.Problem]
		}
		switch a.Problem {
		case "expired":
			if !a.notAfter.Equal(b.notAfter) {
				return a.notAfter.After(b.notAfter)
			}
		case "failed":
			if !a.updated.Equal(b.updated) {
				return a.updated.After(b.updated)
			}
		default:
			if a.notAfter.IsZero() != b.notAfter.IsZero() {
				return !a.notAfter.IsZero()
			}
			if !a.notAfter.Equal(b.notAfter) {
				return a.notAfter.Before(b.notAfter)
			}
		}
		if a.SiteName != b.SiteName {
			return a.SiteName < b.SiteName
		}
		return a.Id < b.Id
	})
}

// writeCertTable writes rows as an aligned table, then what failed and why.
func writeCertTable(w io.Writer, rows []certRow) {
	if len(rows) == 0 {
		fmt.Fprintln(w, "No certificates.")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SITE\tID\tNAMES\tTYPE\tSTATUS\tNOT AFTER (UTC)\tDAYS LEFT")
	var failed []certRow
	for _, r := range rows {
		status := r.Status
		if r.Problem == "failed" && r.Status != "ApplyFailed" {
			status += ", renewal failing"
		}
		notAfter, days := "-", "-"
		if r.DaysLeft != nil {
			notAfter, days = r.NotAfter, strconv.Itoa(*r.DaysLeft)
		}
		names := strings.Join(r.Names, ",")
		if names == "" {
			names = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.SiteName, r.Id, names, r.Type, status, notAfter, days)
		if r.ApplyCode != 0 || r.ApplyMessage != "" {
			failed = append(failed, r)
		}
	}
	tw.Flush()
	if len(failed) > 0 {
		fmt.Fprintln(w, "\nLast failures:")
		for _, r := range failed {
			fmt.Fprintf(w, "  %s %s (%s): ApplyCode %d: %s\n", r.SiteName, r.Id, strings.Join(r.Names, ","), r.ApplyCode, r.ApplyMessage)
		}
	}
}
