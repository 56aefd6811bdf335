package readmetest

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// mode is what the test does with a fenced block.
type mode string

const (
	modeRun   mode = "run"   // run it against a node the test starts
	modeServe mode = "serve" // it starts nodes itself; wait for them, then stop them
	modeSkip  mode = "skip"  // not run, for Reason
)

// block is one fenced code block of a Markdown file.
type block struct {
	Line   int    // the line of its opening fence, from 1
	Lang   string // the fence's info string, first word ("sh", "go", …)
	Body   string // its lines, without the fence's indentation
	Mode   mode   // "" when no marker precedes it
	Reason string // why it is skipped
	// Section is the title of the "## " heading it is under ("" before the
	// first one).
	Section string
}

func (b block) String() string { return fmt.Sprintf("line %d (%s)", b.Line, b.Lang) }

var (
	fenceRe  = regexp.MustCompile("^([ \t]*)(```+|~~~+)[ \t]*([^ \t`]*)")
	markerRe = regexp.MustCompile(`^<!--\s*ci:\s*(.*?)\s*-->$`)
)

// parseMarker reads the text after "ci:".
func parseMarker(s string) (mode, string, error) {
	switch {
	case s == string(modeRun):
		return modeRun, "", nil
	case s == string(modeServe):
		return modeServe, "", nil
	case strings.HasPrefix(s, "skip:") && strings.TrimSpace(strings.TrimPrefix(s, "skip:")) != "":
		return modeSkip, strings.TrimSpace(strings.TrimPrefix(s, "skip:")), nil
	}
	return "", "", fmt.Errorf("unknown marker %q: want \"run\", \"serve\" or \"skip: reason\"", s)
}

// parseBlocks returns the fenced blocks of a Markdown text with their
// markers. A marker is an HTML comment alone on the last non-blank line
// before the opening fence; a marker followed by anything but a fence, and a
// fence that is never closed, are errors.
func parseBlocks(text string) ([]block, error) {
	lines := strings.Split(text, "\n")
	var blocks []block
	var errs []string
	pending, pendingLine := "", 0 // a marker waiting for its block
	section := ""
	for i := 0; i < len(lines); i++ {
		trimmed := strings.TrimSpace(lines[i])
		if title, ok := strings.CutPrefix(lines[i], "## "); ok {
			section = strings.TrimSpace(title)
		}
		if m := markerRe.FindStringSubmatch(trimmed); m != nil {
			if pending != "" {
				errs = append(errs, fmt.Sprintf("line %d: a ci marker with no code block after it", pendingLine))
			}
			pending, pendingLine = m[1], i+1
			continue
		}
		m := fenceRe.FindStringSubmatch(lines[i])
		if m == nil {
			if trimmed != "" && pending != "" {
				errs = append(errs, fmt.Sprintf("line %d: a ci marker with no code block after it", pendingLine))
				pending = ""
			}
			continue
		}
		indent, fence := m[1], m[2]
		b := block{Line: i + 1, Lang: m[3], Section: section}
		if pending != "" {
			md, reason, err := parseMarker(pending)
			if err != nil {
				errs = append(errs, fmt.Sprintf("line %d: %v", pendingLine, err))
			}
			b.Mode, b.Reason = md, reason
			pending = ""
		}
		var body []string
		closed := false
		for i++; i < len(lines); i++ {
			if t := strings.TrimSpace(lines[i]); strings.HasPrefix(t, fence) && strings.Trim(t, fence[:1]) == "" {
				closed = true
				break
			}
			body = append(body, strings.TrimPrefix(lines[i], indent))
		}
		if !closed {
			errs = append(errs, fmt.Sprintf("line %d: a code block that is never closed", b.Line))
		}
		b.Body = strings.Join(body, "\n") + "\n"
		blocks = append(blocks, b)
	}
	if pending != "" {
		errs = append(errs, fmt.Sprintf("line %d: a ci marker with no code block after it", pendingLine))
	}
	if len(errs) > 0 {
		return blocks, fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return blocks, nil
}

// repoRoot is the directory of the module's go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

func TestParseBlocks(t *testing.T) {
	text := "intro\n\n<!-- ci: run -->\n```sh\necho hi\n```\n\n## Part\n\n" +
		"- item:\n\n  <!-- ci: skip: needs a tool -->\n  ```go\n  x := 1\n  ```\n\n" +
		"```\nlayout, no language\n```\n" +
		"````md\n```sh\nnested\n```\n````\n"
	got, err := parseBlocks(text)
	if err != nil {
		t.Fatal(err)
	}
	want := []block{
		{Line: 4, Lang: "sh", Body: "echo hi\n", Mode: modeRun},
		{Line: 13, Lang: "go", Body: "x := 1\n", Mode: modeSkip, Reason: "needs a tool", Section: "Part"},
		{Line: 17, Lang: "", Body: "layout, no language\n", Section: "Part"},
		{Line: 20, Lang: "md", Body: "```sh\nnested\n```\n", Section: "Part"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || len(got) != len(want) {
		t.Fatalf("blocks = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("block %d = %+v, want %+v", i, got[i], want[i])
		}
	}

	for _, bad := range []string{
		"<!-- ci: run -->\ntext\n```sh\nx\n```\n",  // the marker is not before the block
		"<!-- ci: skip -->\n```sh\nx\n```\n",       // a skip without its reason
		"<!-- ci: sometimes -->\n```sh\nx\n```\n",  // an unknown marker
		"<!-- ci: run -->\n```sh\nx\n",             // never closed
		"```sh\nx\n```\n<!-- ci: run -->\n\nend\n", // a marker at the end
	} {
		if _, err := parseBlocks(bad); err == nil {
			t.Errorf("parseBlocks(%q) accepted it", bad)
		}
	}
}
