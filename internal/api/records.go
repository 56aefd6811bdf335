package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/record"
	"github.com/esacert/esacert/internal/redact"
	"github.com/esacert/esacert/internal/site"
)

// dnsRecordJSON is a DNS record as GetRecord's RecordModel and ListRecords'
// Records[] show it (esa-more-api.md §2.3, §2.4). Data and AuthConf are JSON
// objects with PascalCase keys, never strings: the SDKs decode them case
// sensitively and Terraform type-asserts them to maps. Data holds the fields
// of the record's type, zeros included; AuthConf is left out when the
// record has none, and its keys show masked. RecordSourceType is there for
// CNAME records that have one: Terraform reads back what it sent, so a
// default it did not send would show as a diff.
type dnsRecordJSON struct {
	RecordId         int64
	RecordName       string
	RecordType       string
	RecordSourceType string `json:",omitempty"`
	RecordCname      string `json:",omitempty"`
	SiteId           int64
	SiteName         string
	Proxied          bool
	Ttl              int
	Data             map[string]any
	AuthConf         map[string]string `json:",omitempty"`
	BizName          string            `json:",omitempty"`
	HostPolicy       string            `json:",omitempty"`
	Comment          string            `json:",omitempty"`
	CreateTime       string
	UpdateTime       string
}

func (s *Server) dnsRecordJSON(r record.Record) dnsRecordJSON {
	j := dnsRecordJSON{
		RecordId:   r.ID,
		RecordName: r.Name,
		RecordType: r.Type,
		SiteId:     r.SiteID,
		SiteName:   r.SiteName,
		Proxied:    r.Proxied,
		Ttl:        r.Ttl,
		Data:       map[string]any{},
		BizName:    r.BizName,
		HostPolicy: r.HostPolicy,
		Comment:    r.Comment,
		CreateTime: fmtSiteTime(r.Created),
		UpdateTime: fmtSiteTime(r.Updated),
	}
	if r.Type == record.RecordCNAME {
		j.RecordSourceType = r.SourceType
	}
	if zone := strings.Trim(s.CnameZone, "."); zone != "" {
		j.RecordCname = r.Name + "." + zone
	}
	for _, f := range record.DataFields(r.Type) {
		if v := r.Data.Field(f); v != "" {
			j.Data[f] = v
		}
	}
	if a := r.AuthConf; !a.IsZero() {
		j.AuthConf = map[string]string{}
		for k, v := range map[string]string{"AuthType": a.AuthType, "AccessKey": a.AccessKey,
			"SecretKey": a.SecretKey, "Region": a.Region, "Version": a.Version} {
			if v != "" {
				j.AuthConf[k] = v
			}
		}
	}
	return j
}

// recordInput reads the parameters CreateRecord and UpdateRecord share. A
// parameter that is absent stays nil; Data and Proxied sent empty count as
// absent, AuthConf sent empty removes the record's.
func recordInput(p *params) (record.RecordInput, error) {
	var in record.RecordInput
	if raw := p.str("Data"); strings.TrimSpace(raw) != "" {
		d, err := record.ParseRecordData(raw)
		if err != nil {
			return in, err
		}
		in.Data = &d
	}
	if p.has("AuthConf") {
		a, err := record.ParseAuthConf(p.str("AuthConf"))
		if err != nil {
			return in, err
		}
		in.AuthConf = &a
	}
	if strings.TrimSpace(p.str("Proxied")) != "" {
		b, err := p.boolean("Proxied")
		if err != nil {
			return in, err
		}
		in.Proxied = &b
	}
	if strings.TrimSpace(p.str("Ttl")) != "" {
		n, err := p.int("Ttl")
		if err != nil {
			return in, err
		}
		in.Ttl = &n
	}
	for name, dst := range map[string]**string{"Type": &in.Type, "BizName": &in.BizName, "Comment": &in.Comment,
		"SourceType": &in.SourceType, "HostPolicy": &in.HostPolicy} {
		if p.has(name) {
			v := p.str(name)
			*dst = &v
		}
	}
	return in, nil
}

