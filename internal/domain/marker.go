package domain

import (
	"encoding/base64"
	"fmt"
)

// Marker is a window of a list paged by marker, as RAM pages its lists: the
// rows after the key After (in the list's order), at most Limit of them.
type Marker struct {
	After string
	Limit int
}

// MarkerPaging turns a request's Marker (opaque, "" for the first page)
// and MaxItems (0 means the default) into a Marker, checking both.
func MarkerPaging(marker string, maxItems int64, defaultItems, maxAllowed int) (Marker, error) {
	if maxItems == 0 {
		maxItems = int64(defaultItems)
	}
	if maxItems < 1 || maxItems > int64(maxAllowed) {
		return Marker{}, Invalid("MaxItems", fmt.Sprintf("must be between 1 and %d", maxAllowed))
	}
	m := Marker{Limit: int(maxItems)}
	if marker != "" {
		b, err := base64.RawURLEncoding.DecodeString(marker)
		if err != nil || len(b) == 0 {
			return Marker{}, Invalid("Marker", "is not a marker a list answered")
		}
		m.After = string(b)
	}
	return m, nil
}

// NextMarker is the Marker a truncated list answers: the opaque form of the
// key of its last row.
func NextMarker(last string) string { return base64.RawURLEncoding.EncodeToString([]byte(last)) }

// MarkerPage cuts list, read with one row more than m.Limit (as the stores
// read it), to one page, and returns the marker of the next page ("" on
// the last), made from key of the page's last row.
func MarkerPage[T any](list []T, m Marker, key func(T) string) ([]T, string) {
	if len(list) <= m.Limit {
		return list, ""
	}
	list = list[:m.Limit]
	return list, NextMarker(key(list[len(list)-1]))
}
