package cert

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/site"
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

// ParseRecordData reads the Data parameter: a JSON object whose keys are
// matched case-insensitively (the SDKs send "Value", the documents and some
// clients "value"). Integers may be JSON numbers or numeric strings; null
// and unknown keys (such as the Tags that answers carry) are ignored. Which
// fields the record type allows is checked later, by the use cases.
func ParseRecordData(raw string) (RecordData, error) {
	var d RecordData
	obj, err := parseObject("Data", raw, `{"Value":"192.0.2.1"}`)
	if err != nil {
		return d, err
	}
	seen := map[string]string{}
	for key, v := range obj {
		lower := strings.ToLower(key)
		str, num := d.field(lower)
		if str == nil && num == nil || v == nil {
			continue
		}
		if prev, ok := seen[lower]; ok {
			return RecordData{}, domain.Invalid("Data", fmt.Sprintf("has the key %s twice (as %s)", key, prev))
		}
		seen[lower] = key
		if str != nil {
			s, ok := v.(string)
			if !ok {
				return RecordData{}, domain.Invalid("Data", key+" must be a string")
			}
			*str = s
			continue
		}
		n, err := jsonInt(v)
		if err != nil {
			return RecordData{}, domain.Invalid("Data", key+" must be an integer")
		}
		*num = n
	}
	return d, nil
}

// ParseAuthConf reads the AuthConf parameter like ParseRecordData reads
// Data. An empty string or {} is the zero AuthConf.
func ParseAuthConf(raw string) (AuthConf, error) {
	var a AuthConf
	if strings.TrimSpace(raw) == "" {
		return a, nil
	}
	obj, err := parseObject("AuthConf", raw, `{"AuthType":"public"}`)
	if err != nil {
		return a, err
	}
	for key, v := range obj {
		var dst *string
		switch strings.ToLower(key) {
		case "authtype":
			dst = &a.AuthType
		case "accesskey":
			dst = &a.AccessKey
		case "secretkey":
			dst = &a.SecretKey
		case "region":
			dst = &a.Region
		case "version":
			dst = &a.Version
		}
		if dst == nil || v == nil {
			continue
		}
		s, ok := v.(string)
		if !ok {
			return AuthConf{}, domain.Invalid("AuthConf", key+" must be a string")
		}
		if *dst != "" && *dst != s {
			return AuthConf{}, domain.Invalid("AuthConf", "has the key "+key+" twice")
		}
		*dst = s
	}
	return a, nil
}

// parseObject decodes raw as one JSON object, numbers kept as json.Number.
func parseObject(param, raw, example string) (map[string]any, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, domain.Missing(param)
	}
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil || obj == nil || dec.More() {
		return nil, domain.Invalid(param, "must be a JSON object such as "+example)
	}
	return obj, nil
}

// jsonInt reads a JSON integer, or a string holding one, that fits in 32 bits.
func jsonInt(v any) (int, error) {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = x.String()
	case string:
		s = strings.TrimSpace(x)
	default:
		return 0, errors.New("not a number")
	}
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		// 10.0 is an integer too, as JavaScript clients may write it.
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != float64(int32(f)) {
			return 0, err
		}
		n = int64(f)
	}
	return int(n), nil
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

// MaskSecret masks a secret for display: its first 4 characters, "****"
// and its last 4; a secret shorter than 16 characters shows none of them,
// so that a mask never gives away more than half of a secret.
func MaskSecret(s string) string {
	if s == "" {
		return ""
	}
	r := []rune(s)
	if len(r) < 16 {
		return "****"
	}
	return string(r[:4]) + "****" + string(r[len(r)-4:])
}

// recordAAD binds a record's sealed secrets to its row.
func recordAAD(id int64) []byte { return []byte(fmt.Sprintf("record:%d", id)) }

