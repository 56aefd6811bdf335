// Package config is the only reader of esacert's flags, environment and
// configuration file. Load builds one Config with the precedence
// flags > environment > file > defaults; Validate reports every problem at once.
package config

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/esacert/esacert/internal/notify"
	"github.com/esacert/esacert/internal/origin"
	"github.com/esacert/esacert/internal/site"
)

// Config is everything an esacert node is started with. The zero value is
// not useful; Load fills in the defaults documented on each field.
type Config struct {
	// DataDir holds the SQLite database, the root access key and the master
	// key. Default ./esacert-data.
	DataDir string `json:"data"`
	// DB is the database DSN: "sqlite:PATH" or "postgres://…". Default: the
	// SQLite file esacert.db in DataDir.
	DB string `json:"db"`
	// APIAddr is where the OpenAPI endpoint listens. Default 127.0.0.1:8787.
	APIAddr string `json:"api_addr"`
	// APITLSCert and APITLSKey, both set, serve the API over HTTPS.
	APITLSCert string `json:"api_tls_cert"`
	APITLSKey  string `json:"api_tls_key"`
	// ConsoleAddr is where the web console listens (HOST:PORT), served over
	// HTTPS with the API's certificate when APITLSCert is set. It needs the
	// api role. Default "": no console.
	ConsoleAddr string `json:"console_addr"`
	// HTTPSAddr and HTTPAddr are the edge's listeners. Defaults :8443 and :8080.
	HTTPSAddr string `json:"https_addr"`
	HTTPAddr  string `json:"http_addr"`
	// HTTP3Addr is the edge's HTTP/3 (QUIC, UDP) listener: "" (the
	// default) for the HTTPS listener's address, "off" for none.
	HTTP3Addr string `json:"http3_addr"`
	// MetricsAddr is where the operator's listener serves /metrics
	// (Prometheus), /debug/pprof/, /healthz and /readyz; it must not be one
	// of the API's, the console's or the edge's addresses. Default "": no
	// such listener, and no metrics are kept.
	MetricsAddr string `json:"metrics_addr"`
	// Roles are the parts this node runs: api, edge and renewer,
	// comma-separated. Default all three.
	Roles string `json:"roles"`
	// DefaultPlan is the plan of the instance that sites created without an
	// InstanceId join. Default basic.
	DefaultPlan string `json:"default_plan"`
	// VerifySiteOwnership keeps pending sites (every new site, until its
	// ownership is proven in DNS) off the edge and off free certificates.
	// Default false: pending sites are served as active ones are.
	VerifySiteOwnership bool `json:"verify_site_ownership"`
	// NameServers is the comma-separated list shown for NS sites, and what
	// VerifySite checks their delegation against. Default none.
	NameServers string `json:"name_servers"`
	// SiteVerifyInterval is how long a pending site waits for its next check
	// after its first failed one; each further failure doubles the wait, up
	// to 60 times this. Default 1m (so at most an hour between checks);
	// from MinSiteVerifyInterval to MaxSiteVerifyInterval.
	SiteVerifyInterval string `json:"site_verify_interval"`
	// TicketRotation is how long one key seals the edge's TLS session
	// tickets before the next replaces it; a ticket is accepted for up to
	// twice as long (the previous key still opens tickets). "off" turns
	// session resumption off. Default 1h; from MinTicketRotation to
	// MaxTicketRotation.
	TicketRotation string `json:"ticket_rotation"`
	// ResumeHybrid keeps the post-quantum hybrid key exchange on the edge's
	// resumed TLS 1.3 handshakes. Default false: a session that came from a
	// post-quantum key exchange resumes with X25519 (see internal/edge's
	// resumekex.go for what that gives up).
	ResumeHybrid bool `json:"resume_hybrid"`
	// VerifyResolvers are the resolvers (host:port, comma-separated) through
	// which VerifySite looks up the proof of ownership. Default: the system's.
	VerifyResolvers string `json:"verify_resolvers"`
	// PrivateOrigins lists the ranges that are not public (CIDRs,
	// comma-separated, each within one refused range, such as 10.0.0.0/8 or
	// 127.0.0.1/32) that proxied records may have as origins. Default none:
	// loopback, private, link-local and the other ranges that are not public
	// are refused (see internal/origin). The node's own listeners are never
	// an origin.
	PrivateOrigins string `json:"private_origins"`
	// CnameZone is the CNAME suffix shown for CNAME sites. Default none.
	CnameZone string `json:"cname_zone"`
	// PlanLimits overrides the per-plan limits, by tier (basic, standard,
	// advanced, enterprise); file only. Tiers not named keep their defaults.
	PlanLimits map[string]PlanLimit `json:"plan_limits"`
	// MasterKeyFile names the file holding the 32-byte master keys that seal
	// private keys (base64 or hex, one per line, newest first). Default:
	// master.key in DataDir, generated on first start when neither it nor
	// MasterKey is given.
	MasterKeyFile string `json:"master_key_file"`
	// MigrateTo, for migrate only, is the PostgreSQL DSN to copy the SQLite
	// database into.
	MigrateTo string `json:"-"`
	// NewMasterKeyFile, for rotate-master-key only, names the key to rotate
	// to; when unset a new key is generated into the master key file.
	NewMasterKeyFile string `json:"new_master_key_file"`
	// ACMECAs names extra ACME CAs, NAME=DIRECTORY_URL[,NAME=URL…];
	// lets_encrypt is always there. Default none.
	ACMECAs string `json:"acme_ca"`
	// ACMECARoots is a PEM file of roots to trust for the CAs' HTTPS (a
	// private CA such as step-ca or Pebble). Default: the system's.
	ACMECARoots string `json:"acme_ca_roots"`
	// ACMEChallenges are the challenge types answered for names that are
	// not wildcards: http-01, tls-alpn-01 and dns-01, comma-separated.
	// Default http-01.
	ACMEChallenges string `json:"acme_challenges"`
	// ACMEDNSProvider names the DNS-01 provider (lego's name, settings in
	// lego's environment variables); it makes wildcards possible.
	ACMEDNSProvider string `json:"acme_dns_provider"`
	// ACMEDNSResolvers are the resolvers (host:port, comma-separated) DNS-01
	// checks propagation through instead of the system's and the zone's
	// authoritative servers.
	ACMEDNSResolvers string `json:"acme_dns_resolvers"`
	// ACMEEmail is the contact of the ACME accounts. Default none.
	ACMEEmail string `json:"acme_email"`
	// ACMEStaging points lets_encrypt at Let's Encrypt's staging CA.
	ACMEStaging bool `json:"acme_staging"`
	// FreeCertKeyType is the key of free certificates: ecdsa-p256 (default),
	// ecdsa-p384 or rsa-2048.
	FreeCertKeyType string `json:"free_cert_key_type"`
	// FreeCertRSATwin issues an RSA certificate beside each ECDSA one, for
	// clients that cannot use ECDSA; the edge picks per client.
	FreeCertRSATwin bool `json:"free_cert_rsa_twin"`
	// RenewPoll is how often the renewer looks for work besides being told
	// (default 1m); RetryBase is the first wait after a failed attempt,
	// doubling after each failure up to 6 hours (default 1m).
	RenewPoll string `json:"renew_poll"`
	RetryBase string `json:"retry_base"`
	// OCSPPoll is how often the nodes with the renewer role look for OCSP
	// responses due for a fetch (default 30s; see internal/ocsp).
	OCSPPoll string `json:"ocsp_poll"`
	// LogFormat is json or text. Default json.
	LogFormat string `json:"log_format"`
	// LogLevel is debug, info, warn or error. Default info.
	LogLevel string `json:"log_level"`
	// AuditReads records reads (Get…, List…) in the audit trail too, not
	// only changes, denied requests and failed authentications. Default false.
	AuditReads bool `json:"audit_reads"`
	// AuditRetentionDays is how long audit events are kept. Default 90.
	AuditRetentionDays string `json:"audit_retention_days"`
	// Notify lists where notices of certificates that expire or fail to
	// renew go (see internal/notify); file only. Default none: no notices.
	Notify []NotifyChannel `json:"notify"`
	// NotifyPoll is how often the nodes with the renewer role look for
	// notices to record and send. Default 1m.
	NotifyPoll string `json:"notify_poll"`
	// AccessLog is where the edge writes its access log, a JSON line a
	// request: a file (appended to, opened again on SIGHUP) or "-" for
	// standard output. Default "": no access log.
	AccessLog string `json:"access_log"`
	// AccessLogSample is the fraction of requests the access log keeps,
	// from 0 to 1. Default 1: all.
	AccessLogSample string `json:"access_log_sample"`
	// NoSNIHost is the host whose certificate and settings answer a client
	// that sends no SNI (unless its HttpsNoSniDeny is on). Default "":
	// handshakes without SNI are refused.
	NoSNIHost string `json:"no_sni_host"`
	// EdgeCertCache is how many certificates the edge keeps ready to serve
	// (private key unsealed), from 1 to 10,000,000; the others are rebuilt
	// from their sealed copy on their next handshake. Default 10000 (about
	// 1.4 KB each for ECDSA P-256).
	EdgeCertCache string `json:"edge_cert_cache"`

	// AccessKeyID and AccessKeySecret, from the environment only
	// (ESACERT_ACCESS_KEY_ID, ESACERT_ACCESS_KEY_SECRET), are the root key.
	// When unset, the root key is read from or generated into DataDir.
	AccessKeyID     string `json:"-"`
	AccessKeySecret string `json:"-"`
	// MasterKey, from the environment only (ESACERT_MASTER_KEY), is the
	// master keys themselves, in base64 or hex, comma-separated, newest
	// first; it wins over MasterKeyFile.
	MasterKey string `json:"-"`
	// ACMEEAB, from the environment only (ESACERT_ACME_EAB), holds the
	// external account binding of CAs that need one:
	// NAME=KEY_ID:HMAC_KEY[,NAME=KEY_ID:HMAC_KEY…], the HMAC key in the
	// base64url form CAs hand out.
	ACMEEAB string `json:"-"`
}