func (s *Server) createRecord(ctx context.Context, p *params) (any, error) {
	siteID, err := p.requiredInt64("SiteId")
	if err != nil {
		return nil, err
	}
	in, err := recordInput(p)
	if err != nil {
		return nil, err
	}
	in.SiteID, in.Name = siteID, p.str("RecordName")
	r, err := s.Records.CreateRecord(ctx, in)
	if err != nil {
		return nil, err
	}
	return struct{ RecordId int64 }{r.ID}, nil
}

func (s *Server) getRecord(ctx context.Context, p *params) (any, error) {
	id, err := p.requiredInt64("RecordId")
	if err != nil {
		return nil, err
	}
	r, err := s.Records.Record(ctx, id)
	if err != nil {
		return nil, err
	}
	return struct{ RecordModel dnsRecordJSON }{s.dnsRecordJSON(r)}, nil
}

func (s *Server) listRecords(ctx context.Context, p *params) (any, error) {
	siteID, err := p.requiredInt64("SiteId")
	if err != nil {
		return nil, err
	}
	page, err := p.page(500, 500)
	if err != nil {
		return nil, err
	}
	f := record.RecordFilter{
		SiteID:     siteID,
		Name:       p.str("RecordName"),
		NameMatch:  p.str("RecordMatchType"),
		Type:       p.str("Type"),
		SourceType: p.str("SourceType"),
		Page:       page,
	}
	if strings.TrimSpace(p.str("Proxied")) != "" {
		b, err := p.boolean("Proxied")
		if err != nil {
			return nil, err
		}
		f.Proxied = &b
	}
	if b := p.str("BizName"); b != "" {
		f.BizNames = []string{b}
	}
	list, total, err := s.Records.ListRecords(ctx, f)
	if err != nil {
		return nil, err
	}
	out := struct {
		PageNumber int
		PageSize   int
		TotalCount int
		Records    []dnsRecordJSON
	}{page.Offset/page.Limit + 1, page.Limit, total, []dnsRecordJSON{}}
	for _, r := range list {
		out.Records = append(out.Records, s.dnsRecordJSON(r))
	}
	return out, nil
}

func (s *Server) updateRecord(ctx context.Context, p *params) (any, error) {
	id, err := p.requiredInt64("RecordId")
	if err != nil {
		return nil, err
	}
	in, err := recordInput(p)
	if err != nil {
		return nil, err
	}
	_, err = s.Records.UpdateRecord(ctx, id, in)
	return nil, err
}

func (s *Server) deleteRecord(ctx context.Context, p *params) (any, error) {
	id, err := p.requiredInt64("RecordId")
	if err != nil {
		return nil, err
	}
	return nil, s.Records.DeleteRecord(ctx, id)
}

// maxBatchRecords bounds BatchCreateRecords' RecordList.
const maxBatchRecords = 500

// batchRecordJSON is one item of BatchCreateRecords' Success or Failed list
// (esa-more-api.md §2.7).
type batchRecordJSON struct {
	RecordId    int64 `json:",omitempty"`
	RecordName  string
	RecordType  string
	Proxied     bool
	Ttl         int
	Data        map[string]any
	BizName     string `json:",omitempty"`
	SourceType  string `json:",omitempty"`
	Description string
}

