package domain

import (
	"errors"
	"fmt"
	"strings"
)

// Tag is a tag of a resource (RAM policies and roles).
type Tag struct {
	Key   string
	Value string
}

// MaxTags is how many tags a resource holds at most.
const MaxTags = 20

// CheckTags checks tags as a request sends them (param names the
// parameter): at most MaxTags, keys 1 to 128 characters not starting with
// acs: or aliyun, values at most 128, no key twice.
func CheckTags(param string, tags []Tag) error {
	if len(tags) > MaxTags {
		return Invalid(param, fmt.Sprintf("holds more than %d tags", MaxTags))
	}
	seen := map[string]bool{}
	for _, t := range tags {
		if err := CheckLength(param, t.Key, 128); err != nil || t.Key == "" {
			return Invalid(param, "a tag key must be 1 to 128 characters")
		}
		if strings.HasPrefix(t.Key, "acs:") || strings.HasPrefix(t.Key, "aliyun") {
			return Invalid(param, "a tag key may not start with acs: or aliyun")
		}
		if err := CheckLength(param, t.Value, 128); err != nil {
			return Invalid(param, "a tag value must be at most 128 characters")
		}
		if seen[t.Key] {
			return Invalid(param, "names a tag key twice")
		}
		seen[t.Key] = true
	}
	return nil
}

// ErrTagLimit: a resource would have more than MaxTags tags.
var ErrTagLimit = errors.New("too many tags")