// NotifyChannel is one destination of notices, in the configuration file.
// URL and Secret are credentials: String leaves them out, and Validate's
// errors never quote them.
type NotifyChannel struct {
	// Name names the channel in logs and in the database's record of what
	// was sent to it; it must stay the same across restarts, or notices
	// pending for it are not sent. Default: Type (two channels of one type
	// need names).
	Name string `json:"name"`
	// Type is webhook (a JSON body signed with HMAC-SHA256), dingtalk,
	// lark (or feishu), wecom or slack.
	Type string `json:"type"`
	// URL is the webhook's address; URLEnv instead names an environment
	// variable that holds it.
	URL    string `json:"url"`
	URLEnv string `json:"url_env"`
	// Secret signs the requests (webhook, dingtalk, lark; optional);
	// SecretEnv instead names an environment variable that holds it.
	Secret    string `json:"secret"`
	SecretEnv string `json:"secret_env"`
	// Events are the events the channel takes (certificate.expiring,
	// certificate.expired, certificate.failed, certificate.recovered).
	// Default all.
	Events []string `json:"events"`
}

// String describes the channel without its URL or secret.
func (n NotifyChannel) String() string {
	return fmt.Sprintf("%s (%s, events %v)", n.Name, n.Type, n.Events)
}

// notifyTypes are the types of NotifyChannel (internal/webhook's).
var notifyTypes = []string{"webhook", "dingtalk", "lark", "feishu", "wecom", "slack"}

