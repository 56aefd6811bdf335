package edge

import (
	"hash/maphash"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/origincert"
	"github.com/esacert/esacert/internal/site"
	"github.com/esacert/esacert/internal/sitesetting"
)

// SiteState is everything the edge serves for one site, as the store holds
// it at one moment. Site is nil for a site that no longer exists.
type SiteState struct {
	ID           int64
	Site         *site.Site
	Certificates []cert.Certificate // ChainPEM, SealedKey, Info and Type are what the edge uses
	Routes       []Route            // the site's proxied records
	Policy       SitePolicy
	Settings     sitesetting.Settings // pause, IPv6 and the client-IP header (see features.go)
	// OriginCAs are the site's origin CA certificates (ID and CertPEM are
	// what the edge uses) and OriginClients its origin client certificates
	// of both scopes (ID, Scope, ChainPEM, SealedKey, Hostnames, Created);
	// see origintls.go.
	OriginCAs     []origincert.CA
	OriginClients []origincert.Client
	ClientCAs     []ClientCA // mutual TLS from visitors (see clientauth.go)

	chains [][][]byte    // the certificates' chains as DER, when already decoded (from a snapshot)
	placed []placedBytes // each certificate's leaf and sealed key side by side, when put there already (loadSnapshot)
	// part marks more certificates of the site added just before (ID):
	// a snapshot gives a large site's certificates in parts (only
	// Certificates, chains and placed are set; see indexBuilder.add).
	part bool
}

// Route is a proxied record as the edge needs it.
type Route struct {
	Name       string    // the record name; "*.example.com" for a wildcard record
	Origin     string    // host:port of the origin, reached over plain HTTP
	OriginHost string    // the Host header for the origin; "" keeps the request's
	Auth       RouteAuth // how the requests to a private bucket origin are signed; zero: they are not (originsign.go)
}

// siteConf is one site as the edge sees it.
//
// The collector reads each of its pointer words at every cycle (see
// served), so what most sites do not have is behind one pointer (rare),
// and its status is a number.
type siteConf struct {
	id   int64
	name string
	// pol is the site's policy; nil for the default (policy), which most
	// sites of a large edge have: a nil pointer costs the collector less.
	pol    *SitePolicy
	rare   *siteRare // nil: the site has none of its parts
	served bool      // whether the edge serves it (site.Served)
	status uint8     // the site's status: 1 + its place in site.SiteStatuses; 0: another (rare.status)
	// settings are the site's pause and IPv6 settings; see features.go.
	settings siteFlags
}

// siteFlags are a site's feature settings but its client-IP header
// (siteConf.clientIPHeader).
type siteFlags struct{ Paused, IPv6Off bool }

// siteRare is what a site of a large edge seldom has.
type siteRare struct {
	status         string // a status not in site.SiteStatuses
	clientIPHeader string // sitesetting.Settings.RealClientIPHeader
	// origin is the site's origin CAs and client certificates; nil when it
	// has none (see origintls.go).
	origin  *siteOrigin
	clients *clientAuth // mutual TLS from visitors; nil: no host asks for a client certificate
	routed  routedNames // the names of its routes (siteEntry.routes)
}

// empty reports whether r holds nothing: the site needs none.
func (r *siteRare) empty() bool {
	return r.status == "" && r.clientIPHeader == "" && r.origin == nil && r.clients == nil &&
		len(r.routed.exact) == 0 && len(r.routed.wild) == 0
}

// policy is the site's policy.
func (s *siteConf) policy() *SitePolicy {
	if s.pol == nil {
		return &defaultSitePolicy
	}
	return s.pol
}

// statusName is the site's status (site.SiteActive, …).
func (s *siteConf) statusName() string {
	if s.status > 0 {
		return site.SiteStatuses[s.status-1]
	}
	if s.rare != nil {
		return s.rare.status
	}
	return ""
}

// clientIPHeader is the site's client-IP header; "" for none.
func (s *siteConf) clientIPHeader() string {
	if s.rare == nil {
		return ""
	}
	return s.rare.clientIPHeader
}

// origin is the site's origin CAs and client certificates; nil when it
// has none.
func (s *siteConf) origin() *siteOrigin {
	if s.rare == nil {
		return nil
	}
	return s.rare.origin
}

// clients is what the site asks of its visitors' certificates; nil when
// no host asks for one.
func (s *siteConf) clients() *clientAuth {
	if s.rare == nil {
		return nil
	}
	return s.rare.clients
}

