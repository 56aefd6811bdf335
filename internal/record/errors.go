package record

import (
	"errors"
	"fmt"
)

// Sentinel errors of DNS records. Callers match them with errors.Is; the API
// layer maps each to a Code and an HTTP status in its one error table.
var (
	// ErrRecordNotFound: no DNS record with that id.
	ErrRecordNotFound = errors.New("record not found")
	// ErrRecordConflict: the record clashes with another record of the
	// site. The two errors below are the specific clashes; both match it.
	ErrRecordConflict = errors.New("record conflicts with another record of the site")
	// ErrRecordDuplicate: a record with the same name, type and Data exists.
	ErrRecordDuplicate = fmt.Errorf("%w: same name, type and value", ErrRecordConflict)
	// ErrRecordTypeConflict: the name holds a record whose type excludes
	// this one (A/AAAA and CNAME; a second CNAME), see ConflictingTypes.
	ErrRecordTypeConflict = fmt.Errorf("%w: the name holds a record of a conflicting type", ErrRecordConflict)
)
