package record

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/origin"
	"github.com/esacert/esacert/internal/site"
)

// Service holds the use cases on DNS records. Its fields are set once,
// before first use; after that a Service is safe for concurrent use.
type Service struct {
	// Store stores records; without it every use case fails.
	Store Store
	// Sites finds the site a request names; required.
	Sites SiteStore
	// Sealer seals the origin secrets of AuthConf; nil refuses to store or
	// open them (ErrKeyUnavailable).
	Sealer domain.Sealer
	// Origins is the origin policy the origins of proxied records must pass
	// when they are written (see checkOrigins); the zero Policy refuses
	// every address that is not public. The edge applies the policy again
	// when it connects.
	Origins origin.Policy
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Rand is the source of ids; nil means crypto/rand.
	Rand io.Reader
}

func (s *Service) now() time.Time { return domain.Now(s.Now) }

// recordID draws a 13-digit record id, the shape ESA's have.
func (s *Service) recordID() int64 { return domain.NumericID(s.Rand, 13) }

// siteFor returns the site a request names (see site.Lookup).
func (s *Service) siteFor(ctx context.Context, siteID int64) (site.Site, error) {
	return site.Lookup(ctx, s.Sites, siteID)
}

// records returns the record store, or an error when the Service has none.
func (s *Service) records() (Store, error) {
	if s.Store == nil {
		return nil, errors.New("record: the service has no record store")
	}
	return s.Store, nil
}

// RecordInput is what CreateRecord and UpdateRecord take. A nil field is
// absent: CreateRecord takes its default, UpdateRecord keeps the record's
// value. SiteID and Name are read by CreateRecord only (a record's site
// and name never change).
type RecordInput struct {
	SiteID     int64
	Name       string
	Type       *string // A/AAAA (or A, AAAA), CNAME, … in any case; required to create
	Data       *RecordData
	Proxied    *bool
	Ttl        *int // default 1
	BizName    *string
	Comment    *string
	SourceType *string // any case
	HostPolicy *string
	// AuthConf replaces the record's origin authentication; a zero AuthConf
	// removes it. An AccessKey or SecretKey equal to the mask the record
	// shows keeps the stored secret, so an answer can be sent back as it came.
	AuthConf *AuthConf
}

// CreateRecord validates in and creates the record. A site that does not
// exist is a ParamError naming SiteId with ErrSiteNotFound; the origin of a
// proxied record that Origins refuses, a ParamError naming Data.
func (s *Service) CreateRecord(ctx context.Context, in RecordInput) (Record, error) {
	store, err := s.records()
	if err != nil {
		return Record{}, err
	}
	if in.Type == nil || strings.TrimSpace(*in.Type) == "" {
		return Record{}, domain.Missing("Type")
	}
	if in.Data == nil {
		return Record{}, domain.Missing("Data")
	}
	if strings.TrimSpace(in.Name) == "" {
		return Record{}, domain.Missing("RecordName")
	}
	st, err := s.siteFor(ctx, in.SiteID)
	if err != nil {
		return Record{}, err
	}
	now := s.now()
	r := Record{SiteID: st.ID, SiteName: st.Name, Name: in.Name, Ttl: AutoTTL, Created: now, Updated: now}
	if err := s.applyRecordInput(&r, in, nil); err != nil {
		return Record{}, err
	}
	if err := checkRecord(&r, st.Name); err != nil {
		return Record{}, err
	}
	if err := s.checkOrigins(&r); err != nil {
		return Record{}, err
	}
	for attempt := 0; ; attempt++ {
		r.ID = s.recordID()
		if r.SealedSecrets, err = s.sealSecrets(r.ID, in.AuthConf, nil); err != nil {
			return Record{}, err
		}
		err = store.CreateRecord(ctx, r)
		if errors.Is(err, domain.ErrExists) && attempt < 5 {
			continue // an id clash: draw again
		}
		break
	}
	if err != nil { // ErrSiteNotFound: the site was deleted meanwhile
		return Record{}, site.AsParam(err)
	}
	return r, nil
}

// Record returns the record with that id, or ErrRecordNotFound.
func (s *Service) Record(ctx context.Context, id int64) (Record, error) {
	store, err := s.records()
	if err != nil {
		return Record{}, err
	}
	if id <= 0 {
		return Record{}, domain.Invalid("RecordId", "must be a positive integer")
	}
	return store.Record(ctx, id)
}

// ListRecords checks f and returns one page of a site's records, and how
// many match in all. Name is lowercased; NameMatch, Type and SourceType are
// accepted in any case, and Type A or AAAA means A/AAAA. A BizName of
// image_video also selects video_image, and the other way round.
func (s *Service) ListRecords(ctx context.Context, f RecordFilter) ([]Record, int, error) {
	store, err := s.records()
	if err != nil {
		return nil, 0, err
	}
	f.Name = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(f.Name), "."))
	f.NameMatch = strings.ToLower(f.NameMatch)
	if f.NameMatch == "" {
		f.NameMatch = domain.MatchExact
	}
	if !slices.Contains([]string{domain.MatchExact, domain.MatchPrefix, domain.MatchSuffix, domain.MatchFuzzy}, f.NameMatch) {
		return nil, 0, domain.Invalid("RecordMatchType", "must be exact, prefix, suffix or fuzzy")
	}
	if f.Type != "" {
		t, ok := CanonicalRecordType(f.Type)
		if !ok {
			return nil, 0, domain.Invalid("Type", "must be a record type such as A/AAAA, CNAME or TXT")
		}
		f.Type = t
	}
	if f.SourceType != "" {
		st, ok := canonicalFold(f.SourceType, SourceTypes)
		if !ok {
			return nil, 0, domain.Invalid("SourceType", "must be OSS, S3, LB, OP or Domain")
		}
		f.SourceType = st
	}
	var biz []string
	for _, b := range f.BizNames {
		b = strings.ToLower(strings.TrimSpace(b))
		if !slices.Contains(BizNames, b) {
			return nil, 0, domain.Invalid("BizName", "must be image_video, api or web")
		}
		same := []string{b}
		if b == "image_video" || b == "video_image" {
			same = []string{"image_video", "video_image"}
		}
		for _, x := range same {
			if !slices.Contains(biz, x) {
				biz = append(biz, x)
			}
		}
	}
	f.BizNames = biz
	st, err := s.siteFor(ctx, f.SiteID)
	if err != nil {
		return nil, 0, err
	}
	f.SiteID = st.ID
	return store.ListRecords(ctx, f)
}