// setSettings keeps the site's feature settings in s.
func (s *siteConf) setSettings(st sitesetting.Settings) {
	s.settings = siteFlags{Paused: st.Paused, IPv6Off: st.IPv6Off}
}

// settingsOf returns the site's feature settings.
func (s *siteConf) settingsOf() sitesetting.Settings {
	return sitesetting.Settings{Paused: s.settings.Paused, IPv6Off: s.settings.IPv6Off, RealClientIPHeader: s.clientIPHeader()}
}

// route is where a host's requests go.
type route struct {
	key        string // its key in Index.routes (the record's name) or Index.wildRoutes (the parent of its wildcard)
	site       *siteConf
	origin     string     // host:port
	originHost string     // the Host header to send when the record says follow_origin_domain, else ""
	auth       *routeAuth // the origin is a private bucket: its requests are signed (originsign.go); else nil
}

// siteEntry remembers what a site put into the index, to take it out again:
// its certificates by id (each knows its names), so that one certificate
// is taken out or put in without touching the others, and its routes. An
// entry is never changed once published; an update makes a new one that
// shares the certificates' map but for the changed ones. Index.sites holds
// entries by value: one object fewer a site for the collector to mark.
// The names of its routes are its siteConf's (most sites of a large edge
// have none: siteRare), which an update of its routes makes anew.
type siteEntry struct {
	conf  *siteConf
	certs hamt[*served] // certificate id → the certificate as the index serves it
}

// routedNames are the names a site routes: exact ones, and the parents of
// its wildcard ones.
type routedNames struct{ exact, wild []string }

// routes returns the names of the site's routes and the parents of its
// wildcard routes.
func (e *siteEntry) routes() (exact, wild []string) {
	if e.conf.rare == nil {
		return nil, nil
	}
	return e.conf.rare.routed.exact, e.conf.rare.routed.wild
}

// Index is an immutable view of everything the edge serves. The zero Index
// is not usable; build one with newIndex.
type Index struct {
	rev        int64
	exact      pmap[candidates] // host → certificates naming it exactly
	wild       pmap[candidates] // parent → certificates naming *.parent
	routes     pmap[*route]     // host → origin
	wildRoutes pmap[*route]     // parent → origin of *.parent
	sites      pmap[siteEntry]  // site id → what it contributed
	snapshot   bool             // read from the snapshot, not from the store
	verified   bool             // pending sites are not served (Edge.RequireVerified)
	gen        uint64           // tells this index from every other one
	paused     int              // sites that are paused: the HTTPS listener peeks at ClientHellos only when some are
}

// generations numbers the indexes as they are made.
var generations atomic.Uint64

func newIndex(seed maphash.Seed) *Index {
	return &Index{gen: generations.Add(1), exact: newPmap(seed, exactMatch), wild: newPmap(seed, wildMatch),
		routes: newPmap(seed, routeMatch), wildRoutes: newPmap(seed, routeMatch), sites: newPmap(seed, siteMatch)}
}

// How the values of the index's maps say which key is theirs (pmap.match):

// exactMatch: the certificates of Index.exact's key name it (they all do:
// the first is asked).
func exactMatch(c candidates, name string) bool { return len(c) > 0 && c[0].hasName(name) }

// wildMatch: the certificates of Index.wild's key name *.key.
func wildMatch(c candidates, parent string) bool { return len(c) > 0 && c[0].hasWildcard(parent) }

// routeMatch: a route knows its key; no route is no key's.
func routeMatch(r *route, key string) bool { return r != nil && r.key == key }

// siteMatch: Index.sites's key is the site's id in decimal.
func siteMatch(e siteEntry, key string) bool {
	var buf [20]byte
	return string(strconv.AppendInt(buf[:0], e.conf.id, 10)) == key
}

// Revision is the change-feed revision the index reflects.
func (ix *Index) Revision() int64 { return ix.rev }

// Names is the number of distinct names (exact and wildcard) with certificates.
func (ix *Index) Names() int { return ix.exact.Len() + ix.wild.Len() }