// PlanLimit is one tier's limits in the configuration file; 0 means no limit.
type PlanLimit struct {
	Sites       int `json:"sites"`
	CustomCerts int `json:"custom_certs"`
	FreeCerts   int `json:"free_certs"`
}

// Limits returns the per-tier limits: the defaults, overridden by PlanLimits.
func (c *Config) Limits() map[string]site.Limits {
	l := site.DefaultLimits()
	for tier, p := range c.PlanLimits {
		l[tier] = site.Limits{Sites: p.Sites, CustomCerts: p.CustomCerts, FreeCerts: p.FreeCerts}
	}
	return l
}

// option is one setting: its flag, its environment variable and where it goes.
type option struct {
	flag, env, usage string
	str              func(c *Config) *string
	boolean          func(c *Config) *bool
}

var options = []option{
	{flag: "data", env: "ESACERT_DATA", usage: "directory for the database, the root access key and the master key (default ./esacert-data)", str: func(c *Config) *string { return &c.DataDir }},
	{flag: "db", env: "ESACERT_DB", usage: "database DSN: sqlite:PATH or postgres://… (default: esacert.db in --data)", str: func(c *Config) *string { return &c.DB }},
	{flag: "api-addr", env: "ESACERT_API_ADDR", usage: "address of the OpenAPI endpoint (default 127.0.0.1:8787)", str: func(c *Config) *string { return &c.APIAddr }},
	{flag: "api-tls-cert", env: "ESACERT_API_TLS_CERT", usage: "PEM certificate chain to serve the API over HTTPS (with --api-tls-key)", str: func(c *Config) *string { return &c.APITLSCert }},
	{flag: "api-tls-key", env: "ESACERT_API_TLS_KEY", usage: "PEM private key to serve the API over HTTPS (with --api-tls-cert)", str: func(c *Config) *string { return &c.APITLSKey }},
	{flag: "console-addr", env: "ESACERT_CONSOLE_ADDR", usage: "address of the web console, HOST:PORT (default: no console); HTTPS with --api-tls-cert when set", str: func(c *Config) *string { return &c.ConsoleAddr }},
	{flag: "https-addr", env: "ESACERT_HTTPS_ADDR", usage: "address of the edge's HTTPS listener (default :8443)", str: func(c *Config) *string { return &c.HTTPSAddr }},
	{flag: "http3-addr", env: "ESACERT_HTTP3_ADDR", usage: "UDP address of the edge's HTTP/3 (QUIC) listener, \"off\" for none (default: the HTTPS listener's address)", str: func(c *Config) *string { return &c.HTTP3Addr }},
	{flag: "http-addr", env: "ESACERT_HTTP_ADDR", usage: "address of the edge's HTTP listener (default :8080)", str: func(c *Config) *string { return &c.HTTPAddr }},
	{flag: "metrics-addr", env: "ESACERT_METRICS_ADDR", usage: "address of the operator's listener for /metrics, /debug/pprof/, /healthz and /readyz (default none: off)", str: func(c *Config) *string { return &c.MetricsAddr }},
	{flag: "roles", env: "ESACERT_ROLES", usage: "parts this node runs: api, edge, renewer (default all, comma-separated)", str: func(c *Config) *string { return &c.Roles }},
	{flag: "default-plan", env: "ESACERT_DEFAULT_PLAN", usage: "plan of sites created without InstanceId (default basic)", str: func(c *Config) *string { return &c.DefaultPlan }},
	{flag: "verify-site-ownership", env: "ESACERT_VERIFY_SITE_OWNERSHIP", usage: "serve a site only once its ownership is proven in DNS (default: pending sites are served too)", boolean: func(c *Config) *bool { return &c.VerifySiteOwnership }},
	{flag: "name-servers", env: "ESACERT_NAME_SERVERS", usage: "comma-separated name servers shown for NS sites", str: func(c *Config) *string { return &c.NameServers }},
	{flag: "site-verify-interval", env: "ESACERT_SITE_VERIFY_INTERVAL", usage: "wait before a pending site's second ownership check, doubling after each failure up to 60 times this; 1s to 24h (default 1m)", str: func(c *Config) *string { return &c.SiteVerifyInterval }},
	{flag: "ticket-rotation", env: "ESACERT_TICKET_ROTATION", usage: "how often the key sealing the edge's TLS session tickets (shared by the fleet) is replaced; tickets resume for up to twice this; 1m to 168h, or off for no resumption (default 1h)", str: func(c *Config) *string { return &c.TicketRotation }},
	{flag: "resume-hybrid", env: "ESACERT_RESUME_HYBRID", usage: "resumed TLS 1.3 handshakes keep the post-quantum hybrid key exchange (default: a session that came from one resumes with X25519, whose secret still rests on the first handshake's ML-KEM, at about half the cost)", boolean: func(c *Config) *bool { return &c.ResumeHybrid }},
	{flag: "verify-resolvers", env: "ESACERT_VERIFY_RESOLVERS", usage: "resolvers (host:port, comma-separated) VerifySite looks up DNS through (default the system's)", str: func(c *Config) *string { return &c.VerifyResolvers }},
	{flag: "private-origins", env: "ESACERT_PRIVATE_ORIGINS", usage: "ranges that are not public (CIDR, comma-separated, e.g. 10.0.0.0/8,127.0.0.1/32) that proxied records may have as origins (default none: loopback, private, link-local … origins are refused)", str: func(c *Config) *string { return &c.PrivateOrigins }},
	{flag: "cname-zone", env: "ESACERT_CNAME_ZONE", usage: "CNAME suffix shown for CNAME sites", str: func(c *Config) *string { return &c.CnameZone }},
	{flag: "master-key-file", env: "ESACERT_MASTER_KEY_FILE", usage: "file holding the master keys that seal private keys, one per line, newest first (default: master.key in --data, generated on first start)", str: func(c *Config) *string { return &c.MasterKeyFile }},
	{flag: "to", env: "ESACERT_MIGRATE_TO", usage: "migrate: the PostgreSQL database (postgres://…) to copy the SQLite database into", str: func(c *Config) *string { return &c.MigrateTo }},
	{flag: "new-master-key-file", env: "ESACERT_NEW_MASTER_KEY_FILE", usage: "rotate-master-key: the key to rotate to (default: a new key written first into the master key file)", str: func(c *Config) *string { return &c.NewMasterKeyFile }},
	{flag: "acme-ca", env: "ESACERT_ACME_CA", usage: "extra ACME CAs: NAME=DIRECTORY_URL, comma-separated (lets_encrypt is built in)", str: func(c *Config) *string { return &c.ACMECAs }},
	{flag: "acme-ca-roots", env: "ESACERT_ACME_CA_ROOTS", usage: "PEM roots to trust for the ACME CAs' HTTPS (private CAs)", str: func(c *Config) *string { return &c.ACMECARoots }},
	{flag: "acme-challenges", env: "ESACERT_ACME_CHALLENGES", usage: "challenge types answered for names that are not wildcards: http-01, tls-alpn-01, dns-01, comma-separated (default http-01)", str: func(c *Config) *string { return &c.ACMEChallenges }},
	{flag: "acme-dns-provider", env: "ESACERT_ACME_DNS_PROVIDER", usage: "DNS-01 provider (lego's name, e.g. cloudflare, route53, httpreq, exec; credentials in lego's environment variables): enables wildcards", str: func(c *Config) *string { return &c.ACMEDNSProvider }},
	{flag: "acme-dns-resolvers", env: "ESACERT_ACME_DNS_RESOLVERS", usage: "resolvers (host:port, comma-separated) that DNS-01 checks propagation through", str: func(c *Config) *string { return &c.ACMEDNSResolvers }},
	{flag: "acme-email", env: "ESACERT_ACME_EMAIL", usage: "contact e-mail of the ACME accounts", str: func(c *Config) *string { return &c.ACMEEmail }},
	{flag: "acme-staging", env: "ESACERT_ACME_STAGING", usage: "lets_encrypt uses Let's Encrypt's staging CA", boolean: func(c *Config) *bool { return &c.ACMEStaging }},
	{flag: "free-cert-rsa-twin", env: "ESACERT_FREE_CERT_RSA_TWIN", usage: "also issue an RSA certificate beside each ECDSA free certificate, for old clients", boolean: func(c *Config) *bool { return &c.FreeCertRSATwin }},
	{flag: "free-cert-key-type", env: "ESACERT_FREE_CERT_KEY_TYPE", usage: "key of free certificates: ecdsa-p256 (default), ecdsa-p384, rsa-2048", str: func(c *Config) *string { return &c.FreeCertKeyType }},
	{flag: "renew-poll", env: "ESACERT_RENEW_POLL", usage: "how often the renewer looks for due certificates (default 1m)", str: func(c *Config) *string { return &c.RenewPoll }},
	{flag: "ocsp-poll", env: "ESACERT_OCSP_POLL", usage: "how often the renewer looks for OCSP responses to fetch for stapling (default 30s)", str: func(c *Config) *string { return &c.OCSPPoll }},
	{flag: "retry-base", env: "ESACERT_RETRY_BASE", usage: "first wait after a failed issuance, doubling up to 6h (default 1m)", str: func(c *Config) *string { return &c.RetryBase }},
	{flag: "log-format", env: "ESACERT_LOG_FORMAT", usage: "json or text (default json)", str: func(c *Config) *string { return &c.LogFormat }},
	{flag: "audit-reads", env: "ESACERT_AUDIT_READS", usage: "record reads (Get…, List…) in the audit trail too", boolean: func(c *Config) *bool { return &c.AuditReads }},
	{flag: "audit-retention-days", env: "ESACERT_AUDIT_RETENTION_DAYS", usage: "days audit events are kept (default 90)", str: func(c *Config) *string { return &c.AuditRetentionDays }},
	{flag: "notify-poll", env: "ESACERT_NOTIFY_POLL", usage: "how often renewer nodes look for certificate notices to record and send (default 1m)", str: func(c *Config) *string { return &c.NotifyPoll }},
	{flag: "access-log", env: "ESACERT_ACCESS_LOG", usage: "the edge's access log, a JSON line a request: a file (reopened on SIGHUP) or - for standard output (default none)", str: func(c *Config) *string { return &c.AccessLog }},
	{flag: "access-log-sample", env: "ESACERT_ACCESS_LOG_SAMPLE", usage: "fraction of requests the access log keeps, 0 to 1 (default 1)", str: func(c *Config) *string { return &c.AccessLogSample }},
	{flag: "no-sni-host", env: "ESACERT_NO_SNI_HOST", usage: "host whose certificate and settings answer clients that send no SNI, unless its HttpsNoSniDeny is on (default none: such handshakes are refused)", str: func(c *Config) *string { return &c.NoSNIHost }},
	{flag: "edge-cert-cache", env: "ESACERT_EDGE_CERT_CACHE", usage: "certificates the edge keeps ready to serve (parsed, key unsealed), 1 to 10000000; the others are rebuilt from their sealed copy on their next handshake (default 10000)", str: func(c *Config) *string { return &c.EdgeCertCache }},
	{flag: "log-level", env: "ESACERT_LOG_LEVEL", usage: "debug, info, warn or error (default info)", str: func(c *Config) *string { return &c.LogLevel }},
}

