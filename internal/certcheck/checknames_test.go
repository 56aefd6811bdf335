package certcheck

import (
	"crypto/x509"
	"errors"
	"testing"
)

func TestCheckNames(t *testing.T) {
	tests := []struct {
		name  string
		names []string
		want  error
	}{
		{"ok/plain", []string{"www.example.com", "example.com"}, nil},
		{"ok/wildcard_and_trailing_dot", []string{"*.example.com", "Example.COM."}, nil},
		{"ok/underscore", []string{"_acme.example.com"}, nil},
		{"fail/comma", []string{"victim.com,www.example.com"}, ErrBadName},
		{"fail/space", []string{"www example.com"}, ErrBadName},
		{"fail/partial_wildcard", []string{"a*.example.com"}, ErrBadName},
		{"fail/double_wildcard", []string{"*.*.example.com"}, ErrBadName},
		{"fail/empty_label", []string{"www..example.com"}, ErrBadName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckNames(&x509.Certificate{DNSNames: tt.names})
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("CheckNames(%q) = %v, want %v", tt.names, err, tt.want)
			}
		})
	}
	if err := CheckNames(nil); !errors.Is(err, ErrNoCertificate) {
		t.Errorf("CheckNames(nil) = %v", err)
	}
}

func TestCheckStray(t *testing.T) {
	block := "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
	tests := []struct {
		name, text string
		want       error
	}{
		{"ok/prose_around", "Issued to: www.example.com (expires 2027-01-01)\n" + block + "thanks!\n", nil},
		{"ok/openssl_text_dump", "Modulus:\n    00:c3:9a:7f:11:42:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66\n" + block, nil},
		{"fail/unarmoured_base64", block + "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n", ErrStrayData},
		{"fail/between_blocks", block + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xt\n" + block, ErrStrayData},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := checkStray(tt.text); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("checkStray = %v, want %v", err, tt.want)
			}
		})
	}
}