// RecordStore is what the record use cases need from storage. Methods are
// safe for concurrent use and return domain sentinels.
type RecordStore interface {
	// CreateRecord inserts r. In one transaction it checks that the site
	// exists (else ErrSiteNotFound) and that no record of the site has the
	// same name, type and Data (ErrRecordDuplicate) or a name and a type
	// that ConflictingTypes excludes (ErrRecordTypeConflict). A clash on
	// r.ID is ErrExists, so the caller can draw another id.
	CreateRecord(ctx context.Context, r Record) error
	// Record returns the record with that id, or ErrRecordNotFound.
	Record(ctx context.Context, id int64) (Record, error)
	// ListRecords returns one page of the records that match f, ordered by
	// name, then creation time, then id, and how many match in all.
	ListRecords(ctx context.Context, f RecordFilter) ([]Record, int, error)
	// UpdateRecord overwrites the record with r.ID, keeping its site, name
	// and creation time; ErrRecordNotFound when there is none, and the
	// conflict errors of CreateRecord (the record itself excepted).
	UpdateRecord(ctx context.Context, r Record) error
	// DeleteRecord removes the record with that id, or returns ErrRecordNotFound.
	DeleteRecord(ctx context.Context, id int64) error
}

// RecordFilter selects records of one site. Zero fields select everything.
type RecordFilter struct {
	SiteID    int64
	Name      string // compared as NameMatch says; lowercase
	NameMatch string // exact (default), prefix, suffix or fuzzy
	Type      string // a canonical record type
	Proxied   *bool
	// SourceType selects CNAME records with that origin type (canonical);
	// SourceDomain also selects CNAME records without one.
	SourceType string
	// BizNames selects records whose BizName is one of them.
	BizNames []string
	Page     domain.Page
}

// records returns the record store. The Service keeps records in the same
// store as sites: Sites must implement RecordStore too (sqlstore.Store
// does), or the record use cases fail.
func (s *Service) records() (RecordStore, error) {
	if s.Records == nil {
		return nil, errors.New("cert: the service has no record store")
	}
	return s.Records, nil
}

// RecordInput is what CreateRecord and UpdateRecord take. A nil field is
// absent: CreateRecord takes its default, UpdateRecord keeps the record's
// value. SiteID and Name are read by CreateRecord only (a record's site
// and name never change).
type RecordInput struct {
	SiteID     int64
	Name       string
	Type       *string // A/AAAA (or A, AAAA), CNAME, … in any case; required to create
	Data       *RecordData
	Proxied    *bool
	Ttl        *int // default 1
	BizName    *string
	Comment    *string
	SourceType *string // any case
	HostPolicy *string
	// AuthConf replaces the record's origin authentication; a zero AuthConf
	// removes it. An AccessKey or SecretKey equal to the mask the record
	// shows keeps the stored secret, so an answer can be sent back as it came.
	AuthConf *AuthConf
}

// CreateRecord validates in and creates the record. A site that does not
// exist is a ParamError naming SiteId with ErrSiteNotFound; the origin of a
// proxied record that Origins refuses, a ParamError naming Data.
func (s *Service) CreateRecord(ctx context.Context, in RecordInput) (Record, error) {
	store, err := s.records()
	if err != nil {
		return Record{}, err
	}
	if in.Type == nil || strings.TrimSpace(*in.Type) == "" {
		return Record{}, domain.Missing("Type")
	}
	if in.Data == nil {
		return Record{}, domain.Missing("Data")
	}
	if strings.TrimSpace(in.Name) == "" {
		return Record{}, domain.Missing("RecordName")
	}
	st, err := s.siteFor(ctx, in.SiteID)
	if err != nil {
		return Record{}, err
	}
	now := s.now()
	r := Record{SiteID: st.ID, SiteName: st.Name, Name: in.Name, Ttl: AutoTTL, Created: now, Updated: now}
	if err := s.applyRecordInput(&r, in, nil); err != nil {
		return Record{}, err
	}
	if err := checkRecord(&r, st.Name); err != nil {
		return Record{}, err
	}
	if err := s.checkOrigins(&r); err != nil {
		return Record{}, err
	}
	for attempt := 0; ; attempt++ {
		r.ID = s.siteID()
		if r.SealedSecrets, err = s.sealSecrets(r.ID, in.AuthConf, nil); err != nil {
			return Record{}, err
		}
		err = store.CreateRecord(ctx, r)
		if errors.Is(err, domain.ErrExists) && attempt < 5 {
			continue // an id clash: draw again
		}
		break
	}
	if errors.Is(err, site.ErrSiteNotFound) { // deleted meanwhile
		return Record{}, &domain.ParamError{Param: "SiteId", Err: site.ErrSiteNotFound}
	}
	if err != nil {
		return Record{}, err
	}
	return r, nil
}

