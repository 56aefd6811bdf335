package cert

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/esacert/esacert/internal/certcheck"
	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/site"
)

// Regions of the certificate repository.
var Regions = []string{"cn-hangzhou", "ap-southeast-1"}

// DefaultRegion is the repository region when a request names none.
const DefaultRegion = "cn-hangzhou"

// RepoCert is a certificate in the certificate repository (Alibaba Cloud's
// SSL Certificates Service, "cas"), which SetCertificate Type=cas copies from.
type RepoCert struct {
	ID              int64  // CertId / CasId
	Name            string // unique in the repository
	Region          string
	ResourceGroupID string
	CertPEM         string // exactly as uploaded
	KeyPEM          string // exactly as uploaded; only set by RepoService.Get, never stored in plain
	SealedKey       []byte
	Info            certcheck.Info
	Created         time.Time
}

// ResourceID is the repository's resource id of an uploaded certificate.
func (r RepoCert) ResourceID() string { return "cas-upload-" + strings.ToLower(itoa36(r.ID)) }

func itoa36(n int64) string {
	const digits = "0123456789abcdefghijklmnopqrstuvwxyz"
	if n == 0 {
		return "0"
	}
	var b []byte
	for n > 0 {
		b = append([]byte{digits[n%36]}, b...)
		n /= 36
	}
	return string(b)
}

// RepoStore is what the repository use cases need from storage.
type RepoStore interface {
	// CreateRepoCert inserts r; a name in use is ErrRepoNameExists, an id in use ErrExists.
	CreateRepoCert(ctx context.Context, r RepoCert) error
	// RepoCert returns the repository certificate with that id, or ErrRepoCertNotFound.
	RepoCert(ctx context.Context, id int64) (RepoCert, error)
	// ListRepoCerts returns one page of repository certificates matching f, newest first.
	ListRepoCerts(ctx context.Context, f RepoFilter) ([]RepoCert, int, error)
	// DeleteRepoCert removes one, or returns ErrRepoCertNotFound.
	DeleteRepoCert(ctx context.Context, id int64) error
}

// RepoFilter selects repository certificates.
type RepoFilter struct {
	Keyword       string    // case-insensitive substring of the name, common name, a SAN or the id
	ValidAt       time.Time // when set, only certificates not expired at that time
	ExpiresBefore time.Time // when set, only certificates whose NotAfter is before it
	ExpiredAt     time.Time // when set, only certificates expired at that time
	Page          domain.Page
}

// UploadInput is what UploadRepoCert takes (UploadUserCertificate).
type UploadInput struct {
	Name            string
	CertPEM         string
	KeyPEM          string
	Region          string // default cn-hangzhou
	ResourceGroupID string
}

// MaxRepoName is the longest repository certificate name.
const MaxRepoName = 128

// UploadRepoCert checks and stores a certificate in the repository.
func (s *Service) UploadRepoCert(ctx context.Context, in UploadInput) (RepoCert, error) {
	if in.Name == "" {
		return RepoCert{}, domain.Missing("Name")
	}
	if utf8.RuneCountInString(in.Name) > MaxRepoName {
		return RepoCert{}, domain.Invalid("Name", fmt.Sprintf("is at most %d characters long", MaxRepoName))
	}
	if strings.TrimSpace(in.CertPEM) == "" {
		return RepoCert{}, domain.Missing("Cert")
	}
	if strings.TrimSpace(in.KeyPEM) == "" {
		return RepoCert{}, domain.Missing("Key")
	}
	// The repository has two homes: ap-southeast-1 for international
	// accounts, cn-hangzhou for every other region a client names.
	if in.Region != "ap-southeast-1" {
		in.Region = DefaultRegion
	}
	if len(in.ResourceGroupID) > site.MaxResourceGroupID {
		return RepoCert{}, domain.Invalid("ResourceGroupId", fmt.Sprintf("is at most %d characters long", site.MaxResourceGroupID))
	}
	// The repository keeps certificates whatever their dates; validity is
	// checked when a site takes one.
	parsed, err := parseIgnoringDates(in.CertPEM, in.KeyPEM)
	if err != nil {
		return RepoCert{}, err
	}
	r := RepoCert{Name: in.Name, Region: in.Region, ResourceGroupID: in.ResourceGroupID,
		CertPEM: in.CertPEM, Info: parsed.Info, Created: s.now()}
	for attempt := 0; ; attempt++ {
		r.ID = s.repoID()
		if r.SealedKey, err = s.Sealer.Seal([]byte(in.KeyPEM), repoAAD(r.ID)); err != nil {
			return RepoCert{}, err
		}
		err = s.Repo.CreateRepoCert(ctx, r)
		if errors.Is(err, domain.ErrExists) && attempt < 5 {
			continue
		}
		break
	}
	if err != nil {
		return RepoCert{}, err
	}
	return r, nil
}

// repoID draws an 8-digit repository id, the shape of CAS ids.
func (s *Service) repoID() int64 { return 10_000_000 + s.siteID()%90_000_000 }

// RepoCert returns a repository certificate; withKey also unseals its key
// into KeyPEM.
func (s *Service) RepoCert(ctx context.Context, id int64, withKey bool) (RepoCert, error) {
	if id <= 0 {
		return RepoCert{}, domain.Invalid("CertId", "must be a positive integer")
	}
	r, err := s.Repo.RepoCert(ctx, id)
	if err != nil || !withKey {
		return r, err
	}
	key, err := s.Sealer.Open(r.SealedKey, repoAAD(r.ID))
	if err != nil {
		return RepoCert{}, fmt.Errorf("unseal repository key %d: %w: %v", r.ID, domain.ErrKeyUnavailable, err)
	}
	r.KeyPEM = string(key)
	return r, nil
}

// Repository certificate states a list can be limited to.
const (
	RepoAny      = ""
	RepoValid    = "valid"    // not expired
	RepoExpiring = "expiring" // valid, but within ExpiringWithin of NotAfter
	RepoExpired  = "expired"
)

// ListRepoCerts returns one page of repository certificates in state (one
// of the Repo* constants).
func (s *Service) ListRepoCerts(ctx context.Context, keyword, state string, page domain.Page) ([]RepoCert, int, error) {
	f := RepoFilter{Keyword: keyword, Page: page}
	now := s.now()
	switch state {
	case RepoAny:
	case RepoValid:
		f.ValidAt = now
	case RepoExpiring:
		f.ValidAt, f.ExpiresBefore = now, now.Add(ExpiringWithin)
	case RepoExpired:
		f.ExpiredAt = now
	default:
		return nil, 0, fmt.Errorf("unknown repository certificate state %q", state)
	}
	return s.Repo.ListRepoCerts(ctx, f)
}

// DeleteRepoCert removes a repository certificate. Site certificates taken
// from it keep their snapshot.
func (s *Service) DeleteRepoCert(ctx context.Context, id int64) error {
	if id <= 0 {
		return domain.Invalid("CertId", "must be a positive integer")
	}
	return s.Repo.DeleteRepoCert(ctx, id)
}
