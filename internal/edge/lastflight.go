package edge

import (
	"sync"
	"time"
)

// The last flight of a connection that closes after its response. A
// request that asks for the connection's close (HTTP/1.1 "Connection:
// close", HTTP/1.0 without keep-alive) ends, once its handler returns, with
// net/http writing what its buffers still hold of the response (at most a
// few KB: its response and connection buffers) and then crypto/tls its
// close_notify alert: two writes, two system calls, two TCP segments and
// two wake-ups of the visitor. The edge makes them one write: from the
// handler's return, the connection's hsConn holds what is written to it (at
// most maxLastFlight bytes; past that it sends at once) and sends it all
// when crypto/tls, having written the alert, sets the deadline that ends
// its writes (closeNotify sets it to now), or at the connection's close,
// whichever comes first. What the handler wrote and flushed before it
// returned went out as it was written; the bytes on the wire are the same,
// one write fewer.
//
// The held bytes are written under the write deadline that was in force
// when they were handed over (a node bounds an answer's writes by the body
// rate's WriteIdle, 60 s), or crypto/tls's 5 s for its alert if that is
// later: holding never gives a slow reader less time than before.
//
// Only a request without a body is held so, as net/http read the request
// before the handler ran: after the response, net/http may read what is
// left of an unread body (up to 256 KB, at the client's pace) before it
// closes, which would hold the response back. A hijacked connection (a
// protocol switch) is never held: its writes are the new protocol's. A
// read does not send what is held: net/http's read in the background
// (watching for the visitor's close while a handler runs) may come at any
// time; and a request that asks for the close, as net/http read it before
// the handler ran, always has its connection closed after the response
// (net/http's closeAfterReply), so no request is read after it.

// maxLastFlight bounds what a connection holds of its last flight.
const maxLastFlight = 32 << 10

// lastFlightClose bounds the write of a last flight, together with the
// write deadline of its bytes (see above): crypto/tls's bound of its
// close_notify.
const lastFlightClose = 5 * time.Second

// lastFlightBuffers hold last flights while they are held.
var lastFlightBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// lastFlight is an hsConn's held last flight. mu is held while the flight
// is written, so that no write overtakes it.
type lastFlight struct {
	mu       sync.Mutex
	held     *[]byte // from lastFlightBuffers; nil once sent
	deadline int64   // the write deadline of the first bytes held, in Unix nanoseconds (0: none)
	hijacked bool    // the connection was hijacked: never hold
}

// holdLast starts holding the writes of p's connection until its close
// (see the top of this file). Its handler just returned, for a request
// without a body that closes the connection.
func holdLast(p *connProbe) {
	if p == nil {
		return
	}
	if hc := hsConnOf(p.conn); hc != nil {
		hc.hold()
	}
}

// hold starts holding c's writes, unless c was hijacked.
func (c *hsConn) hold() {
	c.last.mu.Lock()
	if !c.last.hijacked && c.last.held == nil {
		c.last.held = lastFlightBuffers.Get().(*[]byte)
		c.holding.Store(true)
	}
	c.last.mu.Unlock()
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
	defer c.last.mu.Unlock()
	if c.last.held == nil { // sent meanwhile
		return c.Conn.Write(p)
	}
	if len(*c.last.held) == 0 {
		c.last.deadline = c.writeDeadline.Load()
	}
	if len(*c.last.held)+len(p) <= maxLastFlight {
		*c.last.held = append(*c.last.held, p...)
		return len(p), nil
	}
	if _, err := c.writeHeldLocked(); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// sendLast sends what is held, if anything, and holds no more. An error
// of its write is not returned: the next write on the connection (if
// any) meets it; crypto/tls's close_notify, the last, goes unacknowledged
// as it would have on a connection reset.
func (c *hsConn) sendLast() {
	if !c.holding.Load() {
		return
	}
	c.last.mu.Lock()
	defer c.last.mu.Unlock()
	c.writeHeldLocked()
}

// writeHeldLocked ends the holding and writes what was held, under the
// deadline of its bytes (see the top of this file), then puts the write
// deadline last set back. c.last.mu is held.
func (c *hsConn) writeHeldLocked() (int, error) {
	held := c.last.held
	c.last.held = nil
	c.holding.Store(false)
	if held == nil {
		return 0, nil
	}
	defer func() {
		*held = (*held)[:0]
		lastFlightBuffers.Put(held)
	}()
	if len(*held) == 0 {
		return 0, nil
	}
	var deadline time.Time // none, as for the bytes held
	if d := c.last.deadline; d != 0 {
		deadline = time.Unix(0, max(d, time.Now().Add(lastFlightClose).UnixNano()))
	}
	c.Conn.SetWriteDeadline(deadline)
	n, err := c.Conn.Write(*held)
	c.Conn.SetWriteDeadline(fromUnixNano(c.writeDeadline.Load()))
	return n, err
}

// endsWrites reports whether a write deadline t, set now, ends the
// connection's writes (crypto/tls sets one to now once its close_notify is
// written): what is held goes before it.
func endsWrites(t time.Time) bool {
	return !t.IsZero() && !t.After(time.Now())
}

// unixNano is t in Unix nanoseconds, 0 for the zero time (no deadline).
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromUnixNano is unixNano's inverse.
func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}
