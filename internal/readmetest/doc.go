// Package readmetest checks the README as a newcomer meets it: every fenced
// code block is run where a CI machine can run it, and every link from the
// README or docs/ reaches a file of the repository.
//
// An HTML comment on the line before each fenced block with a language says
// what to do with it:
//
//	<!-- ci: run -->         run it against a node the test starts (shell, Go,
//	                         JavaScript), or load it as a --config file (JSON);
//	                         the node has the flags of the serve block before
//	                         it in its "## " section, if that starts one node
//	<!-- ci: serve -->       a shell block that starts nodes itself: wait until
//	                         they answer, then stop them
//	<!-- ci: skip: why -->   not run, for the reason given
//
// A block without a comment fails the test. Each block runs in a directory
// holding this module (go.mod, go.sum, cmd and internal linked) and nothing
// else, so "go run ./cmd/esacert" works as written, and ./esacert is there
// for a shell block that runs it without building it. The README's ports
// are moved to free ones and the PostgreSQL databases it creates get unique
// names.
//
// The Dockerfile and the systemd unit, which CI cannot run, are checked as
// files: their settings are ones esacert reads and accepts, and the unit
// passes systemd-analyze verify. The package has tests only.
package readmetest