// Defaults returns a Config holding only the defaults.
func Defaults() Config {
	return Config{
		DataDir:            "./esacert-data",
		APIAddr:            "127.0.0.1:8787",
		HTTPSAddr:          ":8443",
		HTTPAddr:           ":8080",
		Roles:              "api,edge,renewer",
		RenewPoll:          "1m",
		OCSPPoll:           "30s",
		SiteVerifyInterval: "1m",
		TicketRotation:     "1h",
		RetryBase:          "1m",
		NotifyPoll:         "1m",
		DefaultPlan:        "basic",
		LogFormat:          "json",
		LogLevel:           "info",
		AccessLogSample:    "1",
		EdgeCertCache:      "10000",

		AuditRetentionDays: "90",
	}
}

// Load parses args (the words after the subcommand) and the environment
// that getenv reads, over the JSON file named by --config or ESACERT_CONFIG,
// over the defaults. Unknown flags and unknown file keys are errors. The
// result is validated.
func Load(name string, args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	b := bind(fs)
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	return b.resolve(fs, getenv)
}

// binding holds what the flags of the options parse into, until resolve
// lays them over the environment, the file and the defaults.
type binding struct {
	configFile *string
	parsed     Config
}

// bind defines --config and a flag for every option on fs.
func bind(fs *flag.FlagSet) *binding {
	b := &binding{configFile: fs.String("config", "", "JSON configuration file (env ESACERT_CONFIG)")}
	for _, o := range options {
		usage := o.usage + " (env " + o.env + ")"
		if o.str != nil {
			fs.StringVar(o.str(&b.parsed), o.flag, "", usage)
		} else {
			fs.BoolVar(o.boolean(&b.parsed), o.flag, false, usage)
		}
	}
	return b
}

