package api

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/esacert/esacert/internal/domain"
)

// RAMVersion is the version of Alibaba Cloud RAM's OpenAPI (users, access
// keys, groups, policies, roles) that esacert answers on the same endpoint.
const RAMVersion = "2015-05-01"

// marker reads a RAM list's Marker and MaxItems.
func (p *params) marker(defaultItems, maxItems int) (domain.Marker, error) {
	n, err := p.int64("MaxItems")
	if err != nil {
		return domain.Marker{}, err
	}
	return domain.MarkerPaging(p.str("Marker"), n, defaultItems, maxItems)
}

// optional returns a pointer to the parameter's value when it was sent
// (even empty: RAM's updates clear a field sent empty), nil otherwise.
func (p *params) optional(name string) *string {
	if !p.has(name) {
		return nil
	}
	v := p.str(name)
	return &v
}

// tags reads tags sent as Tag, a JSON list of {"Key","Value"} (the SDKs,
// Terraform), or flattened as Tag.1.Key, Tag.1.Value, … (older clients).
func (p *params) tags() ([]domain.Tag, error) {
	if raw := strings.TrimSpace(p.str("Tag")); raw != "" {
		var list []struct {
			Key   *string
			Value *string
		}
		if err := json.Unmarshal([]byte(raw), &list); err != nil {
			return nil, domain.Invalid("Tag", `must be a JSON list such as [{"Key":"k","Value":"v"}]`)
		}
		var out []domain.Tag
		for _, t := range list {
			if t.Key == nil {
				return nil, domain.Invalid("Tag", "every tag needs a Key")
			}
			tag := domain.Tag{Key: *t.Key}
			if t.Value != nil {
				tag.Value = *t.Value
			}
			out = append(out, tag)
		}
		return out, nil
	}
	var out []domain.Tag
	for i := 1; p.has("Tag." + strconv.Itoa(i) + ".Key"); i++ {
		n := strconv.Itoa(i)
		out = append(out, domain.Tag{Key: p.str("Tag." + n + ".Key"), Value: p.str("Tag." + n + ".Value")})
	}
	return out, nil
}

// stringList reads a list of strings sent as name, a JSON list (the SDKs,
// Terraform), or flattened as flat.1, flat.2, … ("" for none).
func (p *params) stringList(name, flat string) ([]string, error) {
	if raw := strings.TrimSpace(p.str(name)); raw != "" {
		var list []string
		if err := json.Unmarshal([]byte(raw), &list); err != nil {
			return nil, domain.Invalid(name, `must be a JSON list of strings such as ["a","b"]`)
		}
		return list, nil
	}
	var out []string
	for i := 1; flat != "" && p.has(flat+"."+strconv.Itoa(i)); i++ {
		out = append(out, p.str(flat+"."+strconv.Itoa(i)))
	}
	return out, nil
}

// ramTagJSON is a tag as RAM's lists of policies and roles show it.
type ramTagJSON struct {
	TagKey   string
	TagValue string
}

type ramTagsJSON struct {
	Tag []ramTagJSON
}

func ramTags(tags []domain.Tag) ramTagsJSON {
	out := ramTagsJSON{Tag: []ramTagJSON{}}
	for _, t := range tags {
		out.Tag = append(out.Tag, ramTagJSON{t.Key, t.Value})
	}
	return out
}

// truncated is the head of a RAM list that pages by marker: Marker only
// when IsTruncated.
type truncated struct {
	IsTruncated bool
	Marker      string `json:",omitempty"`
}

func page(next string) truncated { return truncated{IsTruncated: next != "", Marker: next} }
