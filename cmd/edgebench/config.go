package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
)

// nginxConfig is nginx's configuration serving certs on addr as an operator
// would with one certificate a name: one server block per name with its
// certificate, TLS 1.2 and 1.3, session tickets (nginx's default) and a
// shared session cache for TLS 1.2 session ids, a worker per core, a hash
// of server names large enough for them all, and a small answer to every
// request (no origin: the harness measures the TLS side). dir is nginx's
// prefix, for its pid file, error log and temporary paths.
func nginxConfig(dir, addr string, workers int, certDir string, certs []leafCert) string {
	var c strings.Builder
	nginxHead(&c, dir, workers)
	fmt.Fprintf(&c, "\tserver_names_hash_max_size %d;\n\tserver_names_hash_bucket_size 64;\n", hashSize(len(certs)))
	nginxTLS(&c)
	for _, ct := range certs {
		f := pemFile(certDir, ct)
		fmt.Fprintf(&c, "\tserver { listen %s ssl; server_name %s; ssl_certificate %s; ssl_certificate_key %s; location / { return 200 \"ok\\n\"; } }\n",
			addr, ct.Name, f, f)
	}
	c.WriteString("}\n")
	return c.String()
}

// nginxLazyConfig is nginx's configuration for the other way an operator
// may serve many certificates: one server block whose certificate is named
// by the client's SNI ($ssl_server_name), which nginx reads from its file at
// every handshake (nginx 1.15.9 and later), so that it starts at once
// whatever the number of certificates. (An operator would guard the name
// with a map or a regular expression first; every name here is a file.)
// The workers read the files, so they run as user (the harness's: the
// files are its own, owner-only), where nginx's master runs as root.
func nginxLazyConfig(dir, addr string, workers int, certDir, user string) string {
	var c strings.Builder
	f := filepath.Join(certDir, "$ssl_server_name.pem")
	if user != "" && os.Geteuid() == 0 {
		fmt.Fprintf(&c, "user %s;\n", user)
	}
	nginxHead(&c, dir, workers)
	nginxTLS(&c)
	fmt.Fprintf(&c, "\tserver { listen %s ssl default_server; ssl_certificate %s; ssl_certificate_key %s; location / { return 200 \"ok\\n\"; } }\n}\n", addr, f, f)
	return c.String()
}

// nginxHead writes what both nginx configurations open with: the master and
// its workers, nginx's files under its prefix dir, and the start of the http
// block with its temporary paths.
func nginxHead(c *strings.Builder, dir string, workers int) {
	p := func(name string) string { return filepath.Join(dir, name) }
	fmt.Fprintf(c, `daemon off;
master_process on;
worker_processes %d;
worker_rlimit_nofile 65536;
pid %s;
error_log %s warn;
events { worker_connections 8192; }
http {
	access_log off;
	client_body_temp_path %s;
	proxy_temp_path %s;
	fastcgi_temp_path %s;
	uwsgi_temp_path %s;
	scgi_temp_path %s;
`, workers, p("nginx.pid"), p("error.log"), p("client_body"), p("proxy"), p("fastcgi"), p("uwsgi"), p("scgi"))
}

// nginxTLS writes the TLS settings both nginx configurations share: TLS 1.2
// and 1.3, session tickets and a shared session cache, and the answer's type.
func nginxTLS(c *strings.Builder) {
	c.WriteString(`	ssl_protocols TLSv1.2 TLSv1.3;
	ssl_session_cache shared:SSL:50m;
	ssl_session_tickets on;
	default_type text/plain;
`)
}

// hashSize is a server_names_hash_max_size that holds n names: nginx refuses
// to start when its hash of server names does not fit (and the default is
// 512).
func hashSize(n int) int {
	size := 512
	for size < 2*n {
		size *= 2
	}
	return size
}

// haproxyConfig is HAProxy's configuration serving the certificates listed
// in crtList on addr, as an operator would with many certificates: one
// bind with a crt-list, TLS 1.2 and 1.3 (tickets and the session cache are
// on by default), a thread per core, and a small answer to every request.
func haproxyConfig(addr string, threads int, crtList string) string {
	return fmt.Sprintf(`global
	nbthread %d
	maxconn 4096
	ssl-default-bind-options ssl-min-ver TLSv1.2

defaults
	mode http
	timeout connect 5s
	timeout client 30s
	timeout server 30s
	timeout http-request 10s

frontend edgebench
	bind %s ssl crt-list %s
	http-request return status 200 content-type text/plain string "ok"
`, threads, addr, crtList)
}

// crtList is HAProxy's crt-list of certs: a line per certificate file,
// with the name it serves as its SNI filter.
func crtList(certDir string, certs []leafCert) string {
	var c strings.Builder
	for _, ct := range certs {
		fmt.Fprintf(&c, "%s %s\n", pemFile(certDir, ct), ct.Name)
	}
	return c.String()
}

// currentUser is the name of the user the harness runs as, "" if unknown.
func currentUser() string {
	u, err := user.Current()
	if err != nil {
		return ""
	}
	return u.Username
}

// findBinary finds a server's binary: flag, else $env, else name on the
// PATH or in the distributions' sbin directories; or says why there is none.
func findBinary(flagValue, env, name string) (path, why string) {
	if flagValue != "" {
		return flagValue, ""
	}
	if p := os.Getenv(env); p != "" {
		return p, ""
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, ""
	}
	for _, d := range []string{"/usr/sbin", "/usr/local/sbin", "/usr/local/" + name + "/sbin"} {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, ""
		}
	}
	return "", fmt.Sprintf("%s is not installed (not on the PATH nor in /usr/sbin; install it, e.g. apt-get install %s, or give -%s or $%s)", name, name, name, env)
}