// resolve builds the Config from the flags fs has parsed, the environment,
// the file and the defaults, and validates it.
func (b *binding) resolve(fs *flag.FlagSet, getenv func(string) string) (Config, error) {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	c := Defaults()
	file := *b.configFile
	if file == "" {
		file = getenv("ESACERT_CONFIG")
	}
	if file != "" {
		if err := loadFile(file, &c); err != nil {
			return Config{}, err
		}
	}
	var errs []error
	for _, o := range options {
		switch {
		case set[o.flag] && o.str != nil:
			*o.str(&c) = *o.str(&b.parsed)
		case set[o.flag]:
			*o.boolean(&c) = *o.boolean(&b.parsed)
		case getenv(o.env) != "" && o.str != nil:
			*o.str(&c) = getenv(o.env)
		case getenv(o.env) != "":
			b, err := strconv.ParseBool(getenv(o.env))
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %q is not true or false", o.env, getenv(o.env)))
			}
			*o.boolean(&c) = b
		}
	}
	c.AccessKeyID = getenv("ESACERT_ACCESS_KEY_ID")
	c.AccessKeySecret = getenv("ESACERT_ACCESS_KEY_SECRET")
	c.MasterKey = getenv("ESACERT_MASTER_KEY")
	c.ACMEEAB = getenv("ESACERT_ACME_EAB")
	if c.DB == "" {
		c.DB = "sqlite:" + filepath.Join(c.DataDir, "esacert.db")
	}
	errs = append(errs, c.resolveNotify(getenv)...)
	if err := c.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, err
	}
	return c, nil
}

