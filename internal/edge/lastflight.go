package edge

import (
	"net/http"
	"sync"
	"time"
)

// The last flight of a connection that closes after its response. A
// request that asks for the connection's close (HTTP/1.1 "Connection:
// close", HTTP/1.0 without keep-alive) ends, once its handler returns, with
// net/http writing what its buffers still hold of the response and then
// crypto/tls its close_notify alert: two writes, so two TCP segments, two
// system calls and two wake-ups of the visitor. The edge sends them as
// one: from the handler's return, the connection's hsConn holds what is
// written to it (at most maxLastFlight bytes; past that it sends at once)
// and sends it all when crypto/tls, having written the alert, sets the
// deadline that ends its writes (closeNotify sets it to now), or at the
// connection's close, whichever comes first. What the handler wrote and
// flushed before it returned went out as it was written; the bytes on the
// wire are the same, one segment fewer.
//
// Only a request without a body is held so: net/http may wait (up to half
// a second) between the response and the alert when a request's body was
// left unread, which would delay the response. A hijacked connection
// (a protocol switch) is never held: its writes are the new protocol's.

// maxLastFlight bounds what a connection holds of its last flight.
const maxLastFlight = 32 << 10

// lastFlightBuffers hold last flights while they are held.
var lastFlightBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// lastFlight is an hsConn's held last flight.
type lastFlight struct {
	mu       sync.Mutex
	held     *[]byte // from lastFlightBuffers; nil once sent
	hijacked bool    // the connection was hijacked: never hold
}

// holdLast starts holding c's writes until its close (see the top of this
// file); r is the request whose handler just returned.
func holdLast(r *http.Request, p *connProbe) {
	if !r.Close || r.ProtoMajor != 1 || r.Body != http.NoBody || p == nil {
		return
	}
	hc := hsConnOf(p.conn)
	if hc == nil {
		return
	}
	hc.last.mu.Lock()
	if !hc.last.hijacked && hc.last.held == nil {
		hc.last.held = lastFlightBuffers.Get().(*[]byte)
		hc.holding.Store(true)
	}
	hc.last.mu.Unlock()
}

// hijacked notes that c was handed over to a protocol switch: its writes
// are never held.
func (c *hsConn) hijacked() {
	c.last.mu.Lock()
	c.last.hijacked = true
	c.last.mu.Unlock()
	c.sendLast()
}

// holdWrite holds p, or sends it with what is held when the flight grows
// past maxLastFlight (or is no longer held).
func (c *hsConn) holdWrite(p []byte) (int, error) {
	c.last.mu.Lock()
	if c.last.held == nil { // sent meanwhile
		c.last.mu.Unlock()
		return c.Conn.Write(p)
	}
	if len(*c.last.held)+len(p) <= maxLastFlight {
		*c.last.held = append(*c.last.held, p...)
		c.last.mu.Unlock()
		return len(p), nil
	}
	held := c.takeLastLocked()
	c.last.mu.Unlock()
	if _, err := c.writeHeld(held); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// sendLast sends what is held, if anything, and holds no more.
func (c *hsConn) sendLast() error {
	if !c.holding.Load() {
		return nil
	}
	c.last.mu.Lock()
	held := c.takeLastLocked()
	c.last.mu.Unlock()
	_, err := c.writeHeld(held)
	return err
}

// takeLastLocked ends the holding and returns what was held (nil if
// nothing was). c.last.mu is held.
func (c *hsConn) takeLastLocked() *[]byte {
	held := c.last.held
	c.last.held = nil
	c.holding.Store(false)
	return held
}

// writeHeld writes held out and gives its buffer back.
func (c *hsConn) writeHeld(held *[]byte) (int, error) {
	if held == nil {
		return 0, nil
	}
	var n int
	var err error
	if len(*held) > 0 {
		n, err = c.Conn.Write(*held)
	}
	*held = (*held)[:0]
	lastFlightBuffers.Put(held)
	return n, err
}

// endsWrites reports whether a write deadline t, set now, ends the
// connection's writes (crypto/tls sets one to now once its close_notify is
// written): what is held goes before it.
func endsWrites(t time.Time) bool {
	return !t.IsZero() && !t.After(time.Now())
}

// lastFlightClose bounds the write of a last flight still held when its
// connection closes (as crypto/tls bounds its close_notify's).
const lastFlightClose = 5 * time.Second
