// Package bodyrate holds request bodies to a least transfer rate, so that a
// client that sends its body slowly cannot keep a server's connection (and,
// behind a proxy, an origin's) for long. Both the API's and the edge's
// http.Servers wrap their handlers with Rate.Handler.
//
// The rule is a credit of waiting time. A body starts with Grace of credit;
// every moment the server spends blocked reading the body uses credit, and
// every byte that arrives buys 1/PerSecond seconds back, up to Grace again.
// When the credit runs out the read fails with ErrTooSlow. So a body may
// take Grace to get going, then must average PerSecond bytes a second over
// any stretch, and may never stall for longer than Grace; a fast body of any
// size takes as long as it needs (there is no total deadline unless Limit
// sets one). Time the handler spends elsewhere between two reads (a proxy
// dialling its origin, an origin slow to take the bytes) is not the
// client's and is not counted.
//
// The credit is enforced with the connection's read deadline, moved through
// http.ResponseController, which works for HTTP/1.1 and HTTP/2 alike.
//
// An HTTP/1.1 answer written while the body has not been read to its end
// (an early 404, a redirect) carries Connection: close, and the rest of the
// body is given a short moment before the connection closes: net/http would
// otherwise read and discard what is left before answering, or after, at
// the slow client's pace. Over HTTP/2 the stream is simply reset.
package bodyrate

import (
	"errors"
	"fmt"
	"io"
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
)

// linger is how long the rest of an unread HTTP/1.1 body may still be
// read, and thrown away, once the answer has gone out: a moment for the
// client to read the answer before the connection closes (net/http waits
// as long before closing a connection whose body it gave up on).
const linger = 500 * time.Millisecond

// slack is the least move of an HTTP/1.1 read deadline that is made: a
// fast body then moves it a few times a second, not at every read.
const slack = 100 * time.Millisecond

// ErrTooSlow is the error of a body read that ran out of credit: the body
// arrived more slowly than the Rate allows.
var ErrTooSlow = errors.New("bodyrate: request body arrived too slowly")

// Rate is the least transfer rate of request bodies. The zero value is the
// defaults, without Limit.
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

// Handler returns h with every request's body held to rt. A request body
// read past its credit fails with an error that matches ErrTooSlow (then
// every later read fails too); a read after h returned fails with
// http.ErrBodyReadAfterClose. Where the ResponseWriter cannot set read
// deadlines (http.ErrNotSupported) bodies are not bounded. The returned
// handler is safe for concurrent use.
func (rt Rate) Handler(h http.Handler) http.Handler {
	grace := rt.grace()
	perByte := max(time.Second/time.Duration(rt.perSecond()), 1)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			h.ServeHTTP(w, r)
			return
		}
		now := time.Now()
		b := &body{src: r.Body, rc: http.NewResponseController(w), h1: r.ProtoMajor < 2,
			grace: grace, perByte: perByte, credit: grace, start: now}
		if rt.Limit > 0 {
			b.limit = now.Add(rt.Limit)
		}
		r2 := *r
		r2.Body = b
		if !b.h1 {
			// No deadline until the first read: over HTTP/2 a deadline is
			// a timer that ends the body when it fires, even between reads.
			h.ServeHTTP(w, &r2)
			b.mu.Lock()
			b.over = true
			b.mu.Unlock()
			return
		}
		// Over HTTP/1.1 the deadline bounds net/http's own reads of the
		// body too (the ones that discard what a handler left unread).
		b.mu.Lock()
		b.arm(b.bound(now.Add(grace)))
		b.mu.Unlock()
		h.ServeHTTP(&writer{ResponseWriter: w, b: b}, &r2)
		b.mu.Lock()
		b.over = true
		if t := time.Now().Add(linger); b.pending() && (b.armed.IsZero() || t.Before(b.armed)) {
			b.rc.SetReadDeadline(t)
			b.armed = t
		}
		b.mu.Unlock()
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

	mu     sync.Mutex
	credit time.Duration
	n      int64     // bytes read
	armed  time.Time // the deadline set last; zero: none
	eof    bool
	err    error // sticky: the read that failed
	over   bool  // the handler returned: the connection may serve another request
}

// bound caps a deadline at the Limit.
func (b *body) bound(t time.Time) time.Time {
	if !b.limit.IsZero() && (t.IsZero() || b.limit.Before(t)) {
		return b.limit
	}
	return t
}

// arm sets the read deadline to t (zero: none). Over HTTP/1.1 a move
// smaller than slack is not made. b.mu is held.
func (b *body) arm(t time.Time) {
	if t.Equal(b.armed) {
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

// writer is an HTTP/1.1 ResponseWriter that closes the connection after an
// answer given while the body is still pending (see the package doc).
type writer struct {
	http.ResponseWriter
	b     *body
	wrote bool
}

func (w *writer) WriteHeader(code int) {
	switch {
	case w.wrote, code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols:
		// An answer went out already, or this one is informational.
	case code == http.StatusSwitchingProtocols:
		w.wrote = true // the connection is the handler's now
	default:
		w.wrote = true
		w.b.mu.Lock()
		if !w.b.eof {
			w.Header().Set("Connection", "close")
		}
		w.b.mu.Unlock()
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *writer) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap gives http.ResponseController the server's ResponseWriter.
func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }
