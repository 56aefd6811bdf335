// Package cert owns the certificates of sites: certificates uploaded or
// taken from the certificate repository (certificates.go), the repository
// itself (repository.go), free certificates applied for over ACME and
// renewed in the background (free.go, renew.go; the Issuer interface that
// internal/acme implements, and the ACME account keys in account.go), and
// the resealing of every sealed key when the master key rotates
// (reseal.go). Service holds the use cases; the storage interfaces they need
// (CertStore, RepoStore, FreeStore, ChallengeStore, AccountStore,
// ResealStore, and SiteStore, the view of sites) are declared here, by
// their consumer; errors.go holds the sentinels. summary.go declares the
// view of every certificate at once (Summary, SummaryStore) and what the
// renewer tells an AttemptObserver, for the metrics.
//
// A certificate belongs to a site: the package imports site for Site, its
// sentinels, the plan Limits (the certificate quotas) and Lookup (the SiteId
// of a request). Reseal imports record for record.SecretsAAD, accesskey
// for accesskey.SecretAAD and session for session.KeyAAD, because the
// origin secrets of records, the secrets of RAM users' access keys and the
// STS server key are sealed under the same master key. Besides
// domain (what every noun shares) and certcheck (parsing and checking of
// PEM, X.509 and keys) it imports nothing of esacert, and never net/http,
// database/sql or a driver.
package cert
