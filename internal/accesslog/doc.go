// Package accesslog writes the edge's access log: one JSON object a line
// for each request the edge answers (Entry), to a file or to standard
// output. Lines are written by a goroutine of the log's own, through a
// bounded queue: a slow or full disk never holds a request up, and a line
// that finds the queue full is dropped and counted (Dropped). Reopen opens
// the file again, for logrotate (the node calls it on SIGHUP).
package accesslog
