package clienttest

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

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

// quicResumed makes a request over a new QUIC connection (HTTP/3, quic-go's
// client) to udpAddr for name with cache's sessions and reports whether the
// session was resumed; a refused handshake is an error.
func quicResumed(udpAddr, name string, cache tls.ClientSessionCache) (bool, error) {
	tr := &http3.Transport{TLSClientConfig: &tls.Config{ServerName: name, InsecureSkipVerify: true, ClientSessionCache: cache},
		QUICConfig: &quic.Config{HandshakeIdleTimeout: 2 * time.Second},
		Dial: func(ctx context.Context, _ string, cfg *tls.Config, qc *quic.Config) (*quic.Conn, error) {
			return quic.DialAddr(ctx, udpAddr, cfg, qc)
		}}
	defer tr.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+name+"/", nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return false, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.TLS.DidResume, nil
}

// TestFleetRefusesStaleResumptions: two nodes on one PostgreSQL database
// share their ticket keys, so a visitor resumes on either. Then, through a
// real client, one host is switched to HTTPS off and another site's
// certificate is deleted: within 1 s of the API's answer, neither node
// resumes a session of either (TLS 1.3 tickets and TLS 1.2 tickets over
// TCP, and TLS 1.3 tickets over QUIC with Http3 on, each made on the node
// it is tried on and on the other): the visitor gets a full handshake, or
// none.
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
	for _, siteID := range []string{offSite, goneSite} {
		mustOK(t, c, "CreateHttpsBasicConfiguration", map[string]string{"SiteId": siteID, "Http3": "on"})
	}
	tcp := map[string]string{"a": a.node.HTTPSAddr(), "b": b.node.HTTPSAddr()}
	udp := map[string]string{"a": a.node.HTTP3Addr(), "b": b.node.HTTP3Addr()}
	names := map[string]string{"https-off": "www.resume-off.com", "deleted": "www.resume-gone.com"}
	for node := range tcp {
		for _, name := range names {
			if _, ok := within(5*time.Second, func() bool {
				_, err := resumed(tcp[node], name, &tls.Config{})
				_, qerr := quicResumed(udp[node], name, nil)
				return err == nil && qerr == nil
			}); !ok {
				t.Fatalf("%s is not served over TCP and QUIC on node %s", name, node)
			}
		}
	}

	// A session per name, transport (and TLS version), node it was made
	// on and node it is tried on; each resumed once before the changes.
	type visitor struct {
		change, made, on, name, how string
		visit                       func(node string) (bool, error)
	}
	var visitors []visitor
	for change, name := range names {
		for made := range tcp {
			for on := range tcp {
				for _, v := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
					cfg := &tls.Config{MinVersion: v, MaxVersion: v, ClientSessionCache: tls.NewLRUClientSessionCache(1)}
					visitors = append(visitors, visitor{change, made, on, name, "TCP " + tls.VersionName(v),
						func(node string) (bool, error) { return resumed(tcp[node], name, cfg) }})
				}
				cache := tls.NewLRUClientSessionCache(1)
				visitors = append(visitors, visitor{change, made, on, name, "QUIC",
					func(node string) (bool, error) { return quicResumed(udp[node], name, cache) }})
			}
		}
	}
	for _, vis := range visitors {
		if r, err := vis.visit(vis.made); err != nil || r {
			t.Fatalf("%s %s made on %s: first visit resumed %v, %v", vis.name, vis.how, vis.made, r, err)
		}
		// The ticket comes after the handshake: over QUIC the request may
		// end before it is stored, and the next connection gets it.
		r, err := false, error(nil)
		for try := 0; try < 3 && err == nil && !r; try++ {
			r, err = vis.visit(vis.on)
		}
		if err != nil || !r {
			t.Fatalf("%s %s made on %s, tried on %s: resumed %v, %v; want a resumption", vis.name, vis.how, vis.made, vis.on, r, err)
		}
	}

	mustOK(t, c, "CreateHttpsBasicConfiguration", map[string]string{"SiteId": offSite, "RuleName": "no-https",
		"Rule": `(http.host eq "www.resume-off.com")`, "RuleEnable": "on", "Https": "off"})
	changed := map[string]time.Time{"https-off": time.Now()}
	mustOK(t, c, "DeleteCertificate", map[string]string{"SiteId": goneSite, "Id": goneID})
	changed["deleted"] = time.Now()
	var slowest time.Duration
	for _, vis := range visitors {
		for {
			r, err := vis.visit(vis.on)
			if !r {
				break
			}
			if err == nil && time.Since(changed[vis.change]) > time.Second {
				t.Errorf("%s (%s): node %s still resumes a %s session made on %s %v after the API's answer",
					vis.name, vis.change, vis.on, vis.how, vis.made, time.Since(changed[vis.change]))
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		slowest = max(slowest, time.Since(changed[vis.change]))
	}
	t.Logf("every node refuses the stale sessions (%d) %v after the API's answer at the latest", len(visitors), slowest)
}
