// Package redistest runs a real redis-server for tests and benchmarks: a
// private instance on a loopback port, in a temporary directory, without
// persistence, killed when the test ends. It can be killed and started
// again on the same port to simulate an outage.
//
// A missing redis-server fails the test instead of skipping it: the test
// command installs the Debian package, and a skipped Redis test would hide
// exactly the behaviour it exists to prove.
package redistest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// readyTimeout bounds how long a starting server may take to say it is
// ready. It is a limit on a failure, not a wait: a healthy server is
// ready in milliseconds and the test goes on as soon as it says so.
const readyTimeout = 15 * time.Second

// Server is one redis-server process, restartable on its port.
type Server struct {
	tb   testing.TB
	bin  string
	dir  string
	Port int

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Start starts redis-server on a free loopback port and registers its
// cleanup with tb.
func Start(tb testing.TB) *Server {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		tb.Fatalf("redis-server not found (Debian package redis-server; ./test.sh installs it): %v", err)
	}
	s := &Server{tb: tb, bin: bin, dir: tb.TempDir(), Port: freePort(tb)}
	tb.Cleanup(s.Kill)
	s.Restart()
	return s
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)) }

// Restart starts the server again on the same port after Kill; it returns
// once the server accepts connections.
func (s *Server) Restart() {
	s.tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		s.tb.Fatal("redistest: server already running")
	}
	cmd := exec.Command(s.bin, "--save", "", "--appendonly", "no", "--port", strconv.Itoa(s.Port),
		"--bind", "127.0.0.1", "--dir", s.dir, "--daemonize", "no", "--loglevel", "notice")
	r, w, err := os.Pipe()
	if err != nil {
		s.tb.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		s.tb.Fatalf("redistest: start redis-server: %v", err)
	}
	_ = w.Close()
	ready, done := make(chan struct{}), make(chan struct{})
	var logTail []string
	go func() {
		defer close(done)
		defer r.Close()
		sc := bufio.NewScanner(r)
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			if !signalled {
				logTail = append(logTail, line)
				if strings.Contains(line, "Ready to accept connections") {
					signalled = true
					close(ready)
				}
			}
		}
	}()
	select {
	case <-ready:
	case <-done:
		_ = cmd.Wait()
		s.tb.Fatalf("redistest: redis-server on port %d exited before it was ready:\n%s", s.Port, strings.Join(logTail, "\n"))
	case <-time.After(readyTimeout):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		s.tb.Fatalf("redistest: redis-server on port %d not ready after %s", s.Port, readyTimeout)
	}
	s.cmd, s.done = cmd, done
}

// Kill stops the server at once (SIGKILL: no goodbye to clients, as in a
// crash) and waits for the process to be gone. Killing a stopped server
// does nothing.
func (s *Server) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	<-s.done
	s.cmd = nil
}

// Pause stops the server without closing anything (SIGSTOP): connections
// stay open and commands hang, as with an overloaded or partitioned
// server. Resume continues it.
func (s *Server) Pause() { s.signal(syscall.SIGSTOP) }

// Resume continues a paused server.
func (s *Server) Resume() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig os.Signal) {
	s.tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		s.tb.Fatal("redistest: server not running")
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.tb.Fatalf("redistest: %v: %v", sig, err)
	}
}

// freePort asks the kernel for a free loopback port. Another process
// could take it before redis-server binds it; then Restart fails loudly.
func freePort(tb testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(fmt.Errorf("redistest: free port: %w", err))
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
