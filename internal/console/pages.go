package console

import (
	"net/http"
	"strconv"
	"strings"
)

// newPage starts a signed-in page.
func newPage(sess *session, title, nav string, body any) page {
	return page{Title: title, Principal: sess.principal, CSRF: sess.csrf, Flash: sess.flash, Nav: nav, Body: body}
}

// section is a part of a page read by its own call: its items, or the
// API's refusal shown in its place (a user allowed the site but not its
// records sees the site and why the records are missing).
type section[T any] struct {
	Items []T
	Err   *apiError
}

// sitesBody is the sites page's body.
type sitesBody struct {
	Sites  []siteView
	Denied *apiError // ListSites refused: the page offers to open a site by id
}

func (c *Console) sitesPage(w http.ResponseWriter, r *http.Request, sess *session) {
	sites, e := c.readSites(r, sess)
	if e != nil && !e.denied() {
		c.apiErrorPage(w, r, sess, e)
		return
	}
	c.render(w, r, http.StatusOK, "sites", newPage(sess, "Sites", "sites", sitesBody{Sites: sites, Denied: e}))
}

// goToSite opens the site whose id the sites page's small form names (for
// a user who may read a site but not list them all).
func (c *Console) goToSite(w http.ResponseWriter, r *http.Request, sess *session) {
	id, err := strconv.ParseInt(strings.TrimSpace(r.URL.Query().Get("site")), 10, 64)
	if err != nil || id <= 0 {
		c.errorPage(w, r, sess, http.StatusBadRequest, "No such site", "A site id is a number, such as the SiteId of CreateSite's answer.")
		return
	}
	http.Redirect(w, r, "/sites/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
}

// siteID reads the {site} of the path; false (answered) when it is not an id.
func (c *Console) siteID(w http.ResponseWriter, r *http.Request, sess *session) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("site"), 10, 64)
	if err != nil || id <= 0 {
		c.errorPage(w, r, sess, http.StatusNotFound, "Not found", "There is no such site.")
		return 0, false
	}
	return id, true
}

// siteBody is the site page's body.
type siteBody struct {
	Site     siteView
	Certs    section[certView]
	Failed   []certView // free certificates whose last attempt failed
	Timeline *timeline
	Tab      string
}

func (c *Console) sitePage(w http.ResponseWriter, r *http.Request, sess *session) {
	id, ok := c.siteID(w, r, sess)
	if !ok {
		return
	}
	st, e := c.readSite(r, sess, id)
	if e != nil {
		c.apiErrorPage(w, r, sess, e)
		return
	}
	b := siteBody{Site: st, Tab: "certificates"}
	b.Certs.Items, b.Certs.Err = c.readCerts(r, sess, id, st.SiteName)
	if b.Certs.Err != nil && b.Certs.Err.keyGone() {
		c.apiErrorPage(w, r, sess, b.Certs.Err)
		return
	}
	for _, v := range b.Certs.Items {
		if v.Failed() {
			b.Failed = append(b.Failed, v)
		}
	}
	b.Timeline = newTimeline(b.Certs.Items, c.now())
	c.render(w, r, http.StatusOK, "site", newPage(sess, st.SiteName, "sites", b))
}

// certificateBody is the certificate page's body.
type certificateBody struct {
	Site siteView
	Cert certView
	PEM  string // the certificate chain as stored: public
}

func (c *Console) certificatePage(w http.ResponseWriter, r *http.Request, sess *session) {
	id, ok := c.siteID(w, r, sess)
	if !ok {
		return
	}
	var a struct {
		SiteName    string
		Certificate string
		Result      certView
	}
	if e := c.call(r, sess, "GetCertificate", siteParams(id, "Id", r.PathValue("cert")), &a); e != nil {
		c.apiErrorPage(w, r, sess, e)
		return
	}
	a.Result.fill(id, a.SiteName, c.now())
	b := certificateBody{Site: siteView{SiteId: id, SiteName: a.SiteName}, Cert: a.Result, PEM: a.Certificate}
	c.render(w, r, http.StatusOK, "certificate", newPage(sess, a.Result.Name, "sites", b))
}

// recordsBody is the records page's body.
type recordsBody struct {
	Site    siteView
	Records []recordView
	Tab     string
}

func (c *Console) recordsPage(w http.ResponseWriter, r *http.Request, sess *session) {
	id, ok := c.siteID(w, r, sess)
	if !ok {
		return
	}
	st, e := c.readSite(r, sess, id)
	if e != nil {
		c.apiErrorPage(w, r, sess, e)
		return
	}
	records, e := c.readRecords(r, sess, id)
	if e != nil {
		c.apiErrorPage(w, r, sess, e)
		return
	}
	c.render(w, r, http.StatusOK, "records", newPage(sess, st.SiteName+": records", "sites", recordsBody{Site: st, Records: records, Tab: "records"}))
}

// httpsBody is the HTTPS settings page's body.
type httpsBody struct {
	Site  siteView
	Basic section[httpsConfig]
	App   section[httpsConfig]
	Tab   string
}

func (c *Console) httpsPage(w http.ResponseWriter, r *http.Request, sess *session) {
	id, ok := c.siteID(w, r, sess)
	if !ok {
		return
	}
	st, e := c.readSite(r, sess, id)
	if e != nil {
		c.apiErrorPage(w, r, sess, e)
		return
	}
	b := httpsBody{Site: st, Tab: "https"}
	b.Basic.Items, b.Basic.Err = c.readHTTPS(r, sess, id, "ListHttpsBasicConfigurations")
	b.App.Items, b.App.Err = c.readHTTPS(r, sess, id, "ListHttpsApplicationConfigurations")
	c.render(w, r, http.StatusOK, "https", newPage(sess, st.SiteName+": HTTPS", "sites", b))
}

// certificatesBody is the page of every site's certificates.
type certificatesBody struct {
	Certs    []certView
	Failed   []certView
	Timeline *timeline
	Skipped  []skippedSite // sites whose certificates the user may not list
}

type skippedSite struct {
	Site siteView
	Err  *apiError
}

func (c *Console) certificatesPage(w http.ResponseWriter, r *http.Request, sess *session) {
	sites, e := c.readSites(r, sess)
	if e != nil {
		c.apiErrorPage(w, r, sess, e)
		return
	}
	var b certificatesBody
	for _, st := range sites {
		certs, e := c.readCerts(r, sess, st.SiteId, st.SiteName)
		if e != nil {
			if e.keyGone() {
				c.apiErrorPage(w, r, sess, e)
				return
			}
			b.Skipped = append(b.Skipped, skippedSite{st, e})
			continue
		}
		b.Certs = append(b.Certs, certs...)
	}
	sortCerts(b.Certs)
	for _, v := range b.Certs {
		if v.Failed() {
			b.Failed = append(b.Failed, v)
		}
	}
	b.Timeline = newTimeline(b.Certs, c.now())
	c.render(w, r, http.StatusOK, "certificates", newPage(sess, "Certificates", "certificates", b))
}