// loadFile reads a JSON configuration file strictly: unknown keys are errors.
func loadFile(path string, c *Config) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	return nil
}

// The bounds of SiteVerifyInterval. Below a second the background checks
// of pending sites would hammer the resolvers (and a zero gap made the
// verifier's ticker panic); beyond a day a failed site would wait two
// months and more, and 60 times the interval nears time.Duration's range.
const (
	MinSiteVerifyInterval = time.Second
	MaxSiteVerifyInterval = 24 * time.Hour
)

// The bounds of TicketRotation. Below a minute the nodes would rotate
// faster than a fleet reads the keys (visitors would miss resumptions);
// beyond a week is crypto/tls's own limit on a session's age.
const (
	MinTicketRotation = time.Minute
	MaxTicketRotation = 7 * 24 * time.Hour
)

// Validate reports every problem in c at once.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.DataDir == "" {
		bad("--data must not be empty")
	}
	if !strings.HasPrefix(c.DB, "sqlite:") && !strings.HasPrefix(c.DB, "postgres://") && !strings.HasPrefix(c.DB, "postgresql://") {
		bad("--db must be sqlite:PATH or a postgres:// DSN, not %q", redactDSN(c.DB))
	}
	for _, a := range []struct{ flag, addr string }{{"--api-addr", c.APIAddr}, {"--https-addr", c.HTTPSAddr}, {"--http-addr", c.HTTPAddr}} {
		if _, _, err := net.SplitHostPort(a.addr); err != nil {
			bad("%s %q is not HOST:PORT", a.flag, a.addr)
		}
	}
	if c.HTTP3Addr != "" && c.HTTP3Addr != "off" {
		if _, _, err := net.SplitHostPort(c.HTTP3Addr); err != nil {
			bad("--http3-addr %q is not HOST:PORT, \"\" or off", c.HTTP3Addr)
		}
	}
	if c.MetricsAddr != "" {
		host, port, err := net.SplitHostPort(c.MetricsAddr)
		if err != nil {
			bad("--metrics-addr %q is not HOST:PORT", c.MetricsAddr)
		}
		for _, a := range []struct{ flag, addr string }{{"--api-addr", c.APIAddr}, {"--https-addr", c.HTTPSAddr}, {"--http-addr", c.HTTPAddr},
			{"--console-addr", c.ConsoleAddr}} {
			h, p, _ := net.SplitHostPort(a.addr)
			if err == nil && port != "0" && p == port && (h == host || h == "" || host == "") {
				bad("--metrics-addr %q is also %s: the metrics are never served on the API's, the console's or the edge's listeners", c.MetricsAddr, a.flag)
			}
		}
	}
	if c.ConsoleAddr != "" {
		if _, _, err := net.SplitHostPort(c.ConsoleAddr); err != nil {
			bad("--console-addr %q is not HOST:PORT", c.ConsoleAddr)
		}
		if !c.Has("api") {
			bad("--console-addr needs the api role (the console is a client of the node's API)")
		}
	}
	roles := strings.Split(c.Roles, ",")
	if strings.TrimSpace(c.Roles) == "" {
		bad("--roles must name at least one of api, edge, renewer")
	}
	for _, r := range roles {
		switch strings.TrimSpace(r) {
		case "api", "edge", "renewer":
		default:
			bad("--roles: %q is not api, edge or renewer", r)
		}
	}
	if (c.APITLSCert == "") != (c.APITLSKey == "") {
		bad("--api-tls-cert and --api-tls-key go together")
	}
	if _, ok := site.LookupPlan(c.DefaultPlan); !ok {
		bad("--default-plan %q is not a plan; use one of %s", c.DefaultPlan, strings.Join(site.PlanNames(), ", "))
	}
	for tier, p := range c.PlanLimits {
		if _, ok := site.DefaultLimits()[tier]; !ok {
			bad("plan_limits: %q is not a plan tier (basic, standard, advanced, enterprise)", tier)
		}
		if p.Sites < 0 || p.CustomCerts < 0 || p.FreeCerts < 0 {
			bad("plan_limits.%s: limits cannot be negative", tier)
		}
	}
	if n, err := strconv.Atoi(c.AuditRetentionDays); err != nil || n < 1 {
		bad("--audit-retention-days %q is not a whole number of days, at least 1", c.AuditRetentionDays)
	}
	errs = append(errs, c.validateNotify()...)
	for _, d := range []struct{ flag, v string }{{"--renew-poll", c.RenewPoll}, {"--retry-base", c.RetryBase},
		{"--notify-poll", c.NotifyPoll}, {"--ocsp-poll", c.OCSPPoll}} {
		if v, err := time.ParseDuration(d.v); err != nil || v <= 0 {
			bad("%s %q is not a positive duration such as 1m", d.flag, d.v)
		}
	}
	if v, err := time.ParseDuration(c.TicketRotation); c.TicketRotation != "off" &&
		(err != nil || v < MinTicketRotation || v > MaxTicketRotation) {
		bad("--ticket-rotation %q is not off nor a duration from %v to %v, such as 1h", c.TicketRotation,
			MinTicketRotation, MaxTicketRotation)
	}
	if v, err := time.ParseDuration(c.SiteVerifyInterval); err != nil || v < MinSiteVerifyInterval || v > MaxSiteVerifyInterval {
		bad("--site-verify-interval %q is not a duration from %v to %v, such as 1m", c.SiteVerifyInterval,
			MinSiteVerifyInterval, MaxSiteVerifyInterval)
	}
	for _, t := range List(c.ACMEChallenges) {
		switch t {
		case "http-01", "tls-alpn-01":
		case "dns-01":
			if c.ACMEDNSProvider == "" {
				bad("--acme-challenges: dns-01 needs --acme-dns-provider")
			}
		default:
			bad("--acme-challenges: %q is not http-01, tls-alpn-01 or dns-01", t)
		}
	}
	for _, r := range List(c.ACMEDNSResolvers) {
		if _, _, err := net.SplitHostPort(r); err != nil {
			bad("--acme-dns-resolvers: %q is not host:port", r)
		}
	}
	for _, r := range List(c.VerifyResolvers) {
		if _, _, err := net.SplitHostPort(r); err != nil {
			bad("--verify-resolvers: %q is not host:port", r)
		}
	}
	if _, err := origin.ParseAllow(List(c.PrivateOrigins)); err != nil {
		bad("--private-origins: %v", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	switch c.FreeCertKeyType {
	case "", "ecdsa-p256", "ecdsa-p384", "rsa-2048":
	default:
		bad("--free-cert-key-type must be ecdsa-p256, ecdsa-p384 or rsa-2048")
	}
	if _, err := c.ACMEDirectories(); err != nil {
		bad("--acme-ca: %v", err)
	}
	if _, err := c.ACMEBindings(); err != nil {
		bad("ESACERT_ACME_EAB: %v", err)
	}
	if f, err := strconv.ParseFloat(c.AccessLogSample, 64); err != nil || !(f >= 0 && f <= 1) {
		bad("--access-log-sample %q is not a fraction from 0 to 1, such as 0.1", c.AccessLogSample)
	}
	if n, err := strconv.Atoi(c.EdgeCertCache); err != nil || n < 1 || n > maxEdgeCertCache {
		bad("--edge-cert-cache %q is not a number of certificates from 1 to 10000000", c.EdgeCertCache)
	}
	if c.NoSNIHost != "" && !hostName(c.NoSNIHost) {
		bad("--no-sni-host %q is not a host name (no port, no wildcard)", c.NoSNIHost)
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		bad("--log-format must be json or text")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("--log-level must be debug, info, warn or error")
	}
	if (c.AccessKeyID == "") != (c.AccessKeySecret == "") {
		bad("ESACERT_ACCESS_KEY_ID and ESACERT_ACCESS_KEY_SECRET go together")
	}
	return errors.Join(errs...)
}

// ACMEDirectories returns the configured ACME CAs by name, lets_encrypt
// included.
func (c *Config) ACMEDirectories() (map[string]string, error) {
	dirs := map[string]string{"lets_encrypt": "https://acme-v02.api.letsencrypt.org/directory"}
	if c.ACMEStaging {
		dirs["lets_encrypt"] = "https://acme-staging-v02.api.letsencrypt.org/directory"
	}
	for _, pair := range strings.Split(c.ACMECAs, ",") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		name, url, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok || name == "" || !strings.HasPrefix(url, "https://") {
			return nil, fmt.Errorf("%q is not NAME=https://DIRECTORY_URL", pair)
		}
		dirs[name] = url
	}
	return dirs, nil
}

