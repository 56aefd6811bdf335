// Package bodyrate holds request bodies to a least transfer rate, so that a
// client that sends its body slowly cannot keep a server's connection (and,
// behind a proxy, an origin's) for long, and bounds the writes of the
// answers by progress, so that a client that takes nothing of its answer
// cannot either. Both the API's and the edge's http.Servers wrap their
// handlers with Rate.Handler.
//
// The rule of bodies is a credit of waiting time. A body starts with Grace
// of credit; every moment the server spends blocked reading the body uses
// credit, and every byte that arrives buys 1/PerSecond seconds back, up to
// Grace again. When the credit runs out the read fails with ErrTooSlow. So
// a body may take Grace to get going, then must average PerSecond bytes a
// second over any stretch, and may never stall for longer than Grace; a
// fast body of any size takes as long as it needs (there is no total
// deadline unless Limit sets one). Time the handler spends elsewhere
// between two reads (a proxy dialling its origin, an origin slow to take
// the bytes) is not the client's and is not counted.
//
// The credit is enforced with the connection's read deadline, moved through
// http.ResponseController, which works for HTTP/1.1 and HTTP/2 alike.
//
// The rule of answers is an idle bound: before every write of the answer
// (and before the flush when the handler returns) the write deadline is
// moved to WriteIdle from now, so one write may wait WriteIdle for the
// client to take bytes, and an answer of any length, written after a body
// or a wait of any length, goes out as long as the client keeps taking it.
// Over HTTP/2 the deadline is a timer on the stream, so it is cleared again
// after each write: time the handler spends between writes is not bounded.
// This replaces http.Server's WriteTimeout, a total deadline counted from
// the request's headers, which cuts long uploads and long answers alike.
//
// An HTTP/1.1 answer written while the body has not been read to its end
// (an early 404, a redirect) carries Connection: close, and the rest of the
// body is given a short moment before the connection closes: net/http would
// otherwise read and discard what is left before answering, or after, at
// the slow client's pace. Over HTTP/2 the stream is simply reset. A handler
// that takes the connection (Hijack, or an answer 101 Switching Protocols)
// owns it from then on: no deadline of the connection is moved any more.
package bodyrate

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// Defaults of Rate's fields.
const (
	// DefaultGrace is as long as the servers wait for a request's headers:
	// a body may take as long to start, or stall as long once.
	DefaultGrace = 10 * time.Second
	// DefaultPerSecond, 1 KiB/s, is well below the slowest links still in
	// use (a 56 kbit/s modem sends 7 KiB/s, GPRS about 5) and makes holding
	// connections costly: to keep 10,000 of them open a client must send 10
	// MiB/s, and any that stalls for Grace is cut.
	DefaultPerSecond = 1024
	// DefaultWriteIdle is how long one write of an answer may wait for the
	// client: a client that takes nothing of its answer for a minute is
	// cut, and holding a connection costs it reading at least a little.
	DefaultWriteIdle = 60 * time.Second
)

// linger is how long the rest of an unread HTTP/1.1 body may still be
// read, and thrown away, once the answer has gone out: a moment for the
// client to read the answer before the connection closes (net/http waits
// as long before closing a connection whose body it gave up on).
const linger = 500 * time.Millisecond

// slack is the least move of an HTTP/1.1 read or write deadline that is
// made: a fast body or answer then moves it a few times a second, not at
// every read or write.
const slack = 100 * time.Millisecond

// ErrTooSlow is the error of a body read that ran out of credit: the body
// arrived more slowly than the Rate allows.
var ErrTooSlow = errors.New("bodyrate: request body arrived too slowly")

