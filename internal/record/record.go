package record

import (
	"strconv"
	"strings"
	"time"
)

// Record types. A/AAAA is one type for both address families, as ESA has it.
const (
	RecordA      = "A/AAAA"
	RecordCNAME  = "CNAME"
	RecordNS     = "NS"
	RecordMX     = "MX"
	RecordTXT    = "TXT"
	RecordCAA    = "CAA"
	RecordSRV    = "SRV"
	RecordURI    = "URI"
	RecordCERT   = "CERT"
	RecordSSHFP  = "SSHFP"
	RecordSMIMEA = "SMIMEA"
	RecordTLSA   = "TLSA"
)

// RecordTypes are the record types esacert stores, in ESA's order.
var RecordTypes = []string{RecordA, RecordCNAME, RecordNS, RecordMX, RecordTXT, RecordCAA, RecordSRV, RecordURI,
	RecordCERT, RecordSSHFP, RecordSMIMEA, RecordTLSA}

// Origin types of CNAME records (SourceType), in their canonical spelling.
// An empty SourceType means SourceDomain.
const (
	SourceOSS    = "OSS"
	SourceS3     = "S3"
	SourceLB     = "LB"
	SourceOP     = "OP"
	SourceDomain = "Domain"
)

// SourceTypes are the origin types a CNAME record may have.
var SourceTypes = []string{SourceOSS, SourceS3, SourceLB, SourceOP, SourceDomain}

// BizNames are the business scenarios of a proxied record. ESA's documents
// spell the first one both ways; both are accepted and kept as sent.
var BizNames = []string{"image_video", "video_image", "api", "web"}

// HostPolicies are the back-to-origin Host policies of a CNAME record.
var HostPolicies = []string{"follow_hostname", "follow_origin_domain"}

// AuthTypes are the origin authentication types of AuthConf.
var AuthTypes = []string{"public", "private", "private_same_account", "private_cross_account"}

// Limits of record fields.
const (
	MaxRecordName    = 200
	MaxRecordComment = 100
	MaxTTL           = 86400
	MinTTL           = 30
	AutoTTL          = 1 // the TTL that means "automatic"; the default
	// maxTXT and maxValue bound what esacert stores; ESA's own TXT limit
	// (450) is lower than some DKIM keys, so esacert allows more.
	maxTXT     = 4096
	maxValue   = 4096
	maxAuthKey = 256
)

// Record is a DNS record of a site. Records are values; the store hands out
// copies.
//
// The esacert extension: for a proxied A/AAAA or CNAME record, Data.Value
// may end in ":PORT" (1–65535) to name the origin's HTTP port, which is 80
// otherwise; the edge proxies to it (see Origins). The suffix follows an
// IPv4 address, a host name or a bracketed IPv6 address
// ("192.0.2.1:8080", "origin.example.net:8080", "[2001:db8::1]:8080"); a
// value that ends in a bare IPv6 address has no port.
type Record struct {
	ID       int64 // 13 digits
	SiteID   int64
	SiteName string // filled in by the store on reads
	Name     string // lowercase, no trailing dot; the site name or a name under it
	Type     string // one of RecordTypes
	Proxied  bool
	Ttl      int // 1 (automatic) or 30–86400
	// Data holds the fields of Type only; the others are zero.
	Data       RecordData
	BizName    string // one of BizNames, or ""
	Comment    string
	SourceType string // CNAME only: one of SourceTypes, or "" (Domain)
	HostPolicy string // CNAME only: one of HostPolicies, or ""
	// AuthConf is the origin authentication of a CNAME record to an OSS or
	// S3 origin; zero when it has none. Its AccessKey and SecretKey are
	// masked (MaskSecret): the clear values are sealed in SealedSecrets,
	// which Service.RecordAuth opens.
	AuthConf AuthConf
	// SealedSecrets is AuthConf's AccessKey and SecretKey sealed under the
	// master key, bound to the record id (nil when both are empty).
	SealedSecrets []byte
	Created       time.Time
	Updated       time.Time
}

// RecordData is the DNS information of a record: which fields a type uses is
// in the table of DataFields.
type RecordData struct {
	Value        string
	Priority     int
	Weight       int
	Port         int
	Flag         int
	Tag          string
	Type         int
	Algorithm    int
	KeyTag       int
	Certificate  string
	Fingerprint  string
	Usage        int
	Selector     int
	MatchingType int
}

// AuthConf is the origin authentication of a CNAME record.
type AuthConf struct {
	AuthType  string // one of AuthTypes
	AccessKey string
	SecretKey string
	Region    string // S3: the origin's region
	Version   string // S3 private: the signature version, v2 or v4
}

// IsZero reports whether a has no field set.
func (a AuthConf) IsZero() bool { return a == AuthConf{} }

