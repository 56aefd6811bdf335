// Package originauth signs the edge's requests to a private bucket origin:
// a CNAME record whose SourceType is S3 or OSS and whose AuthConf names
// private access (AuthType private for S3, with Version v4, the default,
// or v2; private_cross_account for OSS). The bucket's owner gives the
// record an AccessKey and SecretKey that may read it; the edge signs each
// request it forwards with them, as the bucket's own clients do:
//
//   - S3, v4: AWS Signature Version 4 (AWS4-HMAC-SHA256, service s3, the
//     record's Region), the payload unsigned (UNSIGNED-PAYLOAD), the Host
//     and every x-amz-* header signed;
//   - S3, v2: AWS Signature Version 2 (HMAC-SHA1 over the verb,
//     Content-MD5, Content-Type, Date, the x-amz-* headers and the bucket
//     and key), the bucket taken from the Host (a virtual-hosted S3 name,
//     bucket.s3….amazonaws.com, or else the Host itself, as S3 takes a
//     bucket reached by a CNAME);
//   - OSS: the OSS header signature (HMAC-SHA1, "OSS AccessKeyId:…", over
//     the same parts with the x-oss-* headers), for the bucket the record's
//     value names (bucket.oss-….aliyuncs.com, which the API requires of
//     such a record), whatever Host is sent.
//
// The keys are lent to reads only: Sign signs GET and HEAD requests, and
// leaves any other request as the visitor sent it (the bucket then answers
// it as it answers anyone). Before it signs, it drops what the visitor
// sent that a signature would cover or that would authenticate otherwise:
// the Authorization header, every x-amz-* and x-oss-* header, and the
// query parameters of a presigned URL and every x-amz-* and x-oss-* one
// (but x-oss-process, OSS's image processing); a signature covers only
// what Sign itself sets and the request's method, path, query and Host. A key given to the
// edge should still be one that may only read the bucket's objects.
package originauth

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/esacert/esacert/internal/record"
)

// The schemes a Signer signs with.
const (
	S3V4 = "s3-v4"
	S3V2 = "s3-v2"
	OSS  = "oss"
)

// Signer signs requests for one record's private origin. Its secret is
// never shown: String names the scheme and the access key id only.
type Signer struct {
	scheme    string
	accessKey string
	secretKey string
	region    string
	bucket    string // OSS: the bucket signed for ("": the one the Host names)
}

// ErrNoSigner says an AuthConf asks for no signature (public, or none).
var ErrNoSigner = errors.New("originauth: the origin is public")

// New returns the Signer of a record's AuthConf: authType private (S3;
// version v4, the default, or v2) or private_cross_account (OSS), with
// the record's keys and, for S3 v4, its region (none: the one its Host
// names, as bucket.s3.REGION.amazonaws.com does, else us-east-1, S3's
// first). Any other authType gives ErrNoSigner.
func New(authType, version, region, accessKey, secretKey string) (*Signer, error) {
	s := &Signer{accessKey: accessKey, secretKey: secretKey, region: region}
	switch authType {
	case "private":
		s.scheme = S3V4
		if version == "v2" {
			s.scheme = S3V2
		}
	case "private_cross_account":
		s.scheme = OSS
	default:
		return nil, ErrNoSigner
	}
	if accessKey == "" || secretKey == "" {
		return nil, errors.New("originauth: the record has no AccessKey and SecretKey")
	}
	return s, nil
}

// ForBucket has an OSS signer sign for bucket (the one the record's value
// names), whatever the Host of a request; it returns s.
func (s *Signer) ForBucket(bucket string) *Signer {
	s.bucket = bucket
	return s
}

// String names the signer without its secret.
func (s *Signer) String() string { return s.scheme + " " + s.accessKey }

// presigned are the query parameters of a presigned URL (S3's and OSS's).
var presigned = []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders",
	"X-Amz-Signature", "X-Amz-Security-Token", "AWSAccessKeyId", "OSSAccessKeyId", "Signature", "Expires",
	"x-oss-signature", "x-oss-credential", "x-oss-date", "x-oss-expires", "x-oss-signature-version",
	"x-oss-additional-headers", "security-token"}

