// Package site owns sites and plan instances: a Site is a registrable
// domain whose host names esacert serves, attached to a plan Instance
// whose Plan sets its Limits. Service holds their use cases (CreateSite,
// ListSites, DeleteSite, VerifySite, PurchasePlan, UpgradePlan,
// ListInstances, EnsureDefaultInstance); Store is the storage they need,
// declared here by its consumer; errors.go holds their sentinels.
//
// The other nouns belong to a site (certificates, records, HTTPS
// configurations): they import this package for Site, its sentinels, the
// plan Limits and Lookup, which turns the SiteId of their actions into a
// Site (or the ParamError those actions answer). The dependency runs one
// way: site imports only domain and the standard library, never another
// noun, net/http, database/sql or a driver. The DNS lookups of VerifySite
// go through the Resolver interface; internal/resolver implements it.
package site
