package record

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/site"
)

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
	if a.AuthType == "private_same_account" {
		return domain.Invalid("AuthConf", "AuthType private_same_account reads a bucket through the cloud account's own "+
			"service role, which esacert does not have: give the record a key that may read the bucket, with "+
			"AuthType private_cross_account, AccessKey and SecretKey")
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
	// The edge signs the requests to a private origin (internal/originauth,
	// which takes an OSS bucket's name from its host as OSSBucket does):
	// what a signature needs must be there.
	if a.AuthType == "private" && a.Version != "v2" && a.Region == "" {
		return domain.Invalid("AuthConf", "Region is required for AuthType private with signature Version v4 "+
			"(the default): the S3 bucket's region, such as us-east-1")
	}
	if hosts, _ := r.Origins(); a.AuthType == "private_cross_account" && (len(hosts) == 0 || OSSBucket(hosts[0]) == "") {
		return domain.Invalid("AuthConf", "AuthType private_cross_account needs the record's Value to be the bucket's "+
			"OSS endpoint (BUCKET.oss-REGION.aliyuncs.com), whose bucket the requests are signed for")
	}
	return nil
}

// OSSBucket returns the bucket an OSS endpoint names
// (BUCKET.oss-REGION.aliyuncs.com, and its -internal and accelerated
// forms), or "" for any other host.
func OSSBucket(host string) string {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	first, rest, ok := strings.Cut(host, ".")
	if ok && first != "" && strings.HasPrefix(rest, "oss-") && strings.HasSuffix(rest, ".aliyuncs.com") {
		return first
	}
	return ""
}
