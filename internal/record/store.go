package record

import (
	"context"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/site"
)

// SiteStore is what the record use cases need of sites: the site a
// request names.
type SiteStore interface {
	Site(ctx context.Context, id int64) (site.Site, error)
}

// Store is what the record use cases need from storage. Methods are safe
// for concurrent use and return domain sentinels.
type Store interface {
	// CreateRecord inserts r. In one transaction it checks that the site
	// exists (else ErrSiteNotFound) and that no record of the site has the
	// same name, type and Data (ErrRecordDuplicate) or a name and a type
	// that ConflictingTypes excludes (ErrRecordTypeConflict). A clash on
	// r.ID is ErrExists, so the caller can draw another id.
	CreateRecord(ctx context.Context, r Record) error
	// Record returns the record with that id, or ErrRecordNotFound.
	Record(ctx context.Context, id int64) (Record, error)
	// ListRecords returns one page of the records that match f, ordered by
	// name, then creation time, then id, and how many match in all.
	ListRecords(ctx context.Context, f RecordFilter) ([]Record, int, error)
	// UpdateRecord overwrites the record with r.ID, keeping its site, name
	// and creation time; ErrRecordNotFound when there is none, and the
	// conflict errors of CreateRecord (the record itself excepted).
	UpdateRecord(ctx context.Context, r Record) error
	// DeleteRecord removes the record with that id, or returns ErrRecordNotFound.
	DeleteRecord(ctx context.Context, id int64) error
}

// RecordFilter selects records of one site. Zero fields select everything.
type RecordFilter struct {
	SiteID    int64
	Name      string // compared as NameMatch says; lowercase
	NameMatch string // exact (default), prefix, suffix or fuzzy
	Type      string // a canonical record type
	Proxied   *bool
	// SourceType selects CNAME records with that origin type (canonical);
	// SourceDomain also selects CNAME records without one.
	SourceType string
	// BizNames selects records whose BizName is one of them.
	BizNames []string
	Page     domain.Page
}
