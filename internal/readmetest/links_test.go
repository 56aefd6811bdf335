package readmetest

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

var (
	// inlineLinkRe matches [text](target) and ![alt](target), the target
	// without its optional "title".
	inlineLinkRe = regexp.MustCompile(`\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)`)
	// refLinkRe matches a reference definition: [name]: target
	refLinkRe = regexp.MustCompile(`(?m)^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)`)
	// autoLinkRe matches <target> autolinks that are not HTML tags or comments.
	autoLinkRe = regexp.MustCompile(`<([a-zA-Z][a-zA-Z0-9+.-]*:[^>\s]+)>`)
	codeSpanRe = regexp.MustCompile("`+[^`]*`+")
	headingRe  = regexp.MustCompile(`^#{1,6}\s+(.*?)\s*#*\s*$`)
)

// forbidden are texts no document may hold: the project's notes outside
// the repository are not there for a reader of a clone.
var forbidden = []string{"../shared", "shared/spec", "shared/design"}

// prose returns the lines of a Markdown text with its fenced blocks blanked
// (so line numbers stay) and, unless keepCode, its code spans emptied.
func prose(text string, keepCode bool) []string {
	lines := strings.Split(text, "\n")
	fence := ""
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if fence != "" {
			if strings.HasPrefix(t, fence) && strings.Trim(t, fence[:1]) == "" {
				fence = ""
			}
			lines[i] = ""
			continue
		}
		if m := fenceRe.FindStringSubmatch(l); m != nil {
			fence = m[2]
			lines[i] = ""
			continue
		}
		if !keepCode {
			lines[i] = codeSpanRe.ReplaceAllString(l, "``")
		}
	}
	return lines
}

// slug is the anchor GitHub gives a heading: lower case, punctuation
// dropped, spaces as hyphens.
func slug(heading string) string {
	heading = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`).ReplaceAllString(heading, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}

// anchors lists the anchors of a Markdown file's headings.
func anchors(text string) map[string]bool {
	seen := map[string]int{}
	out := map[string]bool{}
	for _, l := range prose(text, true) {
		m := headingRe.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		s := slug(m[1])
		a := s
		if n := seen[s]; n > 0 {
			a = s + "-" + strconv.Itoa(n)
		}
		seen[s]++
		out[a] = true
	}
	return out
}

// links returns the link targets of a Markdown text with their lines.
func links(text string) map[int][]string {
	out := map[int][]string{}
	for i, l := range prose(text, false) {
		for _, re := range []*regexp.Regexp{inlineLinkRe, refLinkRe, autoLinkRe} {
			for _, m := range re.FindAllStringSubmatch(l, -1) {
				out[i+1] = append(out[i+1], m[1])
			}
		}
	}
	return out
}

// external reports whether a link target leaves the repository: a URL, a
// mail address, or one of Alibaba Cloud's documentation placeholders
// (~~ListSites~~) quoted from the SDKs' models in the wire notes.
func external(target string) bool {
	if strings.HasPrefix(target, "~~") && strings.HasSuffix(target, "~~") {
		return true
	}
	scheme, _, ok := strings.Cut(target, ":")
	return ok && regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*$`).MatchString(scheme)
}

// TestLinks follows every relative link of README.md and docs/*.md: its
// file must be in the repository, and its #anchor a heading of that file.
// No document may point at the project's notes outside the repository.
func TestLinks(t *testing.T) {
	root := repoRoot(t)
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files := append([]string{filepath.Join(root, "README.md")}, docs...)
	if len(docs) == 0 {
		t.Fatal("docs/ holds no document")
	}
	readme, _ := os.ReadFile(files[0])
	if !strings.Contains(string(readme), "](docs/") {
		t.Error("README.md links to nothing in docs/")
	}
	for _, file := range files {
		rel, _ := filepath.Rel(root, file)
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		text := string(data)
		for i, l := range strings.Split(text, "\n") {
			for _, f := range forbidden {
				if strings.Contains(l, f) {
					t.Errorf("%s:%d names %q, which is outside the repository: put what it needs in docs/", rel, i+1, f)
				}
			}
		}
		for line, targets := range links(text) {
			for _, target := range targets {
				if target == "" || external(target) {
					continue
				}
				path, frag, _ := strings.Cut(target, "#")
				dest := file
				if path != "" {
					dest = filepath.Join(filepath.Dir(file), filepath.FromSlash(path))
					if r, err := filepath.Rel(root, dest); err != nil || strings.HasPrefix(r, "..") {
						t.Errorf("%s:%d links to %s, outside the repository", rel, line, target)
						continue
					}
					if _, err := os.Stat(dest); err != nil {
						t.Errorf("%s:%d links to %s, which is not in the repository", rel, line, target)
						continue
					}
				}
				if frag == "" || !strings.HasSuffix(dest, ".md") {
					continue
				}
				destText, err := os.ReadFile(dest)
				if err != nil {
					t.Errorf("%s:%d links to %s: %v", rel, line, target, err)
					continue
				}
				if !anchors(string(destText))[frag] {
					t.Errorf("%s:%d links to %s, but no heading there has the anchor #%s", rel, line, target, frag)
				}
			}
		}
	}
}

func TestLinkParsing(t *testing.T) {
	text := "See [the doc](docs/a.md#part-one) and ![pic](img/x.png \"title\").\n" +
		"`[not](a-link.md)` and <https://example.com/> and <!-- comment -->\n" +
		"```sh\n[inside](fence.md)\n```\n" +
		"[ref]: docs/b.md\n" +
		"## Part one: the `code`, and (more)\n## Part one: the `code`, and (more)\n"
	got := links(text)
	want := map[int][]string{1: {"docs/a.md#part-one", "img/x.png"}, 2: {"https://example.com/"}, 6: {"docs/b.md"}}
	if len(got) != len(want) {
		t.Fatalf("links = %v, want %v", got, want)
	}
	for line, w := range want {
		if strings.Join(got[line], " ") != strings.Join(w, " ") {
			t.Errorf("line %d: links %q, want %q", line, got[line], w)
		}
	}
	a := anchors(text)
	if !a["part-one-the-code-and-more"] || !a["part-one-the-code-and-more-1"] || len(a) != 2 {
		t.Errorf("anchors = %v", a)
	}
	for target, want := range map[string]bool{"https://x.y/": true, "mailto:a@b.c": true, "~~ListSites~~": true,
		"docs/a.md": false, "../shared/spec/x.md": false, "#anchor": false} {
		if external(target) != want {
			t.Errorf("external(%q) = %v, want %v", target, !want, want)
		}
	}
}
