package console

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The API's answers, as far as the pages show them. Secret-bearing fields
// (a record's AuthConf) are left out of these types, so no page can show them.

// siteView is a site as GetSite and ListSites answer it.
type siteView struct {
	SiteId         int64
	SiteName       string
	AccessType     string
	Coverage       string
	Status         string
	InstanceId     string
	PlanName       string
	PlanSpecName   string
	VerifyCode     string
	NameServerList string
	CnameZone      string
	CreateTime     string
}

// certView is a certificate as GetCertificate and ListCertificates answer
// it, with what the pages work out of it.
type certView struct {
	Id                string
	Name              string
	Type              string
	Status            string
	CasId             string
	CommonName        string
	SAN               string
	Issuer            string
	IssuerCN          string
	SerialNumber      string
	FingerprintSha256 string
	PubAlg            string
	SigAlg            string
	NotBefore         string
	NotAfter          string
	CreateTime        string
	UpdateTime        string
	ApplyCode         int
	ApplyMessage      string
	DCV               []struct{ Id, Type, Key, Value, Status string }

	SiteId   int64  `json:"-"`
	SiteName string `json:"-"`
	// Expires is NotAfter parsed; zero for a free certificate not issued yet.
	Expires  time.Time `json:"-"`
	Begins   time.Time `json:"-"`
	DaysLeft int       `json:"-"` // whole days to Expires, negative once past
}

// certTime is the API's format of a certificate's times (UTC).
const certTime = "2006-01-02 15:04:05"

// fill works out the times and days left at now.
func (v *certView) fill(siteID int64, siteName string, now time.Time) {
	v.SiteId, v.SiteName = siteID, siteName
	v.Expires, _ = time.Parse(certTime, v.NotAfter)
	v.Begins, _ = time.Parse(certTime, v.NotBefore)
	if !v.Expires.IsZero() {
		v.DaysLeft = int(math.Floor(v.Expires.Sub(now).Hours() / 24))
	}
}

// Failed reports whether a free certificate's last attempt failed.
func (v certView) Failed() bool { return v.Type == "free" && v.ApplyCode != 0 }

// Replaceable reports whether SetCertificate can replace the certificate
// (a free one cannot: it is renewed).
func (v certView) Replaceable() bool { return v.Type == "upload" || v.Type == "cas" }

// Urgency is the certificate's state for its colour and its sort: failed,
// expired, expiring (within 30 days), pending (no content yet) or ok.
func (v certView) Urgency() string {
	switch {
	case v.Failed() && v.Expires.IsZero():
		return "failed"
	case !v.Expires.IsZero() && v.DaysLeft < 0:
		return "expired"
	case v.Failed():
		return "failed"
	case !v.Expires.IsZero() && v.DaysLeft < 30:
		return "expiring"
	case v.Expires.IsZero():
		return "pending"
	}
	return "ok"
}

// DaysText says the days left in words.
func (v certView) DaysText() string {
	switch {
	case v.Expires.IsZero():
		return "not issued yet"
	case v.DaysLeft < -1:
		return fmt.Sprintf("expired %d days ago", -v.DaysLeft)
	case v.DaysLeft < 0:
		return "expired"
	case v.DaysLeft == 0:
		return "expires today"
	case v.DaysLeft == 1:
		return "1 day"
	}
	return fmt.Sprintf("%d days", v.DaysLeft)
}

var urgencyOrder = map[string]int{"failed": 0, "expired": 1, "expiring": 2, "pending": 3, "ok": 4}

// sortCerts puts the certificates that need attention first, then the
// soonest to expire.
func sortCerts(certs []certView) {
	sort.SliceStable(certs, func(i, j int) bool {
		a, b := certs[i], certs[j]
		if ua, ub := urgencyOrder[a.Urgency()], urgencyOrder[b.Urgency()]; ua != ub {
			return ua < ub
		}
		if !a.Expires.Equal(b.Expires) {
			return a.Expires.Before(b.Expires)
		}
		return a.Name < b.Name
	})
}

// recordView is a DNS record as ListRecords answers it, without AuthConf.
type recordView struct {
	RecordId   int64
	RecordName string
	RecordType string
	Proxied    bool
	Ttl        int
	Data       map[string]any
	BizName    string
	HostPolicy string
	Comment    string
}

