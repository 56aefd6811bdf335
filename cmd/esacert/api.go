package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/esacert/esacert/internal/accesskey"
	"github.com/esacert/esacert/internal/api"
	"github.com/esacert/esacert/internal/apiclient"
	"github.com/esacert/esacert/internal/config"
	"github.com/esacert/esacert/internal/node"
)

// apiCmd is esacert api ACTION [--Name value …] [flags]: one call, its
// JSON answer on stdout. Exit status 0 for an answer, 1 for an error
// answer (Code and Message on stderr) or a node that cannot be reached, 2
// for a mistake on the command line.
func apiCmd(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	params, version, rest, help, err := splitParams(args)
	if err != nil {
		fmt.Fprintf(stderr, "esacert api: %v\n", err)
		return 2
	}
	if help {
		apiHelp(stdout, firstAction(rest))
		return 0
	}
	fs := flag.NewFlagSet("esacert api", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { apiHelp(stderr, "") }
	cc, positional, err := config.LoadClient(fs, rest, getenv)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "esacert api: %v\n", err)
		}
		return 2
	}
	if len(positional) != 1 {
		fmt.Fprintln(stderr, "usage: esacert api ACTION [--Name value …] [flags]   (esacert api --help lists the actions)")
		if len(positional) > 1 {
			fmt.Fprintf(stderr, "esacert api: one action at a time, not %s\n", strings.Join(positional, " "))
		}
		return 2
	}
	action := positional[0]
	if version == "" {
		vs := actionVersions(action)
		if len(vs) == 0 {
			fmt.Fprintf(stderr, "esacert api: esacert has no action %q: esacert api --help lists them (--Version VERSION calls it anyway)\n", action)
			return 2
		}
		version = vs[0].Version
	}
	values, err := paramValues(params)
	if err != nil {
		fmt.Fprintf(stderr, "esacert api: %v\n", err)
		return 2
	}
	c, err := newAPIClient(cc)
	if err != nil {
		fmt.Fprintf(stderr, "esacert api: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	out, err := c.Call(ctx, version, action, values)
	if err != nil {
		return reportCallError(stderr, "esacert api", cc.Endpoint, err)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, out, "", "  "); err != nil {
		pretty.Reset()
		pretty.Write(out)
	}
	pretty.WriteByte('\n')
	stdout.Write(pretty.Bytes())
	return 0
}

// param is one --Name value of the command line, in order.
type param struct{ name, value string }

// splitParams takes the action's parameters out of args: every --Name
// (or -Name) whose name begins with a capital letter, with its value
// (--Name value or --Name=value). --Version is the version. What is left is
// esacert's own flags and the action; help reports -h or --help among them.
func splitParams(args []string) (params []param, version string, rest []string, help bool, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		name := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		switch {
		case a == "-h" || a == "-help" || a == "--help":
			help = true
			continue
		case name == a || name == "" || name[0] < 'A' || name[0] > 'Z':
			rest = append(rest, a)
			continue
		}
		value, ok := "", false
		if n, v, found := strings.Cut(name, "="); found {
			name, value, ok = n, v, true
		} else if i+1 < len(args) {
			value, ok = args[i+1], true
			i++
		}
		if !ok {
			return nil, "", nil, false, fmt.Errorf("--%s needs a value", name)
		}
		if name == "Version" {
			version = value
			continue
		}
		params = append(params, param{name, value})
	}
	return params, version, rest, help, nil
}

// paramValues builds the request's parameters: a value @FILE is the file's
// content, @@… a value that begins with @. A name given twice is a mistake.
func paramValues(params []param) (url.Values, error) {
	values := url.Values{}
	for _, p := range params {
		if values.Has(p.name) {
			return nil, fmt.Errorf("--%s is given twice", p.name)
		}
		v := p.value
		switch {
		case strings.HasPrefix(v, "@@"):
			v = v[1:]
		case strings.HasPrefix(v, "@"):
			data, err := os.ReadFile(v[1:])
			if err != nil {
				return nil, fmt.Errorf("--%s: %w", p.name, err)
			}
			v = string(data)
		}
		values.Set(p.name, v)
	}
	return values, nil
}

// actionVersions returns the APIs that have action, ESA first.
func actionVersions(action string) []api.Product {
	var out []api.Product
	for _, p := range api.Products() {
		if slices.Contains(p.Actions, action) {
			out = append(out, p)
		}
	}
	return out
}

// firstAction is the first word of args that names an action, for help.
func firstAction(args []string) string {
	for _, a := range args {
		if len(actionVersions(a)) > 0 {
			return a
		}
	}
	return ""
}