// Rate is the least transfer rate of request bodies and the idle bound of
// answers. The zero value is the defaults, without Limit.
type Rate struct {
	// Grace is the waiting a body may cost before its bytes pay for it: how
	// long it may take to start, or stall once; 0 means DefaultGrace.
	Grace time.Duration
	// PerSecond is the least average rate, in bytes a second, after Grace;
	// 0 means DefaultPerSecond.
	PerSecond int64
	// Limit, when positive, bounds the time from the handler's start to the
	// body's end whatever its rate; 0 means no bound.
	Limit time.Duration
	// WriteIdle is how long one write of an answer may wait for the client
	// to take bytes (see the package doc); 0 means DefaultWriteIdle. A
	// negative WriteIdle leaves the write deadlines to the server (its
	// WriteTimeout, for a server whose answers are all small).
	WriteIdle time.Duration
}

// WriteIdleBound is the idle bound of answers' writes in effect: WriteIdle,
// or its default; 0 when writes are left to the server. A server that uses
// it may give the same bound to its HTTP/2 connections' own writes
// (http.HTTP2Config.WriteByteTimeout).
func (rt Rate) WriteIdleBound() time.Duration {
	switch {
	case rt.WriteIdle > 0:
		return rt.WriteIdle
	case rt.WriteIdle < 0:
		return 0
	}
	return DefaultWriteIdle
}

func (rt Rate) grace() time.Duration {
	if rt.Grace > 0 {
		return rt.Grace
	}
	return DefaultGrace
}

func (rt Rate) perSecond() int64 {
	if rt.PerSecond > 0 {
		return rt.PerSecond
	}
	return DefaultPerSecond
}

// Handler returns h with every request's body held to rt and every
// answer's writes bounded by rt's WriteIdle. A request body read past its
// credit fails with an error that matches ErrTooSlow (then every later
// read fails too); a read after h returned fails with
// http.ErrBodyReadAfterClose. A write of the answer that waits longer than
// the idle bound fails (the connection, or over HTTP/2 the stream, is
// closed). Where the ResponseWriter cannot set deadlines
// (http.ErrNotSupported) nothing is bounded. The ResponseWriter h is given
// passes flushes and hijacks on to the server's (through
// http.ResponseController, or the older http.Flusher and http.Hijacker);
// a write deadline h sets itself is replaced at its next write. The
// returned handler is safe for concurrent use.
func (rt Rate) Handler(h http.Handler) http.Handler {
	grace := rt.grace()
	perByte := max(time.Second/time.Duration(rt.perSecond()), 1)
	idle := rt.WriteIdleBound()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hasBody := r.Body != nil && r.Body != http.NoBody
		if !hasBody && idle == 0 {
			h.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		h1 := r.ProtoMajor < 2
		ww := &writer{ResponseWriter: w, rc: rc, h1: h1, idle: idle}
		var b *body
		if hasBody {
			now := time.Now()
			b = &body{src: r.Body, rc: rc, h1: h1, grace: grace, perByte: perByte, credit: grace, start: now}
			if rt.Limit > 0 {
				b.limit = now.Add(rt.Limit)
			}
			r2 := *r
			r2.Body = b
			r = &r2
			if h1 {
				// Over HTTP/1.1 the deadline bounds net/http's own reads of
				// the body too (the ones that discard what a handler left
				// unread), and an answer given before the body's end closes
				// the connection. Over HTTP/2 there is no deadline until the
				// first read: a deadline is a timer that ends the body when
				// it fires, even between reads.
				b.writeIdle = idle // the first read may answer 100 Continue
				b.mu.Lock()
				b.arm(b.bound(now.Add(grace)))
				b.mu.Unlock()
				ww.b = b
			}
		}
		defer ww.finish(b)
		if ww.b == nil && idle == 0 { // an HTTP/2 body, writes left to the server
			h.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(ww, r)
	})
}

