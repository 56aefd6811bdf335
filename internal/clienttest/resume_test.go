package clienttest

import (
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/accesskey"
	"github.com/esacert/esacert/internal/store/storetest"
)

// resumed connects to addr for name with cfg's session cache, sends a
// request (so that a TLS 1.3 ticket arrives) and reports whether the
// session was resumed; a refused handshake is an error.
func resumed(addr, name string, cfg *tls.Config) (bool, error) {
	c := cfg.Clone()
	c.ServerName, c.InsecureSkipVerify = name, true
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", addr, c)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: "+name+"\r\nConnection: close\r\n\r\n"); err != nil {
		return false, err
	}
	if _, err := io.ReadAll(conn); err != nil {
		return false, err
	}
	return conn.ConnectionState().DidResume, nil
}

// TestFleetRefusesStaleResumptions: two nodes on one PostgreSQL database
// share their ticket keys, so a visitor resumes on either. Then, through a
// real client, one host is switched to HTTPS off and another site's
// certificate is deleted: within 1 s of the API's answer, neither node
// resumes a session of either (TLS 1.3 tickets and TLS 1.2 tickets, each
// made on the node it is tried on and on the other): the visitor gets a
// full handshake, or none.
func TestFleetRefusesStaleResumptions(t *testing.T) {
	dsn := storetest.PostgresDatabase(t)
	key := accesskey.Key{ID: "LTAIfleetkey000000000009", Secret: "fleet-secret-0123456789abcdez"}
	a, b := startNodeOn(t, dsn, key), startNodeOn(t, dsn, key)
	c := teaKind(false).make(t, a.addr, key, false)
	leaf := leafMaker(t, "Fleet Resume Root")
	offLeaf, goneLeaf := leaf("www.resume-off.com"), leaf("www.resume-gone.com")
	offSite := str(mustOK(t, c, "CreateSite", map[string]string{"SiteName": "resume-off.com"})["SiteId"])
	mustOK(t, c, "SetCertificate", map[string]string{"SiteId": offSite, "Type": "upload", "Certificate": offLeaf.ChainPEM, "PrivateKey": offLeaf.KeyPEM})
	goneSite := str(mustOK(t, c, "CreateSite", map[string]string{"SiteName": "resume-gone.com"})["SiteId"])
	goneID := str(mustOK(t, c, "SetCertificate", map[string]string{"SiteId": goneSite, "Type": "upload",
		"Certificate": goneLeaf.ChainPEM, "PrivateKey": goneLeaf.KeyPEM})["Id"])
	nodes := map[string]string{"a": a.node.HTTPSAddr(), "b": b.node.HTTPSAddr()}
	names := map[string]string{"https-off": "www.resume-off.com", "deleted": "www.resume-gone.com"}
	for _, addr := range nodes {
		for _, name := range names {
			if _, ok := within(5*time.Second, func() bool { _, err := resumed(addr, name, &tls.Config{}); return err == nil }); !ok {
				t.Fatalf("%s is not served on %s", name, addr)
			}
		}
	}

	// A session per name, TLS version, node it was made on and node it is
	// tried on; each resumed once before the changes.
	type visitor struct {
		change, made, on, name string
		cfg                    *tls.Config
	}
	var visitors []visitor
	for change, name := range names {
		for _, v := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
			for made := range nodes {
				for on := range nodes {
					vis := visitor{change, made, on, name, &tls.Config{MinVersion: v, MaxVersion: v, ClientSessionCache: tls.NewLRUClientSessionCache(1)}}
					if r, err := resumed(nodes[made], name, vis.cfg); err != nil || r {
						t.Fatalf("%+v: first visit resumed %v, %v", vis, r, err)
					}
					if r, err := resumed(nodes[on], name, vis.cfg); err != nil || !r {
						t.Fatalf("%+v: second visit resumed %v, %v; want a resumption", vis, r, err)
					}
					visitors = append(visitors, vis)
				}
			}
		}
	}

	mustOK(t, c, "CreateHttpsBasicConfiguration", map[string]string{"SiteId": offSite, "Https": "off"})
	changed := map[string]time.Time{"https-off": time.Now()}
	mustOK(t, c, "DeleteCertificate", map[string]string{"SiteId": goneSite, "Id": goneID})
	changed["deleted"] = time.Now()
	var slowest time.Duration
	for _, vis := range visitors {
		for {
			r, err := resumed(nodes[vis.on], vis.name, vis.cfg)
			if !r {
				break
			}
			if err == nil && time.Since(changed[vis.change]) > time.Second {
				t.Errorf("%s (%s): node %s still resumes a session made on %s (TLS %x) %v after the API's answer",
					vis.name, vis.change, vis.on, vis.made, vis.cfg.MaxVersion, time.Since(changed[vis.change]))
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		slowest = max(slowest, time.Since(changed[vis.change]))
	}
	t.Logf("every node refuses the stale sessions %v after the API's answer at the latest", slowest)
}
