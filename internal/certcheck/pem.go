package certcheck

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// block is one PEM block of pasted text.
type block struct {
	Type    string            // the label, inner spaces collapsed to one
	Headers map[string]string // RFC 1421 headers such as Proc-Type; nil when none
	Bytes   []byte            // the decoded body
}

const (
	beginMarker = "-----BEGIN"
	endMarker   = "-----END"
	dashes      = "-----"
)

// scanPEM returns the PEM blocks of text in order; nil when there is none.
//
// It is written for text pasted from web pages and mail, so it accepts CR,
// LF and CRLF line ends, blank lines, indentation and other (Unicode) white
// space, free text before, between and after blocks, and a block whose line
// breaks were lost. Any "-----BEGIN" or "-----END" that is not part of a
// well-formed block is an error. The error text names the block by number and
// label only, never its content; callers wrap it with their sentinel.
//
// scanPEM runs in time linear in the length of text.
func scanPEM(text string) ([]block, error) {
	s := strings.ReplaceAll(text, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	var blocks []block
	for n := 1; ; n++ {
		i := strings.Index(s, beginMarker)
		free := s
		if i >= 0 {
			free = s[:i]
		}
		if strings.Contains(free, endMarker) {
			return nil, fmt.Errorf("PEM block %d: END line without a BEGIN line", n)
		}
		if i < 0 {
			return blocks, nil
		}
		b, rest, err := decodeBlock(s[i+len(beginMarker):])
		if err != nil {
			return nil, fmt.Errorf("PEM block %d: %w", n, err)
		}
		blocks = append(blocks, b)
		s = rest
	}
}

// decodeBlock decodes the block whose BEGIN marker ends where s starts and
// returns the text after its END line.
func decodeBlock(s string) (block, string, error) {
	label, s, err := markerLabel(s)
	if err != nil {
		return block{}, "", fmt.Errorf("BEGIN line: %w", err)
	}
	j := strings.Index(s, endMarker)
	if j < 0 {
		return block{}, "", fmt.Errorf("%s: no END line", quoteLabel(label))
	}
	body := s[:j]
	if strings.Contains(body, beginMarker) {
		return block{}, "", fmt.Errorf("%s: BEGIN line before its END line", quoteLabel(label))
	}
	endLabel, rest, err := markerLabel(s[j+len(endMarker):])
	if err != nil {
		return block{}, "", fmt.Errorf("%s: END line: %w", quoteLabel(label), err)
	}
	if endLabel != label {
		return block{}, "", fmt.Errorf("BEGIN label %s and END label %s differ", quoteLabel(label), quoteLabel(endLabel))
	}
	headers, data, err := decodeBody(body)
	if err != nil {
		return block{}, "", fmt.Errorf("%s: %w", quoteLabel(label), err)
	}
	return block{Type: label, Headers: headers, Bytes: data}, rest, nil
}

// markerLabel reads the " LABEL-----" that follows "-----BEGIN" or "-----END"
// at the start of s, and returns the label with its spaces collapsed.
func markerLabel(s string) (label, rest string, err error) {
	k := strings.Index(s, dashes)
	if k < 0 || strings.Contains(s[:k], "\n") {
		return "", "", errors.New("no closing dashes")
	}
	raw := s[:k]
	if r, _ := utf8.DecodeRuneInString(raw); !unicode.IsSpace(r) {
		return "", "", errors.New("no space before the label")
	}
	label = strings.Join(strings.Fields(raw), " ")
	if label == "" {
		return "", "", errors.New("no label")
	}
	return label, s[k+len(dashes):], nil
}

// decodeBody splits a block body into its leading "Key: value" header lines
// and its base64 content, ignoring all white space in the latter. The base64
// must be padded.
func decodeBody(body string) (map[string]string, []byte, error) {
	lines := strings.Split(body, "\n")
	var headers map[string]string
	i := 0
	for ; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		if line == "" {
			continue
		}
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			break
		}
		if headers == nil {
			headers = make(map[string]string)
		}
		headers[strings.TrimSpace(key)] = strings.TrimSpace(val)
	}
	b64 := strings.Join(strings.Fields(strings.Join(lines[i:], "\n")), "")
	data, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, nil, errors.New("body is not valid base64")
	}
	return headers, data, nil
}

// quoteLabel quotes a PEM label for an error message, cut to a sane length
// since it comes from the user.
func quoteLabel(label string) string {
	const max = 40
	if len(label) > max {
		label = label[:max] + "…"
	}
	return strconv.Quote(label)
}