// Record returns the record with that id, or ErrRecordNotFound.
func (s *Service) Record(ctx context.Context, id int64) (Record, error) {
	store, err := s.records()
	if err != nil {
		return Record{}, err
	}
	if id <= 0 {
		return Record{}, domain.Invalid("RecordId", "must be a positive integer")
	}
	return store.Record(ctx, id)
}

// ListRecords checks f and returns one page of a site's records, and how
// many match in all. Name is lowercased; NameMatch, Type and SourceType are
// accepted in any case, and Type A or AAAA means A/AAAA. A BizName of
// image_video also selects video_image, and the other way round.
func (s *Service) ListRecords(ctx context.Context, f RecordFilter) ([]Record, int, error) {
	store, err := s.records()
	if err != nil {
		return nil, 0, err
	}
	f.Name = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(f.Name), "."))
	f.NameMatch = strings.ToLower(f.NameMatch)
	if f.NameMatch == "" {
		f.NameMatch = domain.MatchExact
	}
	if !slices.Contains([]string{domain.MatchExact, domain.MatchPrefix, domain.MatchSuffix, domain.MatchFuzzy}, f.NameMatch) {
		return nil, 0, domain.Invalid("RecordMatchType", "must be exact, prefix, suffix or fuzzy")
	}
	if f.Type != "" {
		t, ok := CanonicalRecordType(f.Type)
		if !ok {
			return nil, 0, domain.Invalid("Type", "must be a record type such as A/AAAA, CNAME or TXT")
		}
		f.Type = t
	}
	if f.SourceType != "" {
		st, ok := canonicalFold(f.SourceType, SourceTypes)
		if !ok {
			return nil, 0, domain.Invalid("SourceType", "must be OSS, S3, LB, OP or Domain")
		}
		f.SourceType = st
	}
	var biz []string
	for _, b := range f.BizNames {
		b = strings.ToLower(strings.TrimSpace(b))
		if !slices.Contains(BizNames, b) {
			return nil, 0, domain.Invalid("BizName", "must be image_video, api or web")
		}
		same := []string{b}
		if b == "image_video" || b == "video_image" {
			same = []string{"image_video", "video_image"}
		}
		for _, x := range same {
			if !slices.Contains(biz, x) {
				biz = append(biz, x)
			}
		}
	}
	f.BizNames = biz
	st, err := s.siteFor(ctx, f.SiteID)
	if err != nil {
		return nil, 0, err
	}
	f.SiteID = st.ID
	return store.ListRecords(ctx, f)
}

// UpdateRecord applies in to the record with that id and returns it. Data
// replaces the whole of the record's Data when given. The record that
// results is checked as CreateRecord checks a new one, its origin too.
func (s *Service) UpdateRecord(ctx context.Context, id int64, in RecordInput) (Record, error) {
	store, err := s.records()
	if err != nil {
		return Record{}, err
	}
	old, err := s.Record(ctx, id)
	if err != nil {
		return Record{}, err
	}
	r := old
	r.Updated = s.now()
	if err := s.applyRecordInput(&r, in, &old); err != nil {
		return Record{}, err
	}
	if err := checkRecord(&r, old.SiteName); err != nil {
		return Record{}, err
	}
	if err := s.checkOrigins(&r); err != nil {
		return Record{}, err
	}
	if in.AuthConf != nil {
		if r.SealedSecrets, err = s.sealSecrets(r.ID, in.AuthConf, &old); err != nil {
			return Record{}, err
		}
	} else if r.AuthConf.IsZero() {
		r.SealedSecrets = nil
	}
	if err := store.UpdateRecord(ctx, r); err != nil {
		return Record{}, err
	}
	return r, nil
}

// DeleteRecord removes the record with that id.
func (s *Service) DeleteRecord(ctx context.Context, id int64) error {
	store, err := s.records()
	if err != nil {
		return err
	}
	if id <= 0 {
		return domain.Invalid("RecordId", "must be a positive integer")
	}
	return store.DeleteRecord(ctx, id)
}