// body is a request body held to a Rate. Reads may come from another
// goroutine than the handler's (a proxy's transport): mu guards the state.
type body struct {
	src     io.ReadCloser
	rc      *http.ResponseController
	h1      bool          // HTTP/1.x: the deadline is the connection's
	grace   time.Duration // the most credit
	perByte time.Duration // the credit a byte buys
	start   time.Time
	limit   time.Time // zero: none
	// writeIdle, over HTTP/1.1, bounds the write of 100 Continue that the
	// first read may make; 0: none.
	writeIdle time.Duration

	mu       sync.Mutex
	credit   time.Duration
	n        int64     // bytes read
	armed    time.Time // the deadline set last; zero: none
	read     bool      // a read was made
	eof      bool
	err      error // sticky: the read that failed
	over     bool  // the handler returned: the connection may serve another request
	detached bool  // the handler took the connection: its deadlines are the handler's
}

// bound caps a deadline at the Limit.
func (b *body) bound(t time.Time) time.Time {
	if !b.limit.IsZero() && (t.IsZero() || b.limit.Before(t)) {
		return b.limit
	}
	return t
}

// arm sets the read deadline to t (zero: none). Over HTTP/1.1 a move
// smaller than slack is not made; once the handler took the connection
// none is. b.mu is held.
func (b *body) arm(t time.Time) {
	if t.Equal(b.armed) || b.detached {
		return
	}
	if b.h1 && !t.IsZero() && !b.armed.IsZero() && t.Sub(b.armed).Abs() < slack {
		return
	}
	b.rc.SetReadDeadline(t) // http.ErrNotSupported: the body is not bounded
	b.armed = t
}

// pending reports whether the body may still have bytes on the wire: it
// was neither read to its end nor failed. b.mu is held.
func (b *body) pending() bool { return !b.eof && b.err == nil }

func (b *body) Read(p []byte) (int, error) {
	b.mu.Lock()
	if b.over {
		b.mu.Unlock()
		return 0, http.ErrBodyReadAfterClose
	}
	if b.err != nil {
		err := b.err
		b.mu.Unlock()
		return 0, err
	}
	if b.eof {
		b.mu.Unlock()
		return 0, io.EOF
	}
	start := time.Now()
	deadline := b.bound(start.Add(b.credit))
	if !deadline.After(start) {
		b.err = b.tooSlow(start)
		b.mu.Unlock()
		return 0, b.err
	}
	b.arm(deadline)
	if !b.read && b.writeIdle > 0 && !b.detached {
		// net/http answers 100 Continue at the first read of a body that
		// expects it: a write, bounded as the answer's are.
		b.rc.SetWriteDeadline(start.Add(b.writeIdle))
	}
	b.read = true
	b.mu.Unlock()

	n, err := b.src.Read(p)

	end := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.over { // a read the handler left behind: no deadline is touched now
		return n, err
	}
	b.n += int64(n)
	b.credit = min(b.credit-end.Sub(start)+time.Duration(n)*b.perByte, b.grace)
	switch {
	case err == nil:
		if !b.h1 {
			b.arm(b.limit) // no timer between reads: see Handler
		}
	case errors.Is(err, io.EOF):
		b.eof = true
		// The request's end: net/http now watches the connection for the
		// client going away, and must not see a deadline there.
		b.arm(time.Time{})
	case errors.Is(err, os.ErrDeadlineExceeded):
		b.err = b.tooSlow(end)
		err = b.err
	default:
		b.err = err
	}
	return n, err
}

func (b *body) tooSlow(now time.Time) error {
	return fmt.Errorf("%w: %d bytes in %s", ErrTooSlow, b.n, now.Sub(b.start).Round(time.Millisecond))
}

func (b *body) Close() error { return b.src.Close() }

// writer is the ResponseWriter a handler is given. It bounds each write
// of the answer by the idle bound (when there is one) and, over HTTP/1.1
// with a body (b), closes the connection after an answer given while the
// body is still pending (see the package doc). Its methods are called by
// the handler, one at a time, as a ResponseWriter's are.
type writer struct {
	http.ResponseWriter
	rc       *http.ResponseController // the server's ResponseWriter's
	h1       bool                     // HTTP/1.x: the deadline is the connection's
	idle     time.Duration            // the idle bound of writes; 0: none
	b        *body                    // HTTP/1.1 with a body; else nil
	wrote    bool                     // a final answer (or 101) was begun
	armed    time.Time                // HTTP/1.1: the write deadline set last
	hijacked bool                     // the handler took the connection
}

