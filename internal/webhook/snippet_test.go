package webhook

import (
	"strings"
	"testing"
)

// TestSnippetScrubsBeforeCutting: a receiver that quotes the URL's token
// near the 200-character cut leaves no part of it in the error.
func TestSnippetScrubsBeforeCutting(t *testing.T) {
	const token = "0123456789abcdef0123456789abcdef"
	s, err := New(TypeWeCom, "https://qyapi.example/cgi-bin/webhook/send?key="+token, "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	for pad := 180; pad < 200; pad++ {
		got := s.snippet([]byte(strings.Repeat("x", pad) + " " + token))
		if strings.Contains(got, token[:8]) {
			t.Fatalf("pad %d: the snippet holds part of the token: %q", pad, got)
		}
	}
}