// DataText is the record's data as key=value pairs (the value alone when
// it is the only field).
func (v recordView) DataText() string {
	if len(v.Data) == 1 {
		for k, x := range v.Data {
			if k == "Value" {
				return fmt.Sprint(x)
			}
		}
	}
	keys := make([]string, 0, len(v.Data))
	for k := range v.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + fmt.Sprint(v.Data[k])
	}
	return strings.Join(parts, " ")
}

// setting is one field of an HTTPS configuration.
type setting struct{ Name, Value string }

// httpsConfig is one HTTPS configuration: its id, type and the fields set.
type httpsConfig struct {
	ConfigId   string
	ConfigType string
	Settings   []setting
}

// readSites lists every site the session may list.
func (c *Console) readSites(r *http.Request, sess *session) ([]siteView, *apiError) {
	var sites []siteView
	e := c.listAll(r, sess, "ListSites", nil, func(body []byte) (int, int, error) {
		var a struct {
			TotalCount int
			Sites      []siteView
		}
		err := json.Unmarshal(body, &a)
		sites = append(sites, a.Sites...)
		return len(a.Sites), a.TotalCount, err
	})
	return sites, e
}

// readSite reads one site.
func (c *Console) readSite(r *http.Request, sess *session, id int64) (siteView, *apiError) {
	var a struct{ SiteModel siteView }
	e := c.call(r, sess, "GetSite", url.Values{"SiteId": {strconv.FormatInt(id, 10)}}, &a)
	return a.SiteModel, e
}

// readCerts lists every certificate of a site, sorted by urgency.
func (c *Console) readCerts(r *http.Request, sess *session, siteID int64, siteName string) ([]certView, *apiError) {
	var certs []certView
	now := c.now()
	e := c.listAll(r, sess, "ListCertificates", url.Values{"SiteId": {strconv.FormatInt(siteID, 10)}}, func(body []byte) (int, int, error) {
		var a struct {
			TotalCount int
			SiteName   string
			Result     []certView
		}
		err := json.Unmarshal(body, &a)
		if siteName == "" {
			siteName = a.SiteName
		}
		for _, v := range a.Result {
			v.fill(siteID, siteName, now)
			certs = append(certs, v)
		}
		return len(a.Result), a.TotalCount, err
	})
	sortCerts(certs)
	return certs, e
}

// readRecords lists every record of a site.
func (c *Console) readRecords(r *http.Request, sess *session, siteID int64) ([]recordView, *apiError) {
	var records []recordView
	e := c.listAll(r, sess, "ListRecords", url.Values{"SiteId": {strconv.FormatInt(siteID, 10)}}, func(body []byte) (int, int, error) {
		var a struct {
			TotalCount int
			Records    []recordView
		}
		err := json.Unmarshal(body, &a)
		records = append(records, a.Records...)
		return len(a.Records), a.TotalCount, err
	})
	return records, e
}

// readHTTPS lists a site's HTTPS configurations of one kind (action is
// ListHttpsBasicConfigurations or ListHttpsApplicationConfigurations),
// each with the fields it sets.
func (c *Console) readHTTPS(r *http.Request, sess *session, siteID int64, action string) ([]httpsConfig, *apiError) {
	var out []httpsConfig
	e := c.listAll(r, sess, action, url.Values{"SiteId": {strconv.FormatInt(siteID, 10)}}, func(body []byte) (int, int, error) {
		var a struct {
			TotalCount int
			Configs    []map[string]any
		}
		d := json.NewDecoder(strings.NewReader(string(body)))
		d.UseNumber()
		err := d.Decode(&a)
		for _, m := range a.Configs {
			hc := httpsConfig{ConfigId: fmt.Sprint(m["ConfigId"]), ConfigType: fmt.Sprint(m["ConfigType"])}
			keys := make([]string, 0, len(m))
			for k := range m {
				if k != "ConfigId" && k != "ConfigType" {
					keys = append(keys, k)
				}
			}
			sort.Strings(keys)
			for _, k := range keys {
				hc.Settings = append(hc.Settings, setting{k, fmt.Sprint(m[k])})
			}
			out = append(out, hc)
		}
		return len(a.Configs), a.TotalCount, err
	})
	return out, e
}