// dropAuthParams returns raw without the parameters that authenticate a
// request or that a signature would cover: a presigned URL's, and every
// x-amz-* and x-oss-* one but x-oss-process (OSS's image processing, a
// read). What stays is kept byte for byte, in its order.
func dropAuthParams(raw string) string {
	if raw == "" {
		return raw
	}
	var kept []string
	for _, pair := range strings.Split(raw, "&") {
		name, _, _ := strings.Cut(pair, "=")
		if n, err := url.QueryUnescape(name); err == nil {
			name = n
		}
		l := strings.ToLower(name)
		if l != "x-oss-process" && (strings.HasPrefix(l, "x-amz-") || strings.HasPrefix(l, "x-oss-") ||
			slices.ContainsFunc(presigned, func(p string) bool { return strings.EqualFold(p, name) })) {
			continue
		}
		kept = append(kept, pair)
	}
	return strings.Join(kept, "&")
}

// Signs reports whether Sign signs a request of method: the reads, GET
// and HEAD.
func Signs(method string) bool { return method == http.MethodGet || method == http.MethodHead }

// Sign signs r, a request about to be sent to the origin, as of now, when
// it is a read (Signs); any other request is left as it is.
func (s *Signer) Sign(r *http.Request, now time.Time) {
	if !Signs(r.Method) {
		return
	}
	r.Header.Del("Authorization")
	for name := range r.Header {
		if l := strings.ToLower(name); strings.HasPrefix(l, "x-amz-") || strings.HasPrefix(l, "x-oss-") {
			delete(r.Header, name)
		}
	}
	r.URL.RawQuery = dropAuthParams(r.URL.RawQuery)
	now = now.UTC()
	switch s.scheme {
	case S3V4:
		region := s.region
		if region == "" {
			region = regionOf(hostOf(r))
		}
		r.Header.Set("X-Amz-Date", now.Format("20060102T150405Z"))
		r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
		r.Header.Set("Authorization", s.v4Authorization(r, region, "UNSIGNED-PAYLOAD", now))
	case S3V2, OSS:
		r.Header.Set("Date", now.Format(http.TimeFormat))
		prefix, label := "x-amz-", "AWS "
		if s.scheme == OSS {
			prefix, label = "x-oss-", "OSS "
		}
		toSign := v1StringToSign(r, prefix, s.resource(r))
		r.Header.Set("Authorization", label+s.accessKey+":"+hmacSHA1(s.secretKey, toSign))
	}
}

// hostOf is the host r is sent to, without a port, in lower case.
func hostOf(r *http.Request) string {
	h := hostWithPort(r)
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.Contains(h[i:], "]") {
		h = h[:i]
	}
	return strings.ToLower(h)
}

// v4Authorization is the Authorization header of AWS Signature Version 4
// for r in region, whose X-Amz-Date is now and X-Amz-Content-Sha256
// payloadHash: it signs the Host and every header r has among Range,
// Content-MD5, Content-Type and x-amz-*.
func (s *Signer) v4Authorization(r *http.Request, region, payloadHash string, now time.Time) string {
	signed := []string{"host"}
	values := map[string]string{"host": hostWithPort(r)}
	for name, vs := range r.Header {
		l := strings.ToLower(name)
		if strings.HasPrefix(l, "x-amz-") || l == "range" || l == "content-md5" || l == "content-type" {
			signed = append(signed, l)
			values[l] = canonicalValue(vs)
		}
	}
	slices.Sort(signed)
	var canon strings.Builder
	canon.WriteString(r.Method + "\n")
	canon.WriteString(awsEscape(pathOf(r.URL), false) + "\n")
	canon.WriteString(canonicalQuery(r.URL) + "\n")
	for _, h := range signed {
		canon.WriteString(h + ":" + values[h] + "\n")
	}
	canon.WriteString("\n" + strings.Join(signed, ";") + "\n" + payloadHash)
	day := now.Format("20060102")
	scope := day + "/" + region + "/s3/aws4_request"
	sum := sha256.Sum256([]byte(canon.String()))
	toSign := "AWS4-HMAC-SHA256\n" + now.Format("20060102T150405Z") + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
	key := hmacSHA256([]byte("AWS4"+s.secretKey), day)
	key = hmacSHA256(key, region)
	key = hmacSHA256(key, "s3")
	key = hmacSHA256(key, "aws4_request")
	return "AWS4-HMAC-SHA256 Credential=" + s.accessKey + "/" + scope + ",SignedHeaders=" + strings.Join(signed, ";") +
		",Signature=" + hex.EncodeToString(hmacSHA256(key, toSign))
}

