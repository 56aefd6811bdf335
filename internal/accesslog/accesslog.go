package accesslog

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Entry is one line of the access log. Only what is listed here is
// logged: no query string (it may carry secrets), no header, no cookie,
// nothing of a client certificate.
type Entry struct {
	Time       time.Time `json:"time"`                  // when the request arrived, UTC
	ClientIP   string    `json:"client_ip"`             // the connection's peer address
	Scheme     string    `json:"scheme"`                // https or http
	SNI        string    `json:"sni,omitempty"`         // the server name of the TLS handshake; "" without one
	Host       string    `json:"host"`                  // the request's Host, lowercase, without port
	Method     string    `json:"method"`                // GET, POST, …
	Path       string    `json:"path"`                  // the path as sent (escaped), without the query; at most MaxPath bytes
	Proto      string    `json:"proto"`                 // HTTP/1.1, HTTP/2.0
	TLSVersion string    `json:"tls_version,omitempty"` // "TLS 1.3"; "" over plain HTTP
	ALPN       string    `json:"alpn,omitempty"`        // the protocol ALPN chose (h2, http/1.1), or ""
	Resumed    bool      `json:"resumed"`               // the TLS session was resumed
	Status     int       `json:"status"`                // the status answered to the client
	Bytes      int64     `json:"bytes"`                 // body bytes answered to the client
	DurationMS float64   `json:"duration_ms"`           // from the request's headers to the end of its answer
	// OriginStatus is the status the origin answered, or 0 (left out) when
	// the request did not reach an origin or it did not answer.
	OriginStatus int `json:"origin_status,omitempty"`
}

// MaxPath bounds the path of a line; a longer one is cut and ends in "…".
const MaxPath = 2048

// QueueLines is how many lines wait for the writer at most; beyond, lines
// are dropped.
const QueueLines = 8192

// Log is an open access log. Its methods are safe for concurrent use.
type Log struct {
	path   string  // "-" for standard output
	sample float64 // the fraction of requests logged
	log    *slog.Logger

	queue  chan Entry
	reopen chan struct{}
	quit   chan struct{}
	done   chan struct{}
	once   sync.Once

	written, dropped atomic.Uint64

	// The writer goroutine's alone.
	file  io.WriteCloser
	batch []byte // lines encoded, not written yet
	lines int    // how many
	fail  bool   // the last write failed (logged once)
}

// Open opens the access log at path (appending; created 0640 when absent),
// or standard output for "-", logging the fraction sample (0 to 1) of the
// requests. log receives the log's own troubles (a write that fails).
// Close it to write what is queued.
func Open(path string, sample float64, log *slog.Logger) (*Log, error) {
	if path == "" {
		return nil, errors.New("accesslog: no path")
	}
	if !(sample >= 0 && sample <= 1) {
		return nil, fmt.Errorf("accesslog: sample %v is not from 0 to 1", sample)
	}
	if log == nil {
		log = slog.Default()
	}
	l := newLog(path, sample, log, nil)
	if err := l.open(); err != nil {
		return nil, err
	}
	go l.run()
	return l, nil
}

// newLog builds a log; with file set (for tests) it is started on it.
func newLog(path string, sample float64, log *slog.Logger, file io.WriteCloser) *Log {
	l := &Log{path: path, sample: sample, log: log, queue: make(chan Entry, QueueLines),
		reopen: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{}), file: file}
	if file != nil {
		go l.run()
	}
	return l
}

func (l *Log) open() error {
	if l.path == "-" {
		l.file = nopCloser{os.Stdout}
	} else {
		f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
		if err != nil {
			return fmt.Errorf("accesslog: %w", err)
		}
		l.file = f
	}
	return nil
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// Sampled reports whether to log a request: always with a sample of 1,
// never with 0, else at random with the sample's probability.
func (l *Log) Sampled() bool {
	switch {
	case l.sample >= 1:
		return true
	case l.sample <= 0:
		return false
	}
	return rand.Float64() < l.sample
}

// Write queues e for the writer and returns at once; when the queue is
// full, e is dropped and counted.
func (l *Log) Write(e Entry) {
	select {
	case l.queue <- e:
	default:
		l.dropped.Add(1)
	}
}

// Written and Dropped count the lines written and those dropped (the
// queue was full, or the write failed) since Open.
func (l *Log) Written() uint64 { return l.written.Load() }
func (l *Log) Dropped() uint64 { return l.dropped.Load() }

// Reopen has the writer close the file and open its path again (after
// logrotate moved it). It returns at once; on standard output it does
// nothing.
func (l *Log) Reopen() {
	select {
	case l.reopen <- struct{}{}:
	default: // one is pending
	}
}

// Close writes the lines queued, closes the file and returns. Lines
// written after Close are not written.
func (l *Log) Close() error {
	l.once.Do(func() { close(l.quit) })
	<-l.done
	return nil
}

// run writes the queued lines until Close: lines are gathered into a
// batch, written whenever the queue is empty or the batch is large, so that
// lines reach the file at once when requests are few and in large writes
// when they are many.
func (l *Log) run() {
	defer close(l.done)
	for {
		select {
		case e := <-l.queue:
			l.add(e)
			if len(l.queue) == 0 || len(l.batch) >= batchBytes {
				l.flush()
			}
		case <-l.reopen:
			l.flush()
			if l.path == "-" {
				continue
			}
			l.file.Close()
			if err := l.open(); err != nil {
				l.log.Error("access log cannot be opened again; lines are dropped until it can", "path", l.path, "error", err)
				l.file, l.fail = nopCloser{failing{}}, true
			}
		case <-l.quit:
			for len(l.queue) > 0 {
				l.add(<-l.queue)
				if len(l.batch) >= batchBytes {
					l.flush()
				}
			}
			l.flush()
			l.file.Close()
			return
		}
	}
}

// batchBytes is the size from which a batch is written without waiting
// for the queue to empty.
const batchBytes = 64 << 10

// failing is the file of a log that could not be opened again: every write
// fails, so that lines are counted as dropped until the next Reopen.
type failing struct{}

func (failing) Write([]byte) (int, error) { return 0, errors.New("accesslog: the file is not open") }

// add encodes e into the batch.
func (l *Log) add(e Entry) {
	l.batch = append(appendEntry(l.batch, e), '\n')
	l.lines++
}

// flush writes the batch; its lines count as written, or as dropped when
// the write fails.
func (l *Log) flush() {
	if l.lines == 0 {
		return
	}
	_, err := l.file.Write(l.batch)
	if err != nil {
		l.dropped.Add(uint64(l.lines))
		if !l.fail {
			l.fail = true
			l.log.Error("access log cannot be written; lines are dropped", "path", l.path, "error", err)
		}
	} else {
		l.written.Add(uint64(l.lines))
		if l.fail {
			l.fail = false
			l.log.Info("access log is written again", "path", l.path)
		}
	}
	l.batch, l.lines = l.batch[:0], 0
	if cap(l.batch) > 4*batchBytes { // a burst of long lines: let it go
		l.batch = nil
	}
}