// RecordAuth returns r's AuthConf with the clear AccessKey and SecretKey,
// unsealed with the Service's Sealer; for the edge, never for an answer.
func (s *Service) RecordAuth(r Record) (AuthConf, error) {
	a := r.AuthConf
	a.AccessKey, a.SecretKey = "", ""
	if len(r.SealedSecrets) == 0 {
		return a, nil
	}
	if s.Sealer == nil {
		return AuthConf{}, fmt.Errorf("record %d: %w: no master key", r.ID, domain.ErrKeyUnavailable)
	}
	plain, err := s.Sealer.Open(r.SealedSecrets, recordAAD(r.ID))
	if err != nil {
		return AuthConf{}, fmt.Errorf("unseal record %d: %w: %v", r.ID, domain.ErrKeyUnavailable, err)
	}
	var sec recordSecrets
	if err := json.Unmarshal(plain, &sec); err != nil {
		return AuthConf{}, fmt.Errorf("unseal record %d: %w: %v", r.ID, domain.ErrKeyUnavailable, err)
	}
	a.AccessKey, a.SecretKey = sec.AccessKey, sec.SecretKey
	return a, nil
}

// recordSecrets is what a record's SealedSecrets hold.
type recordSecrets struct {
	AccessKey string `json:"a,omitempty"`
	SecretKey string `json:"s,omitempty"`
}

// sealSecrets seals the keys of in for record id; a key equal to old's mask
// stands for old's key. It returns nil when no key is set.
func (s *Service) sealSecrets(id int64, in *AuthConf, old *Record) ([]byte, error) {
	if in == nil || in.AccessKey == "" && in.SecretKey == "" {
		return nil, nil
	}
	sec := recordSecrets{AccessKey: in.AccessKey, SecretKey: in.SecretKey}
	if old != nil && (isMask(sec.AccessKey, old.AuthConf.AccessKey) || isMask(sec.SecretKey, old.AuthConf.SecretKey)) {
		clear, err := s.RecordAuth(*old)
		if err != nil {
			return nil, err
		}
		if isMask(sec.AccessKey, old.AuthConf.AccessKey) {
			sec.AccessKey = clear.AccessKey
		}
		if isMask(sec.SecretKey, old.AuthConf.SecretKey) {
			sec.SecretKey = clear.SecretKey
		}
	}
	if s.Sealer == nil {
		return nil, fmt.Errorf("seal record %d: %w: no master key", id, domain.ErrKeyUnavailable)
	}
	plain, err := json.Marshal(sec)
	if err != nil {
		return nil, err
	}
	return s.Sealer.Seal(plain, recordAAD(id))
}

func isMask(v, mask string) bool { return v != "" && v == mask && strings.Contains(mask, "****") }

// applyRecordInput sets the fields in gives on r, canonicalising spellings.
// old is the record before an update (nil on create): CNAME-only fields the
// input leaves alone are dropped when the record stops being a CNAME.
func (s *Service) applyRecordInput(r *Record, in RecordInput, old *Record) error {
	if in.Type != nil && (old == nil || strings.TrimSpace(*in.Type) != "") {
		t, ok := CanonicalRecordType(*in.Type)
		if !ok {
			return domain.Invalid("Type", "must be one of "+strings.Join(RecordTypes, ", ")+" (A and AAAA mean A/AAAA)")
		}
		r.Type = t
	}
	if old != nil && r.Type != old.Type && r.Type != RecordCNAME {
		if in.SourceType == nil {
			r.SourceType = ""
		}
		if in.HostPolicy == nil {
			r.HostPolicy = ""
		}
		if in.AuthConf == nil {
			r.AuthConf, r.SealedSecrets = AuthConf{}, nil
		}
	}
	if in.Data != nil {
		r.Data = *in.Data
	}
	if in.Proxied != nil {
		r.Proxied = *in.Proxied
	}
	if in.Ttl != nil {
		r.Ttl = *in.Ttl
	}
	if in.BizName != nil {
		r.BizName = strings.ToLower(strings.TrimSpace(*in.BizName))
	}
	if in.Comment != nil {
		r.Comment = *in.Comment
	}
	if in.SourceType != nil {
		r.SourceType = strings.TrimSpace(*in.SourceType)
		if r.SourceType != "" {
			st, ok := canonicalFold(r.SourceType, SourceTypes)
			if !ok {
				return domain.Invalid("SourceType", "must be OSS, S3, LB, OP or Domain")
			}
			r.SourceType = st
		}
	}
	if in.HostPolicy != nil {
		r.HostPolicy = strings.ToLower(strings.TrimSpace(*in.HostPolicy))
	}
	if in.AuthConf != nil {
		a := *in.AuthConf
		if len(a.AccessKey) > maxAuthKey || len(a.SecretKey) > maxAuthKey {
			return domain.Invalid("AuthConf", fmt.Sprintf("AccessKey and SecretKey are at most %d characters long", maxAuthKey))
		}
		a.AuthType = strings.ToLower(strings.TrimSpace(a.AuthType))
		a.Version = strings.ToLower(strings.TrimSpace(a.Version))
		a.Region = strings.TrimSpace(a.Region)
		a.AccessKey, a.SecretKey = MaskSecret(a.AccessKey), MaskSecret(a.SecretKey)
		if old != nil {
			// A mask sent back keeps the stored key, and so its mask.
			if isMask(in.AuthConf.AccessKey, old.AuthConf.AccessKey) {
				a.AccessKey = old.AuthConf.AccessKey
			}
			if isMask(in.AuthConf.SecretKey, old.AuthConf.SecretKey) {
				a.SecretKey = old.AuthConf.SecretKey
			}
		}
		r.AuthConf = a
	}
	if old != nil && in.AuthConf == nil && !authApplies(r.Type, r.SourceType) {
		// The origin no longer takes authentication: drop the stored one.
		r.AuthConf, r.SealedSecrets = AuthConf{}, nil
	}
	return nil
}

// authApplies reports whether a record of that type and origin type can
// carry AuthConf: CNAME records to OSS or S3 origins.
func authApplies(recordType, sourceType string) bool {
	return recordType == RecordCNAME && (sourceType == SourceOSS || sourceType == SourceS3)
}

// checkRecord validates a record to be stored on the site siteName and
// canonicalises its name.
func checkRecord(r *Record, siteName string) error {
	if r.Type == "" {
		return domain.Missing("Type")
	}
	name, err := checkRecordName(r.Name, siteName, r.Type, r.Proxied)
	if err != nil {
		return err
	}
	r.Name = name
	if r.Proxied && !Proxiable(r.Type) {
		return domain.Invalid("Proxied", "only A/AAAA and CNAME records can be proxied")
	}
	if err := checkData(r); err != nil {
		return err
	}
	if r.Ttl != AutoTTL && (r.Ttl < MinTTL || r.Ttl > MaxTTL) {
		return domain.Invalid("Ttl", fmt.Sprintf("must be 1 (automatic) or between %d and %d", MinTTL, MaxTTL))
	}
	if r.BizName != "" && !slices.Contains(BizNames, r.BizName) {
		return domain.Invalid("BizName", "must be image_video, api or web")
	}
	if r.Proxied && r.BizName == "" {
		return domain.Missing("BizName")
	}
	if r.SourceType != "" && r.Type != RecordCNAME {
		return domain.Invalid("SourceType", "applies to CNAME records only")
	}
	if r.HostPolicy != "" {
		if r.Type != RecordCNAME {
			return domain.Invalid("HostPolicy", "applies to CNAME records only")
		}
		if !slices.Contains(HostPolicies, r.HostPolicy) {
			return domain.Invalid("HostPolicy", "must be follow_hostname or follow_origin_domain")
		}
	}
	if utf8.RuneCountInString(r.Comment) > MaxRecordComment {
		return domain.Invalid("Comment", fmt.Sprintf("is at most %d characters long", MaxRecordComment))
	}
	return checkAuthConf(r)
}

// checkRecordName canonicalises name and checks that it is the site name or
// a name under it, that only the leftmost label is "*", and the rules of
// the record type. Labels may hold underscores (_dmarc, _sip._udp), except in
// the names of proxied records, which are host names the edge serves.
func checkRecordName(name, siteName, recordType string, proxied bool) (string, error) {
	n := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(name), "."))
	if n == "" {
		return "", domain.Missing("RecordName")
	}
	if len(n) > MaxRecordName {
		return "", domain.Invalid("RecordName", fmt.Sprintf("is at most %d characters long", MaxRecordName))
	}
	if n != siteName && !strings.HasSuffix(n, "."+siteName) {
		return "", domain.Invalid("RecordName", "must be the site name "+siteName+" or a name under it, written in full")
	}
	labels := strings.Split(n, ".")
	for i, label := range labels {
		switch {
		case label == "":
			return "", domain.Invalid("RecordName", "cannot have an empty label")
		case label == "*" && i == 0:
			continue
		case strings.Contains(label, "*"):
			return "", domain.Invalid("RecordName", "can hold * only as the whole leftmost label, as in *.example.com")
		case len(label) > 63:
			return "", domain.Invalid("RecordName", "has a label longer than 63 characters")
		case label[0] == '-' || label[len(label)-1] == '-':
			return "", domain.Invalid("RecordName", "has a label that starts or ends with a hyphen")
		}
		for j := 0; j < len(label); j++ {
			c := label[j]
			ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' && !proxied
			if !ok {
				why := "may hold only letters, digits, hyphens, underscores and dots (use punycode for international names)"
				if c == '_' {
					why = "of a proxied record is a host name: it cannot hold underscores"
				}
				return "", domain.Invalid("RecordName", why)
			}
		}
	}
	switch recordType {
	case RecordNS:
		if n == siteName {
			return "", domain.Invalid("RecordName", "of an NS record cannot be the site name")
		}
	case RecordSRV:
		if len(labels) < 3 || !strings.HasPrefix(labels[0], "_") || !strings.HasPrefix(labels[1], "_") {
			return "", domain.Invalid("RecordName", "of an SRV record is _service._protocol.name, as in _sip._udp.example.com")
		}
	}
	return n, nil
}