// hostWithPort is the Host header as sent (with a port other than the
// scheme's default).
func hostWithPort(r *http.Request) string {
	if r.Host != "" {
		return r.Host
	}
	return r.URL.Host
}

// regionOf is the region an S3 host names (bucket.s3.REGION.amazonaws.com,
// bucket.s3-REGION.amazonaws.com), else us-east-1.
func regionOf(host string) string {
	if rest, ok := strings.CutSuffix(host, ".amazonaws.com"); ok {
		labels := strings.Split(rest, ".")
		for i, l := range labels {
			if l != "s3" && !strings.HasPrefix(l, "s3-") {
				continue
			}
			if r := strings.TrimPrefix(l, "s3-"); isRegion(r) { // s3-REGION
				return r
			}
			for _, next := range labels[i+1:] { // s3.REGION, s3.dualstack.REGION, s3-fips.REGION
				if isRegion(next) {
					return next
				}
			}
		}
	}
	return "us-east-1"
}

func pathOf(u *url.URL) string {
	if u.Path == "" {
		return "/"
	}
	return u.Path
}

// canonicalValue joins a header's values with commas, each trimmed and its
// inner runs of spaces made one.
func canonicalValue(vs []string) string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = strings.Join(strings.Fields(v), " ")
	}
	return strings.Join(out, ",")
}

// canonicalQuery is u's query, each name and value escaped as AWS does,
// sorted by name, then by value.
func canonicalQuery(u *url.URL) string {
	type pair struct{ k, v string }
	var pairs []pair
	for k, vs := range u.Query() {
		for _, v := range vs {
			pairs = append(pairs, pair{awsEscape(k, true), awsEscape(v, true)})
		}
	}
	slices.SortFunc(pairs, func(a, b pair) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return strings.Compare(a.v, b.v)
	})
	parts := make([]string, len(pairs))
	for i, p := range pairs {
		parts[i] = p.k + "=" + p.v
	}
	return strings.Join(parts, "&")
}

// awsEscape percent-encodes every byte but the unreserved ones (and '/'
// unless slash).
func awsEscape(s string, slash bool) string {
	const hexdigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' ||
			c == '/' && !slash {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexdigits[c>>4])
		b.WriteByte(hexdigits[c&15])
	}
	return b.String()
}

// s3Subresources are the query parameters S3 (v2) signs with the resource.
var s3Subresources = []string{"acl", "cors", "delete", "lifecycle", "location", "logging", "notification",
	"partNumber", "policy", "requestPayment", "response-cache-control", "response-content-disposition",
	"response-content-encoding", "response-content-language", "response-content-type", "response-expires", "restore",
	"tagging", "torrent", "uploadId", "uploads", "versionId", "versioning", "versions", "website"}

// ossSubresources are the query parameters OSS signs with the resource.
var ossSubresources = []string{"acl", "append", "bucketInfo", "callback", "callback-var", "cname", "comp", "continuation-token",
	"cors", "delete", "encryption", "endTime", "img", "inventory", "inventoryId", "lifecycle", "live", "location", "logging",
	"objectMeta", "partNumber", "policy", "position", "qos", "referer", "replication", "replicationLocation",
	"replicationProgress", "response-cache-control", "response-content-disposition", "response-content-encoding",
	"response-content-language", "response-content-type", "response-expires", "restore", "security-token",
	"sequential", "startTime", "stat", "status", "style", "styleName", "symlink", "tagging", "udf", "udfApplication",
	"udfApplicationLog", "udfId", "udfImage", "udfImageDesc", "udfName", "uploadId", "uploads", "versionId",
	"versioning", "versions", "vod", "website", "worm", "wormExtend", "wormId", "x-oss-process", "x-oss-request-payer"}