// newAPIClient builds the client of cc: its key (the data directory's
// when it is the node's own and nothing else has one) and its TLS roots.
func newAPIClient(cc config.Client) (*apiclient.Client, error) {
	cred := apiclient.Credentials{AccessKeyID: cc.AccessKeyID, AccessKeySecret: cc.AccessKeySecret, SecurityToken: cc.SecurityToken}
	if cred.AccessKeyID == "" {
		path := cc.LocalKey(node.RootKeyFile)
		if path == "" {
			return nil, fmt.Errorf("no access key to call %s with: use a profile with access_key_id (--profile), or set ESACERT_ACCESS_KEY_ID and ESACERT_ACCESS_KEY_SECRET (or ALIBABA_CLOUD_ACCESS_KEY_ID and …_SECRET)", cc.Endpoint)
		}
		k, err := accesskey.Load(path)
		if err != nil {
			return nil, fmt.Errorf("no access key: %v; point --data (ESACERT_DATA) at the node's data directory, or set ESACERT_ACCESS_KEY_ID and ESACERT_ACCESS_KEY_SECRET, or use --profile", err)
		}
		cred.AccessKeyID, cred.AccessKeySecret = k.ID, k.Secret
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: cc.Insecure}
	if len(cc.Roots) > 0 && !cc.Insecure {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		for _, f := range cc.Roots {
			pemData, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("certificates to trust: %w", err)
			}
			if !pool.AppendCertsFromPEM(pemData) {
				return nil, fmt.Errorf("certificates to trust: %s holds no PEM certificate", f)
			}
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	return &apiclient.Client{
		Endpoint:    cc.Endpoint,
		Credentials: cred,
		HTTP:        &http.Client{Transport: tr, Timeout: 2 * time.Minute},
		UserAgent:   "esacert/" + version,
	}, nil
}

// reportCallError writes a failed call on stderr: an error answer as its
// Code and Message, then its other fields; anything else with a hint.
// It returns the exit status, 1.
func reportCallError(stderr io.Writer, cmd, endpoint string, err error) int {
	var e *apiclient.Error
	if !errors.As(err, &e) {
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		var tlsErr *tls.CertificateVerificationError
		switch {
		case errors.As(err, &tlsErr):
			fmt.Fprintln(stderr, "  the node's certificate is not trusted: give its CA with --ca-file (or a profile's ca_file), or --insecure")
		case strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "no such host"):
			fmt.Fprintf(stderr, "  is esacert serve running at %s? --api-addr (ESACERT_API_ADDR), --endpoint or --profile name another node\n", endpoint)
		}
		return 1
	}
	if e.Code == "" {
		fmt.Fprintf(stderr, "%s: HTTP %d from %s: %s\n", cmd, e.HTTPStatus, endpoint, strings.TrimSpace(string(e.Body)))
		return 1
	}
	fmt.Fprintf(stderr, "%s: %s\n", e.Code, e.Message)
	var fields map[string]json.RawMessage
	json.Unmarshal(e.Body, &fields)
	delete(fields, "Code")
	delete(fields, "Message")
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	order := map[string]int{"Recommend": 1, "RequestId": 2, "HostId": 3}
	sort.Slice(names, func(i, j int) bool {
		oi, oj := order[names[i]], order[names[j]]
		if oi == 0 {
			oi = 9
		}
		if oj == 0 {
			oj = 9
		}
		if oi != oj {
			return oi < oj
		}
		return names[i] < names[j]
	})
	fmt.Fprintf(stderr, "  HTTP status: %d\n", e.HTTPStatus)
	for _, n := range names {
		var s string
		if json.Unmarshal(fields[n], &s) != nil {
			s = string(fields[n])
		}
		if s != "" {
			fmt.Fprintf(stderr, "  %s: %s\n", n, s)
		}
	}
	return 1
}

// apiHelp writes the usage of esacert api, or of one action.
func apiHelp(w io.Writer, action string) {
	if action != "" {
		vs := actionVersions(action)
		fmt.Fprintf(w, "usage: esacert api %s [--Name value …] [flags]\n\n", action)
		fmt.Fprintf(w, "%s is an action of %s, version %s", action, vs[0].Name, vs[0].Version)
		if len(vs) > 1 {
			fmt.Fprint(w, " (the default)")
			for _, p := range vs[1:] {
				fmt.Fprintf(w, ", and of %s, version %s (--Version %s)", p.Name, p.Version, p.Version)
			}
		}
		fmt.Fprint(w, ".\nIts parameters are the API's, as its reference names them (--Name value); esacert api --help says how values are given.\n")
		return
	}
	fmt.Fprint(w, `usage: esacert api ACTION [--Name value …] [flags]

Calls ACTION on an esacert node's API, signed with ACS3-HMAC-SHA256, and prints the JSON answer.

Parameters: --Name value or --Name=value, named as the API names them (they begin with a capital
letter). --Name @FILE sends the file's content (--Certificate @www.pem); @@… sends a value that
begins with @. JSON-typed parameters are passed as given: --Data '{"Value":"203.0.113.10"}'.
--Version VERSION calls the action of that API version (default: the one listed below).

Which node: the configuration esacert serve reads (--config, ESACERT_CONFIG, --data / ESACERT_DATA,
--api-addr / ESACERT_API_ADDR: https when --api-tls-cert is set, and that certificate is trusted), or
  --endpoint URL    another node, such as https://esacert.example.net:8787 (env ESACERT_ENDPOINT)
  --profile NAME    a profile of the profiles file (env ESACERT_PROFILE; file: env ESACERT_PROFILES,
                    default esacert/profiles.json in the user's configuration directory)
  --ca-file FILE    PEM certificates to trust for https (env ESACERT_CA_FILE)
  --insecure        do not verify the node's certificate (env ESACERT_INSECURE)
Which key: the profile's; ESACERT_ACCESS_KEY_ID and ESACERT_ACCESS_KEY_SECRET (ESACERT_SECURITY_TOKEN);
ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET (ALIBABA_CLOUD_SECURITY_TOKEN); else,
for the node's own address, the root access key in its data directory.

Exit status: 0 for an answer; 1 for an error answer (Code and Message on stderr) or a node that
cannot be reached; 2 for a mistake on the command line.

Actions:
`)
	for _, p := range api.Products() {
		fmt.Fprintf(w, "\n%s (--Version %s):\n", p.Name, p.Version)
		line := " "
		for _, a := range p.Actions {
			if len(line)+1+len(a) > 100 {
				fmt.Fprintln(w, line)
				line = " "
			}
			line += " " + a
		}
		fmt.Fprintln(w, line)
	}
}