// before moves the write deadline to the idle bound from now, before a
// write. Over HTTP/1.1 a move smaller than slack is not made.
func (w *writer) before() {
	if w.idle == 0 || w.hijacked {
		return
	}
	t := time.Now().Add(w.idle)
	if w.h1 && !w.armed.IsZero() && t.Sub(w.armed) < slack {
		return
	}
	w.rc.SetWriteDeadline(t) // http.ErrNotSupported: writes are not bounded
	w.armed = t
}

// after clears the write deadline after a write over HTTP/2, where it is a
// timer that resets the stream when it fires, even between writes. Over
// HTTP/1.1 it only bounds writes, and the next write moves it.
func (w *writer) after() {
	if w.idle == 0 || w.h1 {
		return
	}
	w.rc.SetWriteDeadline(time.Time{})
}

// finish is run when the handler returns (or panics). The body may no
// longer be read; over HTTP/1.1 the rest of a pending body gets the linger
// unless the handler took the connection. The write deadline is moved
// once more for the flush of the answer that net/http makes now; over
// HTTP/1.1 net/http clears it after that flush, before the connection's
// next request, and over HTTP/2 the stream's end stops it.
func (w *writer) finish(b *body) {
	if b != nil {
		b.mu.Lock()
		b.over = true
		if t := time.Now().Add(linger); b.h1 && !b.detached && b.pending() && (b.armed.IsZero() || t.Before(b.armed)) {
			b.rc.SetReadDeadline(t)
			b.armed = t
		}
		b.mu.Unlock()
	}
	if w.idle > 0 && !w.hijacked {
		w.rc.SetWriteDeadline(time.Now().Add(w.idle))
	}
}

// detach records that the handler took the connection: the body no longer
// moves its deadlines, and no linger is given.
func (w *writer) detach() {
	if w.b == nil {
		return
	}
	w.b.mu.Lock()
	w.b.detached = true
	w.b.mu.Unlock()
}

func (w *writer) WriteHeader(code int) {
	switch {
	case w.b == nil, w.wrote:
		// No body to close the connection for, or an answer went out already.
	case code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols:
		// An informational answer: a final one comes after.
	case code == http.StatusSwitchingProtocols:
		w.wrote = true
		w.detach() // the connection is the handler's now
	default:
		w.wrote = true
		w.b.mu.Lock()
		if !w.b.eof {
			w.Header().Set("Connection", "close")
		}
		w.b.mu.Unlock()
	}
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		// net/http writes an informational answer at once.
		w.before()
		w.ResponseWriter.WriteHeader(code)
		w.after()
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *writer) Write(p []byte) (int, error) {
	if w.b != nil && !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	w.before()
	n, err := w.ResponseWriter.Write(p)
	w.after()
	return n, err
}

// FlushError flushes the answer through the server's ResponseWriter (for
// http.ResponseController), bounded as a write.
func (w *writer) FlushError() error {
	w.before()
	err := w.rc.Flush()
	w.after()
	return err
}

// Flush is http.Flusher's FlushError.
func (w *writer) Flush() { w.FlushError() }

// Hijack takes the connection through the server's ResponseWriter (for
// http.ResponseController and http.Hijacker); over HTTP/2 it fails with
// http.ErrNotSupported. From then on no deadline of the connection is
// moved here: net/http clears them, and the connection is the handler's.
func (w *writer) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.h1 {
		w.detach() // before: a body read must not set a deadline on the taken connection
	}
	conn, brw, err := w.rc.Hijack()
	if err == nil {
		w.hijacked = true
	}
	return conn, brw, err
}

// Unwrap gives http.ResponseController the server's ResponseWriter.
func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }
