package domain

import "fmt"

// Page is a window of a result: Offset rows skipped, at most Limit returned.
type Page struct {
	Offset int
	Limit  int
}

// Paging turns a 1-based page number and a page size (0 for either means the
// default) into a Page, checking both.
func Paging(number, size int64, defaultSize, maxSize int) (Page, error) {
	if number == 0 {
		number = 1
	}
	if number < 1 || number > 1_000_000 {
		return Page{}, Invalid("PageNumber", "must be 1 or more")
	}
	if size == 0 {
		size = int64(defaultSize)
	}
	if size < 1 || size > int64(maxSize) {
		return Page{}, Invalid("PageSize", fmt.Sprintf("must be between 1 and %d", maxSize))
	}
	return Page{Offset: int((number - 1) * size), Limit: int(size)}, nil
}

// Search modes of a name filter: sites and records are listed by a name
// compared in one of these ways.
const (
	MatchExact  = "exact"
	MatchPrefix = "prefix"
	MatchSuffix = "suffix"
	MatchFuzzy  = "fuzzy"
)