// dataFields lists, per record type, the Data fields it uses and which of
// them must not be empty (ints may be 0, so only strings can be missing).
var dataFields = map[string]struct{ fields, required []string }{
	RecordA:      {[]string{"Value"}, []string{"Value"}},
	RecordCNAME:  {[]string{"Value"}, []string{"Value"}},
	RecordNS:     {[]string{"Value"}, []string{"Value"}},
	RecordMX:     {[]string{"Value", "Priority"}, []string{"Value"}},
	RecordTXT:    {[]string{"Value"}, []string{"Value"}},
	RecordCAA:    {[]string{"Value", "Flag", "Tag"}, []string{"Value", "Tag"}},
	RecordSRV:    {[]string{"Value", "Priority", "Weight", "Port"}, []string{"Value"}},
	RecordURI:    {[]string{"Value", "Priority", "Weight"}, []string{"Value"}},
	RecordCERT:   {[]string{"Type", "KeyTag", "Algorithm", "Certificate"}, []string{"Certificate"}},
	RecordSSHFP:  {[]string{"Type", "Algorithm", "Fingerprint"}, []string{"Fingerprint"}},
	RecordSMIMEA: {[]string{"Usage", "Selector", "MatchingType", "Certificate"}, []string{"Certificate"}},
	RecordTLSA:   {[]string{"Usage", "Selector", "MatchingType", "Certificate"}, []string{"Certificate"}},
}

// DataFields returns the names of the Data fields a record type uses, in
// the order ESA documents them; nil for an unknown type.
func DataFields(recordType string) []string { return dataFields[recordType].fields }

// Field returns the Data field called name (as DataFields names them): a
// string or an int; nil for an unknown name.
func (d RecordData) Field(name string) any {
	switch name {
	case "Value":
		return d.Value
	case "Priority":
		return d.Priority
	case "Weight":
		return d.Weight
	case "Port":
		return d.Port
	case "Flag":
		return d.Flag
	case "Tag":
		return d.Tag
	case "Type":
		return d.Type
	case "Algorithm":
		return d.Algorithm
	case "KeyTag":
		return d.KeyTag
	case "Certificate":
		return d.Certificate
	case "Fingerprint":
		return d.Fingerprint
	case "Usage":
		return d.Usage
	case "Selector":
		return d.Selector
	case "MatchingType":
		return d.MatchingType
	}
	return nil
}

// field returns a pointer to the field called name, lowercase, and whether
// it is an int; nil for an unknown name.
func (d *RecordData) field(lower string) (str *string, num *int) {
	switch lower {
	case "value":
		return &d.Value, nil
	case "priority":
		return nil, &d.Priority
	case "weight":
		return nil, &d.Weight
	case "port":
		return nil, &d.Port
	case "flag":
		return nil, &d.Flag
	case "tag":
		return &d.Tag, nil
	case "type":
		return nil, &d.Type
	case "algorithm":
		return nil, &d.Algorithm
	case "keytag":
		return nil, &d.KeyTag
	case "certificate":
		return &d.Certificate, nil
	case "fingerprint":
		return &d.Fingerprint, nil
	case "usage":
		return nil, &d.Usage
	case "selector":
		return nil, &d.Selector
	case "matchingtype":
		return nil, &d.MatchingType
	}
	return nil, nil
}

// CanonicalRecordType returns the canonical spelling of a record type: any
// case is accepted, and A or AAAA alone mean A/AAAA. ok is false for a type
// esacert does not know.
func CanonicalRecordType(t string) (string, bool) {
	u := strings.ToUpper(strings.TrimSpace(t))
	if u == "A" || u == "AAAA" {
		return RecordA, true
	}
	for _, rt := range RecordTypes {
		if u == rt {
			return rt, true
		}
	}
	return "", false
}

// canonicalFold returns the member of set equal to v ignoring case.
func canonicalFold(v string, set []string) (string, bool) {
	for _, s := range set {
		if strings.EqualFold(v, s) {
			return s, true
		}
	}
	return "", false
}

// Proxiable reports whether records of the type can be proxied.
func Proxiable(recordType string) bool { return recordType == RecordA || recordType == RecordCNAME }

// ConflictingTypes returns the record types that cannot share a name with
// a record of type t: A/AAAA and CNAME exclude each other, and a name has
// at most one CNAME record.
func ConflictingTypes(t string) []string {
	switch t {
	case RecordA:
		return []string{RecordCNAME}
	case RecordCNAME:
		return []string{RecordA, RecordCNAME}
	}
	return nil
}

// Origins returns where the edge proxies a proxied record to: the hosts of
// Data.Value (IP addresses of an A/AAAA record without brackets, or the
// CNAME target) and the port of its ":PORT" suffix, 80 when it has none.
func (r Record) Origins() (hosts []string, port int) {
	value, port, hasPort := splitPort(r.Data.Value)
	if !hasPort {
		port = 80
	}
	for _, h := range strings.Split(value, ",") {
		h = strings.TrimSpace(h)
		if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
			h = h[1 : len(h)-1]
		}
		if h != "" {
			hosts = append(hosts, h)
		}
	}
	return hosts, port
}

// splitPort splits the esacert port suffix off a value. The suffix is the
// digits after the last colon, when what precedes that colon does not end
// in a bare IPv6 address (whose last group would otherwise pass for a port).
// port is whatever the digits say, unchecked.
func splitPort(v string) (value string, port int, ok bool) {
	i := strings.LastIndexByte(v, ':')
	if i < 0 {
		return v, 0, false
	}
	digits := v[i+1:]
	if digits == "" || len(digits) > 5 || strings.Trim(digits, "0123456789") != "" {
		return v, 0, false
	}
	head := v[:i]
	last := strings.TrimSpace(head[strings.LastIndexByte(head, ',')+1:])
	bracketed := strings.HasPrefix(last, "[") && strings.HasSuffix(last, "]")
	if strings.Contains(last, ":") && !bracketed {
		return v, 0, false
	}
	port, _ = strconv.Atoi(digits)
	return head, port, true
}