// batchCreateRecords creates each record of RecordList as CreateRecord
// would, each on its own: one record's failure (its Description says why,
// as the error's message would) does not stop the others.
func (s *Server) batchCreateRecords(ctx context.Context, p *params) (any, error) {
	siteID, err := p.requiredInt64("SiteId")
	if err != nil {
		return nil, err
	}
	raw, err := p.required("RecordList")
	if err != nil {
		return nil, err
	}
	var items []map[string]any
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&items); err != nil {
		return nil, domain.Invalid("RecordList", "must be a JSON array of record objects")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, domain.Invalid("RecordList", "must be one JSON array of record objects, with nothing after it")
	}
	if len(items) == 0 || len(items) > maxBatchRecords {
		return nil, domain.Invalid("RecordList", fmt.Sprintf("must list from 1 to %d records", maxBatchRecords))
	}
	if _, err := s.Sites.Site(ctx, siteID); err != nil { // a missing site fails the call, not each record
		if errors.Is(err, site.ErrSiteNotFound) {
			err = &domain.ParamError{Param: "SiteId", Err: site.ErrSiteNotFound}
		}
		return nil, err
	}
	out := struct {
		RecordResultList struct {
			TotalCount int
			Success    []batchRecordJSON
			Failed     []batchRecordJSON
		}
	}{}
	list := &out.RecordResultList
	list.TotalCount, list.Success, list.Failed = len(items), []batchRecordJSON{}, []batchRecordJSON{}
	var broken error // an internal error: the records after it are not tried
	for _, item := range items {
		res := batchRecordJSON{Data: map[string]any{}}
		if broken != nil {
			s.batchEcho(item, &res)
			res.Description = "Not created: the service failed on an earlier record of the batch. Create this one again."
			list.Failed = append(list.Failed, res)
			continue
		}
		r, err := s.batchRecord(ctx, siteID, item, &res)
		if err != nil {
			row, msg := lookup(err)
			if row.code == internalRow.code {
				if len(list.Success) == 0 {
					return nil, err // nothing was created: the call fails as a whole (and is logged)
				}
				broken = err
				s.log().Error("batch of records broken off", "site_id", siteID, "created", len(list.Success),
					"error", redact.Clean(err.Error(), logErrorBound))
				msg = "Not created: " + internalRow.message
			}
			res.Description = msg
			list.Failed = append(list.Failed, res)
			continue
		}
		res = batchRecordJSON{RecordId: r.ID, RecordName: r.Name, RecordType: r.Type, Proxied: r.Proxied, Ttl: r.Ttl,
			Data: map[string]any{}, BizName: r.BizName, SourceType: r.SourceType, Description: "success"}
		for _, f := range record.DataFields(r.Type) {
			if v := r.Data.Field(f); v != "" {
				res.Data[f] = v
			}
		}
		list.Success = append(list.Success, res)
	}
	return out, nil
}

// batchEcho fills res with what item asked, for the Failed list.
func (s *Server) batchEcho(item map[string]any, res *batchRecordJSON) {
	str := func(k string) string { v, _ := item[k].(string); return v }
	res.RecordName, res.RecordType, res.BizName, res.SourceType = str("RecordName"), str("Type"), str("BizName"), str("SourceType")
	res.Proxied = item["Proxied"] == true || strings.EqualFold(str("Proxied"), "true")
	if n, ok := item["Ttl"].(json.Number); ok {
		t, _ := n.Int64()
		res.Ttl = int(t)
	}
	if d, ok := item["Data"].(map[string]any); ok {
		res.Data = d
	}
}

// batchRecord creates one record of a batch; res echoes what was asked, for
// the Failed list.
func (s *Server) batchRecord(ctx context.Context, siteID int64, item map[string]any, res *batchRecordJSON) (record.Record, error) {
	v := url.Values{}
	for k, x := range item {
		switch x := x.(type) {
		case string:
			v.Set(k, x)
		case json.Number:
			v.Set(k, x.String())
		case bool:
			v.Set(k, strconv.FormatBool(x))
		case map[string]any:
			b, _ := json.Marshal(x)
			v.Set(k, string(b))
		case nil:
		default:
			return record.Record{}, domain.Invalid(k, "must be a string, a number, a boolean or an object")
		}
	}
	p := &params{v: v}
	s.batchEcho(item, res)
	res.Proxied, _ = p.boolean("Proxied")
	if _, err := p.required("Proxied"); err != nil {
		return record.Record{}, err
	}
	in, err := recordInput(p)
	if err != nil {
		return record.Record{}, err
	}
	in.SiteID, in.Name = siteID, p.str("RecordName")
	return s.Records.CreateRecord(ctx, in)
}