// UpdateRecord applies in to the record with that id and returns it. Data
// replaces the whole of the record's Data when given. The record that
// results is checked as CreateRecord checks a new one, its origin too.
func (s *Service) UpdateRecord(ctx context.Context, id int64, in RecordInput) (Record, error) {
	store, err := s.records()
	if err != nil {
		return Record{}, err
	}
	old, err := s.Record(ctx, id)
	if err != nil {
		return Record{}, err
	}
	r := old
	r.Updated = s.now()
	if err := s.applyRecordInput(&r, in, &old); err != nil {
		return Record{}, err
	}
	if err := checkRecord(&r, old.SiteName); err != nil {
		return Record{}, err
	}
	if err := s.checkOrigins(&r); err != nil {
		return Record{}, err
	}
	if in.AuthConf != nil {
		if r.SealedSecrets, err = s.sealSecrets(r.ID, in.AuthConf, &old); err != nil {
			return Record{}, err
		}
	} else if r.AuthConf.IsZero() {
		r.SealedSecrets = nil
	}
	if err := store.UpdateRecord(ctx, r); err != nil {
		return Record{}, err
	}
	return r, nil
}

// DeleteRecord removes the record with that id.
func (s *Service) DeleteRecord(ctx context.Context, id int64) error {
	store, err := s.records()
	if err != nil {
		return err
	}
	if id <= 0 {
		return domain.Invalid("RecordId", "must be a positive integer")
	}
	return store.DeleteRecord(ctx, id)
}

// applyRecordInput sets the fields in gives on r, canonicalising spellings.
// old is the record before an update (nil on create): CNAME-only fields the
// input leaves alone are dropped when the record stops being a CNAME.
func (s *Service) applyRecordInput(r *Record, in RecordInput, old *Record) error {
	if in.Type != nil && (old == nil || strings.TrimSpace(*in.Type) != "") {
		t, ok := CanonicalRecordType(*in.Type)
		if !ok {
			return domain.Invalid("Type", "must be one of "+strings.Join(RecordTypes, ", ")+" (A and AAAA mean A/AAAA)")
		}
		r.Type = t
	}
	if old != nil && r.Type != old.Type && r.Type != RecordCNAME {
		if in.SourceType == nil {
			r.SourceType = ""
		}
		if in.HostPolicy == nil {
			r.HostPolicy = ""
		}
		if in.AuthConf == nil {
			r.AuthConf, r.SealedSecrets = AuthConf{}, nil
		}
	}
	if in.Data != nil {
		r.Data = *in.Data
	}
	if in.Proxied != nil {
		r.Proxied = *in.Proxied
	}
	if in.Ttl != nil {
		r.Ttl = *in.Ttl
	}
	if in.BizName != nil {
		r.BizName = strings.ToLower(strings.TrimSpace(*in.BizName))
	}
	if in.Comment != nil {
		r.Comment = *in.Comment
	}
	if in.SourceType != nil {
		r.SourceType = strings.TrimSpace(*in.SourceType)
		if r.SourceType != "" {
			st, ok := canonicalFold(r.SourceType, SourceTypes)
			if !ok {
				return domain.Invalid("SourceType", "must be OSS, S3, LB, OP or Domain")
			}
			r.SourceType = st
		}
	}
	if in.HostPolicy != nil {
		r.HostPolicy = strings.ToLower(strings.TrimSpace(*in.HostPolicy))
	}
	if in.AuthConf != nil {
		a := *in.AuthConf
		if len(a.AccessKey) > maxAuthKey || len(a.SecretKey) > maxAuthKey {
			return domain.Invalid("AuthConf", fmt.Sprintf("AccessKey and SecretKey are at most %d characters long", maxAuthKey))
		}
		a.AuthType = strings.ToLower(strings.TrimSpace(a.AuthType))
		a.Version = strings.ToLower(strings.TrimSpace(a.Version))
		a.Region = strings.TrimSpace(a.Region)
		a.AccessKey, a.SecretKey = MaskSecret(a.AccessKey), MaskSecret(a.SecretKey)
		if old != nil {
			// A mask sent back keeps the stored key, and so its mask.
			if isMask(in.AuthConf.AccessKey, old.AuthConf.AccessKey) {
				a.AccessKey = old.AuthConf.AccessKey
			}
			if isMask(in.AuthConf.SecretKey, old.AuthConf.SecretKey) {
				a.SecretKey = old.AuthConf.SecretKey
			}
		}
		r.AuthConf = a
	}
	if old != nil && in.AuthConf == nil && !authApplies(r.Type, r.SourceType) {
		// The origin no longer takes authentication: drop the stored one.
		r.AuthConf, r.SealedSecrets = AuthConf{}, nil
	}
	return nil
}
