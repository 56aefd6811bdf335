//go:build linux

package edge

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/freeport"
)

// nginxBinary finds nginx: $ESACERT_NGINX, else nginx on the PATH, else the
// usual places of a distribution's package (root's PATH holds /usr/sbin,
// another user's may not).
func nginxBinary() (string, bool) {
	if p := os.Getenv("ESACERT_NGINX"); p != "" {
		return p, true
	}
	if p, err := exec.LookPath("nginx"); err == nil {
		return p, true
	}
	for _, p := range []string{"/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx"} {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, true
		}
	}
	return "", false
}

// startNginx runs nginx as a child process, configured in a temporary
// directory to proxy s's origins as the edge does (see
// BenchmarkOriginProxy), and stops it when b ends. It returns the address
// of its HTTPS listener and a function returning the CPU time nginx (its
// master and workers) has used so far; or why there is none: nginx is not
// installed. An nginx that is installed but does not start fails b, with
// its error log.
func startNginx(b *testing.B, s nginxSetup) (addr string, cpu func() time.Duration, why string) {
	b.Helper()
	bin, ok := nginxBinary()
	if !ok {
		return "", nil, "nginx is not installed (not on the PATH nor in /usr/sbin; install it, e.g. apt-get install nginx, or set ESACERT_NGINX to its path)"
	}
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "site.pem"), []byte(s.Chain), 0o600); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "site.key"), []byte(s.Key), 0o600); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "origin-ca.pem"), []byte(s.OriginCA), 0o600); err != nil {
		b.Fatal(err)
	}
	var last string
	for attempt := 0; attempt < 3; attempt++ { // the port picked may be taken before nginx binds it
		addr := freeLoopbackAddr(b)
		stop, pgid, out, err := runNginx(b, bin, dir, addr, s)
		if err == nil {
			b.Cleanup(stop)
			return addr, func() time.Duration { return groupCPU(pgid) }, ""
		}
		logged, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		last = fmt.Sprintf("%v\n%s%s", err, out, logged)
		if !strings.Contains(last, "Address already in use") {
			break
		}
	}
	b.Fatalf("nginx (%s) did not start: %s", bin, last)
	return "", nil, ""
}

// runNginx writes the configuration for listening on addr, starts nginx
// and returns once it answers TLS handshakes on addr, with the function
// that stops it and its process group; or what it wrote and why it is not
// running.
func runNginx(b *testing.B, bin, dir, addr string, s nginxSetup) (stop func(), pgid int, output string, err error) {
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(nginxConfig(dir, addr, s)), 0o600); err != nil {
		b.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "error.log"))
	var out bytes.Buffer
	cmd := exec.Command(bin, "-p", dir+string(filepath.Separator), "-c", conf, "-e", filepath.Join(dir, "error.log"))
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // nginx and its workers: one group to stop
	if err := cmd.Start(); err != nil {
		return nil, 0, "", err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	pgid = cmd.Process.Pid
	// stop asks for a fast shutdown and waits for nginx to exit; whatever
	// is left of its group after 5 s is killed.
	stop = func() {
		syscall.Kill(pgid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
		}
		syscall.Kill(-pgid, syscall.SIGKILL)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		select {
		case err := <-exited:
			syscall.Kill(-pgid, syscall.SIGKILL)
			return nil, 0, out.String(), fmt.Errorf("nginx exited: %v", err)
		default:
		}
		name := "www.example.com"
		if len(s.Origins) > 0 {
			name = s.Origins[0].host()
		}
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", addr,
			&tls.Config{ServerName: name, InsecureSkipVerify: true})
		if err == nil {
			conn.Close()
			return stop, pgid, "", nil
		}
		if time.Now().After(deadline) {
			stop()
			return nil, 0, out.String(), fmt.Errorf("no TLS handshake on %s within 10s: %v", addr, err)
		}
	}
}

// freeLoopbackAddr returns a loopback address whose port is free now, for
// nginx to listen on (freeport).
func freeLoopbackAddr(b *testing.B) string {
	addr, err := freeport.Addr()
	if err != nil {
		b.Fatal(err)
	}
	return addr
}

// nginxConfig is nginx's configuration for BenchmarkOriginProxy: as many
// workers as GOMAXPROCS, TLS 1.2/1.3 with the site's certificate on addr,
// a server per origin host, each proxying to a keep-alive upstream pool as
// large as the edge's (64 idle connections) over TLS with the origin's
// SNI, verified against the origins' CA, and the headers the edge adds.
// Keep-alive connections are not closed after 1,000 requests (nginx's
// default, on both sides; the edge has no such limit), and answers are
// buffered in memory only (128 KiB a request, more than the largest).
func nginxConfig(dir, addr string, s nginxSetup) string {
	p := func(name string) string { return filepath.Join(dir, name) }
	var c strings.Builder
	fmt.Fprintf(&c, `daemon off;
master_process on;
worker_processes %d;
pid %s;
error_log %s warn;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path %s;
	proxy_temp_path %s;
	fastcgi_temp_path %s;
	uwsgi_temp_path %s;
	scgi_temp_path %s;
	keepalive_requests 1000000;
	keepalive_timeout 300s;
	ssl_protocols TLSv1.2 TLSv1.3;
	ssl_certificate %s;
	ssl_certificate_key %s;
`, runtime.GOMAXPROCS(0), p("nginx.pid"), p("error.log"), p("client_body"), p("proxy"), p("fastcgi"), p("uwsgi"), p("scgi"),
		p("site.pem"), p("site.key"))
	for i, o := range s.Origins {
		fmt.Fprintf(&c, `	upstream origin%d {
		server %s;
		keepalive 64;
		keepalive_requests 1000000;
	}
	server {
		listen %s ssl;
		server_name %s;
		location / {
			proxy_pass https://origin%d;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_set_header Host $host;
			proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
			proxy_set_header X-Forwarded-Host $host;
			proxy_set_header X-Forwarded-Proto $scheme;
			proxy_set_header CDN-Loop esacert;
			proxy_ssl_server_name on;
			proxy_ssl_name %s;
			proxy_ssl_verify on;
			proxy_ssl_trusted_certificate %s;
			proxy_ssl_protocols TLSv1.2 TLSv1.3;
			proxy_buffer_size 16k;
			proxy_buffers 8 16k;
			proxy_max_temp_file_size 0;
		}
	}
`, i, o.addr, addr, o.host(), i, benchOriginSNI, p("origin-ca.pem"))
	}
	if s.Tickets {
		fmt.Fprintf(&c, `	ssl_session_tickets on;
	server {
		listen %s ssl;
		location / { return 200; }
	}
`, addr)
	}
	c.WriteString("}\n")
	return c.String()
}

// selfCPU is the CPU time (user and system) this process has used so far.
func selfCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}

// groupCPU is the CPU time (user and system) the live processes of process
// group pgid have used so far, as /proc tells it (in clock ticks of 10 ms).
func groupCPU(pgid int) time.Duration {
	entries, _ := os.ReadDir("/proc")
	var ticks int64
	for _, e := range entries {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // gone
		}
		// pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime …
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 13 || f[2] != strconv.Itoa(pgid) {
			continue
		}
		utime, _ := strconv.ParseInt(f[11], 10, 64)
		stime, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += utime + stime
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}
