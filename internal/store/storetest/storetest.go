// Package storetest is the conformance suite for implementations of the
// storage interfaces the domain's nouns declare. Every dialect of sqlstore
// runs it, so that a behaviour holds on SQLite and PostgreSQL alike.
//
// One file per noun, as in sqlstore: sites.go (site.Store), records.go
// (record.Store), https.go (httpsconf.Store), sitesettings.go
// (sitesetting.Store), certificates.go and summaries.go (cert's
// stores); for access control, users.go (account.Store, user.Store and
// accesskey.Store), groups.go, policies.go (rampolicy's stores and tags),
// roles.go; notices.go (notify.Store); origincerts.go (origincert.Store); clientcerts.go (clientca.Store and
// clientcert.Store); ocsp.go (cert.OCSPStore); ticketkeys.go (ticketkey.Store); edgecerts.go (what an edge reads of single
// certificates). Run lists them all. A new noun
// adds its file here before its SQL.
// postgres.go, server.go and proxy.go are helpers for tests that need a
// PostgreSQL database, a server of their own or a connection cut.
package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/site"
)

// now is the fixed time the suite's records carry.
var now = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// Store is everything the suite exercises.
type Store interface {
	site.Store
	cert.CertStore
	cert.RepoStore
	cert.AccountStore
	cert.FreeStore
	cert.SummaryStore
	cert.OCSPStore
	cert.OCSPReader
	EdgeCertStore
}

// Run runs the suite. newStore returns an empty store for one subtest; it
// is called once per subtest.
func Run(t *testing.T, newStore func(t *testing.T) Store) {
	t.Run("certificates", func(t *testing.T) { testCertificates(t, newStore(t)) })
	t.Run("certificate_quota_race", func(t *testing.T) { testCertQuotaRace(t, newStore(t)) })
	t.Run("certificate_name_race", func(t *testing.T) { testCertNameRace(t, newStore(t)) })
	t.Run("certificate_summaries", func(t *testing.T) { testCertificateSummaries(t, newStore(t)) })
	t.Run("repository", func(t *testing.T) { testRepository(t, newStore(t)) })
	t.Run("sites", func(t *testing.T) { testSites(t, newStore(t)) })
	t.Run("site_list", func(t *testing.T) { testSiteList(t, newStore(t)) })
	t.Run("site_quota_race", func(t *testing.T) { testSiteQuotaRace(t, newStore(t)) })
	t.Run("instances", func(t *testing.T) { testInstances(t, newStore(t)) })
	t.Run("instance_with_site", func(t *testing.T) { testInstanceWithSite(t, newStore(t)) })
	t.Run("instance_plan_change", func(t *testing.T) { testInstancePlanChange(t, newStore(t)) })
	t.Run("instance_delete", func(t *testing.T) { testInstanceDelete(t, newStore(t)) })
	t.Run("site_activation", func(t *testing.T) { testSiteActivation(t, newStore(t)) })
	t.Run("pending_site_claims", func(t *testing.T) { testPendingSiteClaims(t, newStore(t)) })
	t.Run("https", func(t *testing.T) { testHTTPS(t, newStore(t)) })
	t.Run("site_settings", func(t *testing.T) { testSiteSettings(t, newStore(t)) })
	t.Run("site_tags", func(t *testing.T) { testSiteTags(t, newStore(t)) })
	t.Run("records", func(t *testing.T) { testRecords(t, newStore(t)) })
	t.Run("acme_accounts", func(t *testing.T) { testACMEAccounts(t, newStore(t)) })
	t.Run("account", func(t *testing.T) { testAccount(t, newStore(t)) })
	t.Run("users", func(t *testing.T) { testUsers(t, newStore(t)) })
	t.Run("access_keys", func(t *testing.T) { testAccessKeys(t, newStore(t)) })
	t.Run("access_key_limit_race", func(t *testing.T) { testAccessKeyLimitRace(t, newStore(t)) })
	t.Run("groups", func(t *testing.T) { testGroups(t, newStore(t)) })
	t.Run("policies", func(t *testing.T) { testPolicies(t, newStore(t)) })
	t.Run("tags", func(t *testing.T) { testTags(t, newStore(t)) })
	t.Run("roles", func(t *testing.T) { testRoles(t, newStore(t)) })
	t.Run("grants", func(t *testing.T) { testGrants(t, newStore(t)) })
	t.Run("sts_key", func(t *testing.T) { testSTSKey(t, newStore(t)) })
	t.Run("notices", func(t *testing.T) { testNotices(t, newStore(t)) })
	t.Run("origin_ca_certificates", func(t *testing.T) { testOriginCAs(t, newStore(t)) })
	t.Run("origin_client_certificates", func(t *testing.T) { testOriginClients(t, newStore(t)) })
	t.Run("client_ca_certificates", func(t *testing.T) { testClientCAs(t, newStore(t)) })
	t.Run("client_certificates", func(t *testing.T) { testClientCerts(t, newStore(t)) })
	t.Run("ocsp_responses", func(t *testing.T) { testOCSP(t, newStore(t)) })
	t.Run("ocsp_queue", func(t *testing.T) { testOCSPQueue(t, newStore(t)) })
	t.Run("ocsp_catch_up", func(t *testing.T) { testOCSPCatchUp(t, newStore(t)) })
	t.Run("ocsp_no_responder", func(t *testing.T) { testOCSPNoResponder(t, newStore(t)) })
	t.Run("ticket_keys", func(t *testing.T) { testTicketKeys(t, newStore(t)) })
	t.Run("edge_certificates", func(t *testing.T) { testEdgeCertificates(t, newStore(t)) })
}

// race runs fn(0) … fn(n-1) at once and returns how many succeeded; an
// error other than allowed fails the test.
func race(t *testing.T, n int, allowed error, fn func(i int) error) int {
	t.Helper()
	var (
		wg         sync.WaitGroup
		mu         sync.Mutex
		succeeded  int
		unexpected []error
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := fn(i)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				succeeded++
			case !errors.Is(err, allowed):
				unexpected = append(unexpected, err)
			}
		}()
	}
	wg.Wait()
	if len(unexpected) > 0 {
		t.Fatalf("unexpected errors: %v", unexpected)
	}
	return succeeded
}