// resource is the CanonicalizedResource of r for S3 v2 or OSS: the bucket
// and the key, then the subresources r's query has, sorted.
func (s *Signer) resource(r *http.Request) string {
	host := hostOf(r)
	var res string
	subresources := s3Subresources
	if s.scheme == OSS {
		bucket := s.bucket
		if bucket == "" {
			bucket = Bucket(host, OSS)
		}
		res = "/" + bucket + pathOf(r.URL) // OSS signs the key as it is, not escaped
		subresources = ossSubresources
	} else {
		res = r.URL.EscapedPath()
		if res == "" {
			res = "/"
		}
		if b := Bucket(host, S3V2); b != "" {
			res = "/" + b + res
		}
	}
	q := r.URL.Query()
	var subs []string
	for _, name := range subresources {
		if !q.Has(name) {
			continue
		}
		if v := q.Get(name); v != "" {
			subs = append(subs, name+"="+v)
		} else {
			subs = append(subs, name)
		}
	}
	slices.Sort(subs)
	if len(subs) > 0 {
		res += "?" + strings.Join(subs, "&")
	}
	return res
}

// Bucket returns the bucket a request to host reaches, for scheme S3V2 or
// OSS: for OSS the first label of bucket.oss-….aliyuncs.com ("" for any
// other host); for S3 the first label of a virtual-hosted name
// (bucket.s3.amazonaws.com, bucket.s3.region.amazonaws.com,
// bucket.s3-region.amazonaws.com), none ("") for a path-style name
// (s3.amazonaws.com), and host itself for another name (a bucket reached
// by a CNAME is named as its host).
func Bucket(host, scheme string) string {
	if scheme == OSS {
		return record.OSSBucket(host) // which the API requires of the record
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if rest, ok := strings.CutSuffix(host, ".amazonaws.com"); ok {
		// The endpoint's label is the last one that is s3 or s3-REGION;
		// what comes before it (but a region: bucket.REGION.s3…) is the
		// bucket, none for a path-style name.
		labels := strings.Split(rest, ".")
		end := -1
		for i, l := range labels {
			if l == "s3" || strings.HasPrefix(l, "s3-") {
				end = i
			}
		}
		if end >= 0 {
			b := labels[:end]
			if len(b) > 1 && isRegion(b[len(b)-1]) {
				b = b[:len(b)-1]
			}
			return strings.Join(b, ".")
		}
	}
	return host
}

// isRegion reports whether label looks like an AWS region (us-west-1).
func isRegion(label string) bool {
	parts := strings.Split(label, "-")
	if len(parts) < 3 {
		return false
	}
	last := parts[len(parts)-1]
	return last != "" && strings.Trim(last, "0123456789") == ""
}

// v1StringToSign is the string S3 v2 and OSS sign: the verb, Content-MD5,
// Content-Type and Date, the headers of prefix (lower-cased, sorted, each
// once with its values joined by commas), then the resource.
func v1StringToSign(r *http.Request, prefix, resource string) string {
	var b strings.Builder
	b.WriteString(r.Method + "\n" + r.Header.Get("Content-MD5") + "\n" + r.Header.Get("Content-Type") + "\n" +
		r.Header.Get("Date") + "\n")
	var names []string
	values := map[string]string{}
	for name, vs := range r.Header {
		l := strings.ToLower(name)
		if strings.HasPrefix(l, prefix) {
			names = append(names, l)
			values[l] = canonicalValue(vs)
		}
	}
	slices.Sort(names)
	for _, n := range names {
		b.WriteString(n + ":" + values[n] + "\n")
	}
	b.WriteString(resource)
	return b.String()
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

func hmacSHA1(key, data string) string {
	m := hmac.New(sha1.New, []byte(key))
	m.Write([]byte(data))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}