// EAB is the external account binding of one CA.
type EAB struct{ KeyID, HMAC string }

// ACMEBindings returns the EAB credentials by CA name. Errors never quote
// the HMAC key.
func (c *Config) ACMEBindings() (map[string]EAB, error) {
	dirs, err := c.ACMEDirectories()
	if err != nil {
		dirs = nil // reported on its own
	}
	out := map[string]EAB{}
	for i, pair := range strings.Split(c.ACMEEAB, ",") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		name, cred, _ := strings.Cut(strings.TrimSpace(pair), "=")
		kid, hmac, ok := strings.Cut(cred, ":")
		if name == "" || kid == "" || hmac == "" || !ok {
			return nil, fmt.Errorf("entry %d is not NAME=KEY_ID:HMAC_KEY", i+1)
		}
		if _, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(hmac, "=")); err != nil {
			return nil, fmt.Errorf("the HMAC key of %q is not base64url", name)
		}
		if _, ok := dirs[name]; !ok && dirs != nil {
			return nil, fmt.Errorf("%q names no configured CA (see --acme-ca)", name)
		}
		out[name] = EAB{KeyID: kid, HMAC: strings.TrimRight(hmac, "=")}
	}
	return out, nil
}

// PrivateOriginRanges returns the ranges of PrivateOrigins, already
// validated (a Config that did not pass Validate may lose bad ones).
func (c *Config) PrivateOriginRanges() []netip.Prefix {
	ranges, _ := origin.ParseAllow(List(c.PrivateOrigins))
	return ranges
}

