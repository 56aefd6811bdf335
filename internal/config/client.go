package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
)

// Client is what the commands that call a node's API (esacert api, esacert
// certs) run with: the node's own configuration, read as serve reads it,
// and where to send the requests and what to sign them with.
//
// Where each part comes from, first match wins:
//   - the endpoint: --endpoint; the profile's endpoint; ESACERT_ENDPOINT;
//     the node's --api-addr (http, or https when it has --api-tls-cert; a
//     listen address such as :8787 or 0.0.0.0:8787 is reached on loopback);
//   - the key: the profile's; ESACERT_ACCESS_KEY_ID and
//     ESACERT_ACCESS_KEY_SECRET (with ESACERT_SECURITY_TOKEN);
//     ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET (with
//     ALIBABA_CLOUD_SECURITY_TOKEN); and, only for the node's own --api-addr,
//     its data directory's root access key (see LocalKey);
//   - the roots to trust for https besides the system's: --ca-file, the
//     profile's ca_file or ESACERT_CA_FILE, and the node's --api-tls-cert
//     when the endpoint is the node's own address;
//   - --insecure, the profile's insecure or ESACERT_INSECURE skips the
//     verification of the node's certificate.
type Client struct {
	Config
	// Endpoint is the API's URL, such as http://127.0.0.1:8787.
	Endpoint string
	// Local reports that Endpoint is the node's own --api-addr: only then
	// may the data directory's key sign (LocalKey).
	Local bool
	// AccessKeyID, AccessKeySecret and SecurityToken are the credentials
	// found in the profile or the environment; all empty when there were
	// none. KeySource says where they came from, for messages.
	AccessKeyID     string
	AccessKeySecret string
	SecurityToken   string
	KeySource       string
	// Roots are PEM files of certificates to trust for an https endpoint,
	// besides the system's roots.
	Roots []string
	// Insecure skips the verification of the node's certificate.
	Insecure bool
	// Profile is the profile used ("" for none), from ProfilesFile.
	Profile      string
	ProfilesFile string
}

// Profile is one entry of the profiles file: a node to call and the key to
// sign with. Every field is optional; what a profile leaves out comes from
// where it would without one (see Client), except the data directory's
// key, which signs only for the node's own address.
type Profile struct {
	Endpoint        string `json:"endpoint"`
	AccessKeyID     string `json:"access_key_id"`
	AccessKeySecret string `json:"access_key_secret"`
	SecurityToken   string `json:"security_token"`
	CAFile          string `json:"ca_file"`
	Insecure        bool   `json:"insecure"`
}

// clientFlags are the client's own flags.
type clientFlags struct {
	endpoint, caFile, profile *string
	insecure                  *bool
}

// LoadClient parses args with fs, on which the caller may have defined
// flags of its own, after defining on it every flag of Load and the
// client's: --endpoint, --profile, --ca-file and --insecure. Flags may come
// before, between and after the positional arguments, which it returns in
// order. A -h or --help answers flag.ErrHelp after fs.Usage.
func LoadClient(fs *flag.FlagSet, args []string, getenv func(string) string) (Client, []string, error) {
	b := bind(fs)
	cf := clientFlags{
		endpoint: fs.String("endpoint", "", "URL of the API to call, such as https://esacert.example.net:8787 (env ESACERT_ENDPOINT; default: --api-addr)"),
		profile:  fs.String("profile", "", "profile to use from the profiles file (env ESACERT_PROFILE)"),
		caFile:   fs.String("ca-file", "", "PEM file of CA certificates to trust for an https endpoint (env ESACERT_CA_FILE)"),
		insecure: fs.Bool("insecure", false, "do not verify the https endpoint's certificate (env ESACERT_INSECURE)"),
	}
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return Client{}, nil, err
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	cfg, err := b.resolve(fs, getenv)
	if err != nil {
		return Client{}, nil, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	c, err := resolveClient(cfg, cf, set, getenv)
	return c, positional, err
}

func resolveClient(cfg Config, cf clientFlags, set map[string]bool, getenv func(string) string) (Client, error) {
	c := Client{Config: cfg, ProfilesFile: ProfilesFile(getenv)}
	c.Profile = *cf.profile
	if !set["profile"] {
		c.Profile = getenv("ESACERT_PROFILE")
	}
	var p Profile
	if c.Profile != "" {
		var err error
		if p, err = LoadProfile(c.ProfilesFile, c.Profile); err != nil {
			return Client{}, err
		}
	}

	switch {
	case set["endpoint"]:
		c.Endpoint = *cf.endpoint
	case p.Endpoint != "":
		c.Endpoint = p.Endpoint
	case getenv("ESACERT_ENDPOINT") != "":
		c.Endpoint = getenv("ESACERT_ENDPOINT")
	default:
		c.Endpoint, c.Local = localEndpoint(cfg), true
	}
	if !c.Local {
		u, err := endpointURL(c.Endpoint)
		if err != nil {
			return Client{}, err
		}
		c.Endpoint = u
	}

	switch {
	case p.AccessKeyID != "" || p.AccessKeySecret != "":
		if p.AccessKeyID == "" || p.AccessKeySecret == "" {
			return Client{}, fmt.Errorf("profile %q in %s: access_key_id and access_key_secret go together", c.Profile, c.ProfilesFile)
		}
		c.AccessKeyID, c.AccessKeySecret, c.SecurityToken = p.AccessKeyID, p.AccessKeySecret, p.SecurityToken
		c.KeySource = fmt.Sprintf("profile %q", c.Profile)
	case cfg.AccessKeyID != "":
		c.AccessKeyID, c.AccessKeySecret, c.SecurityToken = cfg.AccessKeyID, cfg.AccessKeySecret, getenv("ESACERT_SECURITY_TOKEN")
		c.KeySource = "ESACERT_ACCESS_KEY_ID"
	case getenv("ALIBABA_CLOUD_ACCESS_KEY_ID") != "" || getenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET") != "":
		if getenv("ALIBABA_CLOUD_ACCESS_KEY_ID") == "" || getenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET") == "" {
			return Client{}, errors.New("ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET go together")
		}
		c.AccessKeyID, c.AccessKeySecret = getenv("ALIBABA_CLOUD_ACCESS_KEY_ID"), getenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET")
		c.SecurityToken = getenv("ALIBABA_CLOUD_SECURITY_TOKEN")
		c.KeySource = "ALIBABA_CLOUD_ACCESS_KEY_ID"
	}

	switch {
	case set["ca-file"]:
		c.Roots = append(c.Roots, *cf.caFile)
	case p.CAFile != "":
		c.Roots = append(c.Roots, p.CAFile)
	case getenv("ESACERT_CA_FILE") != "":
		c.Roots = append(c.Roots, getenv("ESACERT_CA_FILE"))
	}
	if c.Local && cfg.APITLSCert != "" {
		c.Roots = append(c.Roots, cfg.APITLSCert)
	}

	switch {
	case set["insecure"]:
		c.Insecure = *cf.insecure
	case p.Insecure:
		c.Insecure = true
	case getenv("ESACERT_INSECURE") != "":
		v, err := strconv.ParseBool(getenv("ESACERT_INSECURE"))
		if err != nil {
			return Client{}, fmt.Errorf("ESACERT_INSECURE: %q is not true or false", getenv("ESACERT_INSECURE"))
		}
		c.Insecure = v
	}
	return c, nil
}