// checkData checks r.Data against r.Type: the type's fields in range, its
// string fields present, every other field zero.
func checkData(r *Record) error {
	spec := dataFields[r.Type]
	d := r.Data
	for _, f := range []string{"Value", "Priority", "Weight", "Port", "Flag", "Tag", "Type", "Algorithm", "KeyTag",
		"Certificate", "Fingerprint", "Usage", "Selector", "MatchingType"} {
		if slices.Contains(spec.fields, f) {
			continue
		}
		if v := d.Field(f); v != "" && v != 0 {
			return domain.Invalid("Data", fmt.Sprintf("%s does not apply to %s records", f, r.Type))
		}
	}
	for _, f := range spec.required {
		if strings.TrimSpace(d.Field(f).(string)) == "" {
			return domain.Invalid("Data", fmt.Sprintf("%s is required for %s records", f, r.Type))
		}
	}
	ranges := map[string]int{"Priority": 65535, "Weight": 65535, "Port": 65535, "KeyTag": 65535, "Flag": 255,
		"Algorithm": 255, "Usage": 255, "Selector": 255, "MatchingType": 255, "Type": 255}
	if r.Type == RecordCERT {
		ranges["Type"] = 65535
	}
	for _, f := range spec.fields {
		max, ok := ranges[f]
		if !ok {
			continue
		}
		if n := d.Field(f).(int); n < 0 || n > max {
			return domain.Invalid("Data", fmt.Sprintf("%s must be between 0 and %d", f, max))
		}
	}
	if len(d.Value) > maxValue {
		return domain.Invalid("Data", fmt.Sprintf("Value is at most %d characters long", maxValue))
	}
	if r.Type != RecordTXT && d.Value != strings.TrimSpace(d.Value) {
		return domain.Invalid("Data", "Value cannot start or end with white space")
	}
	switch r.Type {
	case RecordA:
		return checkAddresses(d.Value, r.Proxied)
	case RecordCNAME:
		value := d.Value
		if r.Proxied {
			var err error
			if value, err = checkPort(value); err != nil {
				return err
			}
		}
		if err := checkTarget(value, r.Proxied); err != nil {
			return err
		}
		if strings.EqualFold(strings.TrimSuffix(value, "."), r.Name) {
			return domain.Invalid("Data", "a CNAME record cannot point to its own name")
		}
	case RecordNS, RecordMX, RecordSRV:
		return checkTarget(d.Value, false)
	case RecordTXT:
		if utf8.RuneCountInString(d.Value) > maxTXT {
			return domain.Invalid("Data", fmt.Sprintf("Value of a TXT record is at most %d characters long", maxTXT))
		}
	case RecordCAA:
		if !slices.Contains([]string{"issue", "issuewild", "iodef"}, d.Tag) {
			return domain.Invalid("Data", "Tag must be issue, issuewild or iodef")
		}
	case RecordURI:
		if u, err := url.Parse(d.Value); err != nil || u.Scheme == "" {
			return domain.Invalid("Data", "Value of a URI record must be an absolute URI")
		}
	case RecordCERT:
		if _, err := base64.StdEncoding.DecodeString(d.Certificate); err != nil {
			return domain.Invalid("Data", "Certificate of a CERT record must be base64")
		}
	case RecordSSHFP:
		if !isHex(d.Fingerprint) {
			return domain.Invalid("Data", "Fingerprint must be hexadecimal")
		}
	case RecordSMIMEA, RecordTLSA:
		if !isHex(d.Certificate) {
			return domain.Invalid("Data", "Certificate of a "+r.Type+" record must be hexadecimal")
		}
	}
	return nil
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil && s != ""
}

