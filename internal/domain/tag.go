package domain

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
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
// acs: or aliyun, values at most 128, no key twice, and keys and values
// UTF-8 text without control characters (tagText).
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
		if !tagText(t.Key) || !tagText(t.Value) {
			return Invalid(param, "tag keys and values must be UTF-8 text without control characters")
		}
		if seen[t.Key] {
			return Invalid(param, "names a tag key twice")
		}
		seen[t.Key] = true
	}
	return nil
}

// CheckTagKeys checks the tag keys an untag request names (param names the
// parameter): each UTF-8 text without control characters, as CheckTags
// wants keys. A key no resource can have is refused rather than looked
// for, so that no store is asked for text it cannot hold (a NUL).
func CheckTagKeys(param string, keys []string) error {
	for _, k := range keys {
		if !tagText(k) {
			return Invalid(param, "tag keys must be UTF-8 text without control characters")
		}
	}
	return nil
}

// tagText reports whether s is UTF-8 without control characters (C0, DEL
// and C1, NUL among them): the text a tag may hold.
func tagText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	return !strings.ContainsFunc(s, unicode.IsControl)
}

// ErrTagLimit: a resource would have more than MaxTags tags.
var ErrTagLimit = errors.New("too many tags")

// TagStore keeps the tags of resources of a kind ("policy", "role"), named
// as the resources are.
type TagStore interface {
	// Tags returns the tags of each named resource that has any.
	Tags(ctx context.Context, kind string, names []string) (map[string][]Tag, error)
	// TagResources adds or overwrites tags of each named resource, all in
	// one transaction: nothing is kept when one of them does not exist
	// (its kind's not-found error) or would then have more than max tags
	// (ErrTagLimit).
	TagResources(ctx context.Context, kind string, names []string, tags []Tag, max int) error
	// UntagResources removes the tags with those keys (every tag when all)
	// from each named resource, all in one transaction: nothing is removed
	// when one of them does not exist (its kind's not-found error).
	UntagResources(ctx context.Context, kind string, names, keys []string, all bool) error
}

// MaxTagged is how many resources one tag request names at most.
const MaxTagged = 50

// Tagging is the tag use cases of one kind of resource, as RAM's
// ListTagResources, TagResources and UntagResources have them. Exists
// checks that a named resource exists (its kind's not-found error else).
type Tagging struct {
	Kind   string
	Store  TagStore
	Exists func(ctx context.Context, name string) error
}

// ResourceTags returns the tags of the named resources (each must exist).
func (t Tagging) ResourceTags(ctx context.Context, names []string) (map[string][]Tag, error) {
	if err := t.exist(ctx, names); err != nil {
		return nil, err
	}
	return t.Store.Tags(ctx, t.Kind, names)
}

// Tag adds or overwrites tags of the named resources: of all of them, or
// of none when one would have more than MaxTags.
func (t Tagging) Tag(ctx context.Context, names []string, tags []Tag) error {
	if len(tags) == 0 {
		return Missing("Tag")
	}
	if err := CheckTags("Tag", tags); err != nil {
		return err
	}
	if err := t.exist(ctx, names); err != nil {
		return err
	}
	return t.Store.TagResources(ctx, t.Kind, names, tags, MaxTags)
}

// Untag removes the tags with those keys (all of them when all) from the
// named resources, all of them at once.
func (t Tagging) Untag(ctx context.Context, names, keys []string, all bool) error {
	if err := CheckTagKeys("TagKeys", keys); err != nil {
		return err
	}
	if err := t.exist(ctx, names); err != nil {
		return err
	}
	return t.Store.UntagResources(ctx, t.Kind, names, keys, all)
}

func (t Tagging) exist(ctx context.Context, names []string) error {
	if len(names) == 0 {
		return Missing("ResourceNames")
	}
	if len(names) > MaxTagged {
		return Invalid("ResourceNames", fmt.Sprintf("names at most %d resources", MaxTagged))
	}
	for _, n := range names {
		if err := t.Exists(ctx, n); err != nil {
			return err
		}
	}
	return nil
}