// LocalKey is the path of the root access key file in the data directory,
// which signs when neither a profile nor the environment has a key and the
// endpoint is the node's own address; "" otherwise.
func (c *Client) LocalKey(name string) string {
	if !c.Local || c.AccessKeyID != "" {
		return ""
	}
	return filepath.Join(c.DataDir, name)
}

// localEndpoint is the URL of the node's own API: --api-addr, on loopback
// when it names no host or an unspecified address.
func localEndpoint(cfg Config) string {
	scheme := "http"
	if cfg.APITLSCert != "" {
		scheme = "https"
	}
	host, port, _ := net.SplitHostPort(cfg.APIAddr) // validated
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
		if ip != nil && ip.To4() == nil {
			host = "::1"
		}
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// endpointURL reads an endpoint given as a URL, or as host:port (http).
func endpointURL(e string) (string, error) {
	if !strings.Contains(e, "://") {
		e = "http://" + e
	}
	u, err := url.Parse(e)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return "", fmt.Errorf("--endpoint %q is not an http:// or https:// URL of a host (and port)", e)
	}
	return u.Scheme + "://" + u.Host, nil
}

// ProfilesFile is where the profiles are: ESACERT_PROFILES, else
// esacert/profiles.json in the user's configuration directory
// ($XDG_CONFIG_HOME or ~/.config on Linux and the other Unixes,
// ~/Library/Application Support on macOS, %AppData% on Windows).
func ProfilesFile(getenv func(string) string) string {
	if f := getenv("ESACERT_PROFILES"); f != "" {
		return f
	}
	var dir string
	switch runtime.GOOS {
	case "windows":
		dir = getenv("AppData")
	case "darwin", "ios":
		if h := getenv("HOME"); h != "" {
			dir = filepath.Join(h, "Library", "Application Support")
		}
	default:
		dir = getenv("XDG_CONFIG_HOME")
		if dir == "" || !filepath.IsAbs(dir) {
			dir = ""
			if h := getenv("HOME"); h != "" {
				dir = filepath.Join(h, ".config")
			}
		}
	}
	if dir == "" {
		return filepath.Join("esacert", "profiles.json")
	}
	return filepath.Join(dir, "esacert", "profiles.json")
}

// LoadProfile reads profile name from the profiles file at path: a JSON
// object of profiles by name, read strictly (unknown keys are errors). As
// it holds secrets, a file that other users may read or write is refused.
func LoadProfile(path, name string) (Profile, error) {
	st, err := os.Stat(path)
	if err != nil {
		return Profile{}, fmt.Errorf("profile %q: %w", name, err)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		return Profile{}, fmt.Errorf("profiles file %s: other users may read or change it (mode %v): chmod 600 it", path, st.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Profile{}, fmt.Errorf("profile %q: %w", name, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var all map[string]Profile
	if err := dec.Decode(&all); err != nil {
		return Profile{}, fmt.Errorf("profiles file %s: %w", path, err)
	}
	p, ok := all[name]
	if !ok {
		return Profile{}, fmt.Errorf("profiles file %s has no profile %q (it has: %s)", path, name, strings.Join(slices.Sorted(maps.Keys(all)), ", "))
	}
	return p, nil
}