// Duration reads one of the duration settings, already validated.
func Duration(v string) time.Duration {
	d, _ := time.ParseDuration(v)
	return d
}

// Has reports whether the node runs role.
func (c *Config) Has(role string) bool { return slices.Contains(List(c.Roles), role) }

// List reads a comma-separated setting: its items, trimmed, empty ones
// left out.
func List(v string) []string {
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// redactDSN hides a password in a DSN shown in an error.
func redactDSN(dsn string) string {
	if i := strings.Index(dsn, "://"); i >= 0 {
		if at := strings.LastIndex(dsn, "@"); at > i {
			return dsn[:i+3] + "…@" + dsn[at+1:]
		}
	}
	return dsn
}

// maxEdgeCertCache bounds --edge-cert-cache (about 50 GB of built certificates).
const maxEdgeCertCache = 10_000_000

// EdgeCertCacheSize is EdgeCertCache, already validated.
func (c *Config) EdgeCertCacheSize() int {
	n, err := strconv.Atoi(c.EdgeCertCache)
	if err != nil {
		return 0 // the edge's default
	}
	return n
}

// AccessLogFraction is AccessLogSample, already validated.
func (c *Config) AccessLogFraction() float64 {
	f, err := strconv.ParseFloat(c.AccessLogSample, 64)
	if err != nil {
		return 1
	}
	return f
}

// hostName reports whether v is a DNS host name: labels of letters, digits
// and '-' joined by dots, a trailing dot allowed.
func hostName(v string) bool {
	v = strings.TrimSuffix(v, ".")
	if v == "" || len(v) > 253 {
		return false
	}
	for _, label := range strings.Split(v, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		if strings.Trim(label, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != "" {
			return false
		}
	}
	return true
}

// AuditRetention is how long audit events are kept.
func (c *Config) AuditRetention() time.Duration {
	n, _ := strconv.Atoi(c.AuditRetentionDays)
	return time.Duration(max(n, 1)) * 24 * time.Hour
}

// resolveNotify names the channels that have no name and reads the URLs
// and secrets that the configuration file leaves to the environment.
func (c *Config) resolveNotify(getenv func(string) string) []error {
	var errs []error
	for i := range c.Notify {
		ch := &c.Notify[i]
		if ch.Name == "" {
			ch.Name = ch.Type
		}
		for _, ref := range []struct {
			what, env string
			v         *string
		}{{"url", ch.URLEnv, &ch.URL}, {"secret", ch.SecretEnv, &ch.Secret}} {
			switch {
			case ref.env == "":
			case *ref.v != "":
				errs = append(errs, fmt.Errorf("notify[%d] (%s): give %s or %s_env, not both", i, ch.Name, ref.what, ref.what))
			case getenv(ref.env) == "":
				errs = append(errs, fmt.Errorf("notify[%d] (%s): %s_env names %s, which is not set", i, ch.Name, ref.what, ref.env))
			default:
				*ref.v = getenv(ref.env)
			}
		}
	}
	return errs
}

// validateNotify checks the notification channels. Errors never quote a
// URL or a secret.
func (c *Config) validateNotify() []error {
	var errs []error
	bad := func(i int, ch NotifyChannel, format string, args ...any) {
		errs = append(errs, fmt.Errorf("notify[%d] (%s): %s", i, ch.Name, fmt.Sprintf(format, args...)))
	}
	names := map[string]bool{}
	for i, ch := range c.Notify {
		if ch.Name == "" || len(ch.Name) > 64 || strings.Trim(ch.Name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != "" {
			bad(i, ch, "name must be 1 to 64 letters, digits, '-', '_' or '.'")
		} else if names[ch.Name] {
			bad(i, ch, "the name is taken by another channel; give each channel of one type its own name")
		}
		names[ch.Name] = true
		if !slices.Contains(notifyTypes, ch.Type) {
			bad(i, ch, "type %q is not one of %s", ch.Type, strings.Join(notifyTypes, ", "))
		}
		if u, err := url.Parse(ch.URL); ch.URL == "" {
			bad(i, ch, "url (or url_env) is required")
		} else if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.Fragment != "" {
			bad(i, ch, "url is not an http:// or https:// URL without user info or fragment")
		}
		if ch.Secret != "" && (ch.Type == "wecom" || ch.Type == "slack") {
			bad(i, ch, "a %s robot has no signing secret; leave secret out", ch.Type)
		}
		for _, e := range ch.Events {
			if !slices.Contains(notify.Events, e) {
				bad(i, ch, "event %q is not one of %s", e, strings.Join(notify.Events, ", "))
			}
		}
	}
	return errs
}
