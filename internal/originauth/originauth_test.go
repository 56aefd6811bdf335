package originauth

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// The examples below are the ones the services' own documentation gives
// (AWS's for Signature Version 4 and 2, Alibaba Cloud's for OSS), with
// their published signatures.
const (
	awsAccessKey = "AKIAIOSFODNN7EXAMPLE"
	awsSecretKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// TestS3V4Example: AWS's GET Object example (the first ten bytes of
// test.txt from examplebucket, the hash of an empty payload).
func TestS3V4Example(t *testing.T) {
	s, err := New("private", "v4", "us-east-1", awsAccessKey, awsSecretKey)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := http.NewRequest("GET", "http://examplebucket.s3.amazonaws.com/test.txt", nil)
	r.Header.Set("Range", "bytes=0-9")
	r.Header.Set("X-Amz-Content-Sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
	r.Header.Set("X-Amz-Date", "20130524T000000Z")
	at := time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)
	got := s.v4Authorization(r, "us-east-1", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", at)
	want := "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request," +
		"SignedHeaders=host;range;x-amz-content-sha256;x-amz-date," +
		"Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
	if got != want {
		t.Fatalf("Authorization:\n%s\nwant\n%s", got, want)
	}
}

// TestS3V2Example: AWS's Signature Version 2 GET Object example.
func TestS3V2Example(t *testing.T) {
	s, err := New("private", "v2", "", awsAccessKey, awsSecretKey)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := http.NewRequest("GET", "http://awsexamplebucket1.us-west-1.s3.amazonaws.com/photos/puppy.jpg", nil)
	r.Header.Set("Date", "Tue, 27 Mar 2007 19:36:42 +0000")
	toSign := v1StringToSign(r, "x-amz-", s.resource(r))
	if want := "GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/awsexamplebucket1/photos/puppy.jpg"; toSign != want {
		t.Fatalf("string to sign %q, want %q", toSign, want)
	}
	if got, want := hmacSHA1(awsSecretKey, toSign), "qgk2+6Sv9/oM7G3qLEjTH1a1l1g="; got != want {
		t.Fatalf("signature %s, want %s", got, want)
	}
}

// TestSign: what Sign puts on a request, for each scheme: the visitor's
// Authorization replaced, the date headers the scheme signs, and a
// signature that changes with the secret, the path and the time.
func TestSign(t *testing.T) {
	at := time.Date(2026, 12, 7, 1, 2, 3, 0, time.UTC)
	for _, tc := range []struct {
		authType, version, region, url, prefix string
	}{
		{"private", "", "us-east-1", "http://bucket.s3.us-east-1.amazonaws.com/a/b%20c.txt?versionId=7", "AWS4-HMAC-SHA256 Credential=AK/20261207/us-east-1/s3/aws4_request,SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature="},
		{"private", "v2", "", "http://www.example.com/a.txt", "AWS AK:"},
		{"private_cross_account", "", "", "http://bucket.oss-cn-hangzhou.aliyuncs.com/a.txt", "OSS AK:"},
	} {
		sign := func(secret, url string, at time.Time) *http.Request {
			s, err := New(tc.authType, tc.version, tc.region, "AK", secret)
			if err != nil {
				t.Fatal(err)
			}
			r, _ := http.NewRequest("GET", url, nil)
			r.Header.Set("Authorization", "Bearer the-visitor's")
			s.Sign(r, at)
			return r
		}
		r := sign("SK", tc.url, at)
		auth := r.Header.Get("Authorization")
		if !strings.HasPrefix(auth, tc.prefix) || len(r.Header.Values("Authorization")) != 1 {
			t.Fatalf("%s %s: Authorization %q, want it to start %q", tc.authType, tc.version, auth, tc.prefix)
		}
		if tc.prefix[0] == 'A' && tc.prefix[3] == '4' {
			if r.Header.Get("X-Amz-Date") != "20261207T010203Z" || r.Header.Get("X-Amz-Content-Sha256") != "UNSIGNED-PAYLOAD" {
				t.Fatalf("v4 headers: %v", r.Header)
			}
		} else if r.Header.Get("Date") != "Mon, 07 Dec 2026 01:02:03 GMT" {
			t.Fatalf("%s: Date %q", tc.authType, r.Header.Get("Date"))
		}
		for what, other := range map[string]*http.Request{
			"another secret": sign("SK2", tc.url, at),
			"another path":   sign("SK", strings.Replace(tc.url, ".com/a", ".com/z", 1), at),
			"another time":   sign("SK", tc.url, at.Add(time.Second)),
		} {
			if other.Header.Get("Authorization") == auth {
				t.Fatalf("%s %s: the same signature with %s", tc.authType, tc.version, what)
			}
		}
	}
}

// TestOSSResource: OSS signs the bucket and the key, and the
// subresources of the query.
func TestOSSResource(t *testing.T) {
	s, _ := New("private_cross_account", "", "", "AK", "SK")
	r, _ := http.NewRequest("GET", "http://my-bucket.oss-cn-hangzhou.aliyuncs.com/dir/a%20b.jpg?x-oss-process=image/resize,w_100&other=1", nil)
	if got, want := s.resource(r), "/my-bucket/dir/a b.jpg?x-oss-process=image/resize,w_100"; got != want {
		t.Fatalf("resource %q, want %q", got, want)
	}
}

func TestBucket(t *testing.T) {
	for _, tc := range []struct{ host, scheme, want string }{
		{"bucket.s3.amazonaws.com", S3V2, "bucket"},
		{"bucket.s3.us-west-2.amazonaws.com", S3V2, "bucket"},
		{"bucket.s3-us-west-2.amazonaws.com", S3V2, "bucket"},
		{"awsexamplebucket1.us-west-1.s3.amazonaws.com", S3V2, "awsexamplebucket1"},
		{"my.dotted.bucket.s3.amazonaws.com", S3V2, "my.dotted.bucket"},
		{"s3.amazonaws.com", S3V2, ""},
		{"s3-us-west-2.amazonaws.com", S3V2, ""},
		{"s3.us-west-2.amazonaws.com", S3V2, ""},
		{"s3-assets.s3.amazonaws.com", S3V2, "s3-assets"},
		{"s3-assets.s3-us-west-2.amazonaws.com", S3V2, "s3-assets"},
		{"bucket.s3-external-1.amazonaws.com", S3V2, "bucket"},
		{"bucket.s3-fips.us-east-1.amazonaws.com", S3V2, "bucket"},
		{"bucket.s3.dualstack.eu-west-1.amazonaws.com", S3V2, "bucket"},
		{"s3-external-1.amazonaws.com", S3V2, ""},
		{"static.example.com", S3V2, "static.example.com"},
		{"bucket.oss-cn-hangzhou.aliyuncs.com", OSS, "bucket"},
		{"bucket.oss-cn-hangzhou-internal.aliyuncs.com", OSS, "bucket"},
		{"static.example.com", OSS, ""},
		{"oss-cn-hangzhou.aliyuncs.com", OSS, ""},
	} {
		if got := Bucket(tc.host, tc.scheme); got != tc.want {
			t.Errorf("Bucket(%s, %s) = %q, want %q", tc.host, tc.scheme, got, tc.want)
		}
	}
}

func TestNew(t *testing.T) {
	if _, err := New("public", "", "", "AK", "SK"); err != ErrNoSigner {
		t.Fatalf("public: %v", err)
	}
	if _, err := New("private_cross_account", "", "", "", "SK"); err == nil {
		t.Fatal("no access key: no error")
	}
	s, err := New("private", "v4", "eu-west-1", "AKID", "very-secret")
	if err != nil || strings.Contains(s.String(), "very-secret") || s.scheme != S3V4 {
		t.Fatalf("%v, %v", s, err)
	}
}

// TestSignReadsOnly: only GET and HEAD are signed; what the visitor sent
// that a signature would cover (x-amz-*/x-oss-* headers) or that would
// authenticate otherwise (a presigned URL's parameters) is dropped first.
func TestSignReadsOnly(t *testing.T) {
	s, _ := New("private", "v4", "us-east-1", "AK", "SK")
	for _, m := range []string{"PUT", "POST", "DELETE", "PATCH"} {
		r, _ := http.NewRequest(m, "http://bucket.s3.amazonaws.com/a", nil)
		r.Header.Set("Authorization", "visitor")
		r.Header.Set("X-Amz-Copy-Source", "other/key")
		s.Sign(r, time.Now())
		if r.Header.Get("Authorization") != "visitor" || r.Header.Get("X-Amz-Copy-Source") != "other/key" {
			t.Fatalf("%s was signed: %v", m, r.Header)
		}
	}
	r, _ := http.NewRequest("GET", "http://bucket.s3.amazonaws.com/a?X-Amz-Signature=abc&X-Amz-Credential=x&versionId=2&OSSAccessKeyId=k", nil)
	r.Header.Set("X-Amz-Request-Payer", "requester")
	r.Header.Set("x-oss-meta-a", "b")
	s.Sign(r, time.Now())
	if r.Header.Get("X-Amz-Request-Payer") != "" || r.Header.Get("X-Oss-Meta-A") != "" {
		t.Fatalf("the visitor's headers were kept: %v", r.Header)
	}
	if r.URL.RawQuery != "versionId=2" {
		t.Fatalf("query %q, want only versionId=2", r.URL.RawQuery)
	}
	// What stays of the query is sent byte for byte, in its order.
	for raw, want := range map[string]string{
		"acl&Signature=s&Expires=1&AWSAccessKeyId=k":                        "acl",
		"response-content-disposition=a%20b&x-amz-security-token=t&uploads": "response-content-disposition=a%20b&uploads",
		"x-oss-process=image/resize,w_100&x-oss-signature=s&X-OSS-Date=d":   "x-oss-process=image/resize,w_100",
	} {
		r, _ := http.NewRequest("GET", "http://bucket.s3.amazonaws.com/a?"+raw, nil)
		s.Sign(r, time.Now())
		if r.URL.RawQuery != want {
			t.Errorf("query %q sent as %q, want %q", raw, r.URL.RawQuery, want)
		}
	}
	if got := r.Header.Get("Authorization"); !strings.Contains(got, "SignedHeaders=host;x-amz-content-sha256;x-amz-date,") {
		t.Fatalf("Authorization %q", got)
	}
}

// TestCanonicalQuery: sorted by name, then by value (v before v2, a before
// a-b), each escaped as AWS does.
func TestCanonicalQuery(t *testing.T) {
	r, _ := http.NewRequest("GET", "http://b.s3.amazonaws.com/?v2=x&v=1&a-b=1&a=2&a=1&sp=a%20b", nil)
	if got, want := canonicalQuery(r.URL), "a=1&a=2&a-b=1&sp=a%20b&v=1&v2=x"; got != want {
		t.Fatalf("canonical query %q, want %q", got, want)
	}
}

// TestRegion: S3 v4 without a region signs for the one the Host names,
// else us-east-1.
func TestRegion(t *testing.T) {
	for host, want := range map[string]string{
		"bucket.s3.eu-west-1.amazonaws.com": "eu-west-1", "bucket.s3-ap-south-1.amazonaws.com": "ap-south-1",
		"bucket.s3.amazonaws.com": "us-east-1", "static.example.com": "us-east-1",
		"bucket.s3.dualstack.eu-west-1.amazonaws.com": "eu-west-1", "bucket.s3-fips.us-gov-west-1.amazonaws.com": "us-gov-west-1",
	} {
		s, _ := New("private", "", "", "AK", "SK")
		r, _ := http.NewRequest("GET", "http://"+host+"/a", nil)
		s.Sign(r, time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC))
		if got := r.Header.Get("Authorization"); !strings.Contains(got, "/20260102/"+want+"/s3/aws4_request") {
			t.Errorf("%s: %s, want region %s", host, got, want)
		}
	}
}

// TestOSSForBucket: an OSS signer signs for the record's bucket whatever
// Host is sent (the visitor's, for a custom domain bound to the bucket).
func TestOSSForBucket(t *testing.T) {
	s, _ := New("private_cross_account", "", "", "AK", "SK")
	s.ForBucket("my-bucket")
	r, _ := http.NewRequest("GET", "http://img.example.com/a.jpg", nil)
	if got, want := s.resource(r), "/my-bucket/a.jpg"; got != want {
		t.Fatalf("resource %q, want %q", got, want)
	}
}
