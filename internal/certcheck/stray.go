package certcheck

import (
	"fmt"
	"strings"
)

// minStrayRun is the shortest run of base64 characters outside PEM blocks
// that counts as encoded data rather than prose.
const minStrayRun = 40

// checkStray returns ErrStrayData when text outside its PEM blocks holds a
// long run of base64 characters: an unarmoured key or certificate pasted
// beside the blocks. Certificate text is stored and shown back as sent, so
// nothing that may be key material is allowed to ride along.
func checkStray(text string) error {
	rest := text
	var outside strings.Builder
	for {
		i := strings.Index(rest, "-----BEGIN")
		if i < 0 {
			outside.WriteString(rest)
			break
		}
		outside.WriteString(rest[:i])
		j := strings.Index(rest[i:], "-----END")
		if j < 0 {
			break // the parser reports the broken block
		}
		end := i + j + len("-----END")
		if k := strings.Index(rest[end:], "-----"); k >= 0 {
			end += k + len("-----")
		} else {
			end = len(rest)
		}
		outside.WriteByte('\n')
		rest = rest[end:]
	}
	run := 0
	for _, r := range outside.String() {
		if r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '+' || r == '/' || r == '=' {
			run++
			if run >= minStrayRun {
				return fmt.Errorf("%w: text outside the PEM blocks looks like encoded data", ErrStrayData)
			}
			continue
		}
		run = 0
	}
	return nil
}