// normalize lowercases the ASCII letters of host (host names are ASCII;
// other bytes are left alone, never rewritten) and drops one trailing dot.
// It allocates only when host has upper-case letters.
func normalize(host string) string {
	host = strings.TrimSuffix(host, ".")
	for i := 0; i < len(host); i++ {
		if c := host[i]; c >= 'A' && c <= 'Z' {
			b := []byte(host)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return host
}

// parent returns host without its first label, or "" when host has one label.
func parent(host string) string {
	i := strings.IndexByte(host, '.')
	if i <= 0 || i == len(host)-1 {
		return ""
	}
	return host[i+1:]
}

// lookupExact returns the certificates naming host exactly.
func (ix *Index) lookupExact(host string) candidates {
	c, _ := ix.exact.Get(host)
	return c
}

// lookupWild returns the certificates naming *.parent of host.
func (ix *Index) lookupWild(host string) candidates {
	if p := parent(host); p != "" {
		c, _ := ix.wild.Get(p)
		return c
	}
	return nil
}

// routeFor returns where requests for host go, or nil.
func (ix *Index) routeFor(host string) *route {
	if r, ok := ix.routes.Get(host); ok {
		return r
	}
	if p := parent(host); p != "" {
		if r, ok := ix.wildRoutes.Get(p); ok {
			return r
		}
	}
	return nil
}

// siteOf returns the site that serves host: the one of its route, else the
// one of its best certificate.
func (ix *Index) siteOf(host string) *siteConf {
	if r := ix.routeFor(host); r != nil {
		return r.site
	}
	if exact := ix.lookupExact(host); len(exact) > 0 {
		return exact[0].site
	}
	if wild := ix.lookupWild(host); len(wild) > 0 {
		return wild[0].site
	}
	return nil
}

// setter abstracts over a builder (first load) and an editor (updates).
// Setting a name to no candidates, or to no route, removes it: such a
// value is no key's (pmap.match).
type setter[V any] interface {
	get(string) (V, bool)
	set(string, V)
}

// builtSite is a site's contribution, ready to be put into an index.
type builtSite struct {
	key    string // its key in Index.sites: its id, in decimal
	entry  siteEntry
	certs  []*served
	routes map[string]*route
	wroute map[string]*route
}

// buildSite turns a site's state into what it contributes to the index.
// Only served sites contribute (site.Served: active ones, and pending ones
// unless requireVerified); names outside the site are not served for it.
// Its siteConf, served and strings come from sl (nil: allocated on their
// own).
func buildSite(st SiteState, requireVerified bool, sl *slabs) *builtSite {
	if st.Site == nil {
		return nil
	}
	key, strs := strconv.FormatInt(st.ID, 10), [1]string{st.Site.Name}
	sl.pack(&key, strs[:])
	conf := sl.newConf()
	conf.id, conf.name = st.ID, strs[0]
	conf.served = st.Site.Served(requireVerified)
	if p := sharedPolicy(st.Policy); p != &defaultSitePolicy {
		conf.pol = p
	}
	conf.setSettings(st.Settings)
	rare := siteRare{clientIPHeader: st.Settings.RealClientIPHeader,
		origin: newSiteOrigin(st.OriginCAs, st.OriginClients), clients: newClientAuth(st.ClientCAs)}
	if i := slices.Index(site.SiteStatuses, st.Site.Status); i >= 0 {
		conf.status = uint8(i + 1)
	} else {
		rare.status = st.Site.Status
	}
	b := &builtSite{key: key, entry: siteEntry{conf: conf}}
	if conf.served {
		b.certs = servedOf(st, conf, sl)
		b.routes, b.wroute = routesOf(st.Routes, conf)
		for n := range b.routes {
			rare.routed.exact = append(rare.routed.exact, n)
		}
		for n := range b.wroute {
			rare.routed.wild = append(rare.routed.wild, n)
		}
	}
	if !rare.empty() {
		r := rare // on the heap only for a site that has any
		conf.rare = &r
	}
	return b
}

// routesOf returns where a served site's proxied records go: exact names,
// and the parents of wildcard names; nil maps for none (most sites of a
// large edge).
func routesOf(records []Route, conf *siteConf) (exact, wild map[string]*route) {
	for _, r := range records {
		if r.Origin == "" {
			continue
		}
		rt := &route{site: conf, origin: r.Origin, originHost: r.OriginHost}
		if r.Auth.Type != "" {
			rt.auth = &routeAuth{RouteAuth: r.Auth}
		}
		name := normalize(r.Name)
		rt.key = name
		if p, ok := strings.CutPrefix(name, "*."); ok {
			rt.key = p
			if wild == nil {
				wild = map[string]*route{}
			}
			wild[p] = rt
		} else {
			if exact == nil {
				exact = map[string]*route{}
			}
			exact[name] = rt
		}
	}
	return exact, wild
}

// servedOf returns what the index serves of st's certificates, for a
// served site, from sl (nil: each served on its own, its leaf and sealed
// key on the heap).
func servedOf(st SiteState, conf *siteConf, sl *slabs) []*served {
	var out []*served
	for i, c := range st.Certificates {
		var chain [][]byte
		if st.chains != nil {
			chain = st.chains[i]
		}
		var placed placedBytes
		if st.placed != nil {
			placed = st.placed[i]
		}
		if sv := newServed(c, chain, placed, conf, sl); sv != nil {
			out = append(out, sv)
		}
	}
	return out
}

// certUpdate is the certificates of one site that changed, as they are
// now: ids are the changed certificates' ids; certs are those of them the
// store still holds (with their RSA twins), the others were deleted.
type certUpdate struct {
	site  int64
	ids   []string
	certs []cert.Certificate
}

// apply returns a new index with the given sites' contributions replaced
// by their new states, and the given certificates of other sites replaced
// by theirs. It touches only the names those sites or certificates had or
// have: a certificate update costs the names of the certificates it
// changes, whatever the size of their site.
func (ix *Index) apply(states []SiteState, updates []certUpdate, rev int64, now time.Time) *Index {
	ee, we := ix.exact.edit(), ix.wild.edit()
	re, wre := ix.routes.edit(), ix.wildRoutes.edit()
	se := ix.sites.edit()
	exact, wild, routes, wroutes := &ee.changes, &we.changes, &re.changes, &wre.changes
	owner := newOwner()
	paused := ix.paused
	for _, st := range states {
		key := strconv.FormatInt(st.ID, 10)
		if old, ok := se.get(key); ok {
			removeSite(&old, exact, wild, routes, wroutes)
			se.remove(key)
			paused -= pausedCount(&old)
		}
		b := buildSite(st, ix.verified, nil)
		if b == nil {
			continue
		}
		addSite(b, owner, exact, wild, routes, wroutes, now)
		se.set(b.key, b.entry)
		paused += pausedCount(&b.entry)
	}
	for _, u := range updates {
		key := strconv.FormatInt(u.site, 10)
		next, ok := se.get(key) // shares the certificates' map: only the changed ones are copied
		if !ok {
			continue // the edge reloads such a site whole (see Edge.refresh)
		}
		for _, id := range u.ids {
			for _, id := range [2]string{id, cert.TwinID(id)} {
				if sv, ok := next.certs.get(id); ok {
					removeCert(sv, exact, wild)
					next.certs.remove(owner, id)
				}
			}
		}
		if next.conf.served {
			for _, c := range u.certs {
				if sv := newServed(c, nil, placedBytes{}, next.conf, nil); sv != nil {
					if prev, ok := next.certs.get(sv.id()); ok { // listed twice: the last one wins
						removeCert(prev, exact, wild)
					}
					addCert(sv, exact, wild, now)
					next.certs.set(owner, sv)
				}
			}
		}
		se.set(key, next)
	}
	return &Index{rev: rev, gen: generations.Add(1), exact: ee.done(), wild: we.done(), routes: re.done(),
		wildRoutes: wre.done(), sites: se.done(), verified: ix.verified, paused: paused}
}

// load builds a whole index at once, for the first load; requireVerified
// keeps pending sites out of it (Edge.RequireVerified).
func load(seed maphash.Seed, states []SiteState, rev int64, now time.Time, requireVerified bool) *Index {
	b := newIndexBuilder(seed, now, requireVerified)
	for _, st := range states {
		b.add(st)
	}
	return b.done(rev)
}

// indexBuilder builds a whole index one site at a time (load, and the
// snapshot's reader, which never holds all the sites' states at once).
type indexBuilder struct {
	exact, wild     *builder[candidates]
	routes, wroutes *builder[*route]
	sites           *builder[siteEntry]
	owner           *int // the builder's own maps of the sites' certificates (see newOwner)
	paused          int
	now             time.Time
	requireVerified bool
	slabs           slabs // the sites' siteConf, the certificates' served, their strings, leaves and sealed keys (slab.go)
}

func newIndexBuilder(seed maphash.Seed, now time.Time, requireVerified bool) *indexBuilder {
	return &indexBuilder{exact: newBuilder(seed, exactMatch), wild: newBuilder(seed, wildMatch),
		routes: newBuilder(seed, routeMatch), wroutes: newBuilder(seed, routeMatch), sites: newBuilder(seed, siteMatch),
		owner: newOwner(), now: now, requireVerified: requireVerified}
}

// add puts one site in the index, or, for a part (SiteState.part), more
// certificates of a site already added; a part of a site not added, or
// not served, is ignored.
func (ib *indexBuilder) add(st SiteState) {
	if st.part {
		key := strconv.FormatInt(st.ID, 10)
		e, ok := ib.sites.get(key)
		if !ok || !e.conf.served {
			return
		}
		certs := servedOf(st, e.conf, &ib.slabs)
		addCerts(&e, certs, ib.owner, ib.exact, ib.wild, ib.now)
		ib.sites.set(key, e)
		return
	}
	b := buildSite(st, ib.requireVerified, &ib.slabs)
	if b == nil {
		return
	}
	addSite(b, ib.owner, ib.exact, ib.wild, ib.routes, ib.wroutes, ib.now)
	ib.sites.set(b.key, b.entry)
	ib.paused += pausedCount(&b.entry)
}

// done returns the index; the builder must not be used afterwards.
func (ib *indexBuilder) done(rev int64) *Index {
	return &Index{rev: rev, gen: generations.Add(1), exact: ib.exact.done(), wild: ib.wild.done(), routes: ib.routes.done(),
		wildRoutes: ib.wroutes.done(), sites: ib.sites.done(), verified: ib.requireVerified, paused: ib.paused}
}

// addSite puts a built site's certificates and routes into the index.
func addSite(b *builtSite, owner *int, exact, wild setter[candidates], routes, wroutes setter[*route], now time.Time) {
	addCerts(&b.entry, b.certs, owner, exact, wild, now)
	for n, r := range b.routes {
		routes.set(n, r)
	}
	for n, r := range b.wroute {
		wroutes.set(n, r)
	}
}

// addCerts puts certificates of a site into the index and into its entry.
func addCerts(e *siteEntry, certs []*served, owner *int, exact, wild setter[candidates], now time.Time) {
	for _, sv := range certs {
		if prev, ok := e.certs.get(sv.id()); ok { // listed twice: the last one wins
			removeCert(prev, exact, wild)
		}
		addCert(sv, exact, wild, now)
		e.certs.set(owner, sv)
	}
}

// addCert puts a certificate among the candidates of each of its names,
// in order (better, as of now).
func addCert(sv *served, exact, wild setter[candidates], now time.Time) {
	var less func(a, b *served) bool
	for n := range sv.names() {
		s, key := exact, n
		if p, ok := strings.CutPrefix(n, "*."); ok {
			s, key = wild, p
		}
		cur, _ := s.get(key)
		if len(cur) == 0 { // one candidate (most names): in order as it is
			s.set(key, sv.alone())
			continue
		}
		next := make(candidates, 0, len(cur)+1)
		next = append(append(next, cur...), sv)
		// Sorted whole, as of now: a candidate may have expired since the
		// name's list was last sorted.
		if less == nil {
			less = better(now)
		}
		sort.SliceStable(next, func(i, j int) bool { return less(next[i], next[j]) })
		s.set(key, next)
	}
}

// removeCert takes a certificate out of the candidates of its names.
func removeCert(sv *served, exact, wild setter[candidates]) {
	for n := range sv.names() {
		s, key := exact, n
		if p, ok := strings.CutPrefix(n, "*."); ok {
			s, key = wild, p
		}
		cur, _ := s.get(key)
		var keep candidates
		for _, c := range cur {
			if c != sv {
				keep = append(keep, c)
			}
		}
		if len(keep) == 1 {
			keep = keep[0].alone()
		}
		s.set(key, keep)
	}
}

// removeSite takes everything a site put into the index out of it.
func removeSite(e *siteEntry, exact, wild setter[candidates], routes, wroutes setter[*route]) {
	e.certs.each(func(_ string, sv *served) bool {
		removeCert(sv, exact, wild)
		return true
	})
	exactRoutes, wildRoutes := e.routes()
	for _, n := range exactRoutes {
		if r, ok := routes.get(n); ok && r.site == e.conf {
			routes.set(n, nil)
		}
	}
	for _, n := range wildRoutes {
		if r, ok := wroutes.get(n); ok && r.site == e.conf {
			wroutes.set(n, nil)
		}
	}
}