// checkPort splits and checks the esacert port suffix of a proxied value.
func checkPort(v string) (string, error) {
	value, port, ok := splitPort(v)
	if !ok {
		return v, nil
	}
	if port < 1 || port > 65535 {
		return "", domain.Invalid("Data", "the origin port after the colon must be between 1 and 65535")
	}
	return value, nil
}

// checkAddresses checks the Value of an A/AAAA record: IP addresses
// separated by commas, at least one of them IPv4, and for a proxied record
// an optional port suffix.
func checkAddresses(v string, proxied bool) error {
	value, hasPort := v, false
	if proxied {
		var err error
		if value, err = checkPort(v); err != nil {
			return err
		}
		hasPort = value != v
	}
	items := strings.Split(value, ",")
	v4 := false
	for i, item := range items {
		item = strings.TrimSpace(item)
		if hasPort && i == len(items)-1 && strings.HasPrefix(item, "[") && strings.HasSuffix(item, "]") {
			item = item[1 : len(item)-1]
		}
		ip, err := netip.ParseAddr(item)
		if err != nil || ip.Zone() != "" {
			why := fmt.Sprintf("%q is not an IP address", item)
			if !proxied && strings.Count(item, ":") == 1 {
				why += " (a :PORT suffix is only for proxied records)"
			}
			return domain.Invalid("Data", "Value of an A/AAAA record holds IP addresses separated by commas: "+why)
		}
		if ip.Is4() {
			v4 = true
		}
	}
	if !v4 {
		return domain.Invalid("Data", "Value of an A/AAAA record needs at least one IPv4 address")
	}
	return nil
}

// checkTarget checks a domain name a record points to (one trailing dot
// allowed). Underscores are allowed unless the name must be a host name.
func checkTarget(v string, hostOnly bool) error {
	n := strings.ToLower(strings.TrimSuffix(v, "."))
	if len(n) > 253 {
		return domain.Invalid("Data", "Value is a domain name of at most 253 characters")
	}
	if _, err := netip.ParseAddr(n); err == nil {
		return domain.Invalid("Data", "Value must be a domain name, not an IP address")
	}
	if !hostOnly {
		n = strings.ReplaceAll(n, "_", "x")
	}
	if why := site.CheckHostname(n); why != "" {
		return domain.Invalid("Data", "Value: "+why)
	}
	return nil
}

// checkAuthConf checks the origin authentication of r.
func checkAuthConf(r *Record) error {
	a := r.AuthConf
	if a.IsZero() {
		return nil
	}
	if !authApplies(r.Type, r.SourceType) {
		return domain.Invalid("AuthConf", "applies to CNAME records whose SourceType is OSS or S3")
	}
	if a.AuthType == "" {
		return domain.Invalid("AuthConf", "AuthType is required")
	}
	if !slices.Contains(AuthTypes, a.AuthType) {
		return domain.Invalid("AuthConf", "AuthType must be public, private, private_same_account or private_cross_account")
	}
	switch {
	case a.AuthType == "private" && r.SourceType != SourceS3:
		return domain.Invalid("AuthConf", "AuthType private is for S3 origins")
	case strings.HasPrefix(a.AuthType, "private_") && r.SourceType != SourceOSS:
		return domain.Invalid("AuthConf", "AuthType "+a.AuthType+" is for OSS origins")
	}
	if a.AuthType == "private" || a.AuthType == "private_cross_account" {
		if a.AccessKey == "" || a.SecretKey == "" {
			return domain.Invalid("AuthConf", "AccessKey and SecretKey are required for AuthType "+a.AuthType)
		}
	}
	if a.Version != "" && a.Version != "v2" && a.Version != "v4" {
		return domain.Invalid("AuthConf", "Version must be v2 or v4")
	}
	if len(a.Region) > 64 || strings.ContainsAny(a.Region, " \t\r\n") {
		return domain.Invalid("AuthConf", "Region must be a region id such as us-east-1")
	}
	return nil
}
