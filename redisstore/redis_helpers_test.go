package redisstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorm-prefetch/prefetch/redisstore"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// skipOrFail skips the test with why, or fails it when PREFETCH_REQUIRE_REDIS
// is set (as CI sets it), so that CI never passes without running it.
func skipOrFail(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("PREFETCH_REQUIRE_REDIS") != "" {
		t.Fatal("PREFETCH_REQUIRE_REDIS is set but " + why)
	}
	t.Skip(why)
}

// redisAddr is the address of the test Redis, PREFETCH_TEST_REDIS_ADDR;
// tests skip without it.
func redisAddr(t *testing.T) string {
	t.Helper()
	addr := os.Getenv("PREFETCH_TEST_REDIS_ADDR")
	if addr == "" {
		skipOrFail(t, `PREFETCH_TEST_REDIS_ADDR is unset: start a Redis with eval "$(.ci/start-redis.sh)" to run the Redis tests`)
	}
	return addr
}

// uniquePrefix keeps each test's keys apart on a shared Redis.
func uniquePrefix(t *testing.T) string {
	return fmt.Sprintf("test:%s:%x", t.Name(), rand.Uint64())
}

// newStore returns a store on the test Redis with its own key prefix.
func newStore(t *testing.T, opts redisstore.Options) *redisstore.Store {
	t.Helper()
	return newStoreAt(t, redisAddr(t), opts)
}

// newStoreAt returns a store on the Redis at addr; opts.Prefix, when empty,
// is a fresh one.
func newStoreAt(t *testing.T, addr string, opts redisstore.Options) *redisstore.Store {
	t.Helper()
	if opts.Prefix == "" {
		opts.Prefix = uniquePrefix(t)
	}
	if opts.Timeout == 0 { // CI machines are loaded: only timeout tests set one
		opts.Timeout = 2 * time.Second
	}
	s, err := redisstore.Dial(addr, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// A redisServer is a redis-server process of the test's own, which the test
// may stop, restart and pause.
type redisServer struct {
	t    *testing.T
	port int
	dir  string
	cmd  *exec.Cmd
}

// startRedis starts a redis-server of the test's own on a free port.
func startRedis(t *testing.T) *redisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		skipOrFail(t, "redis-server is not on PATH (apt-get install -y redis-server)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	r := &redisServer{t: t, port: port, dir: t.TempDir()}
	r.start()
	t.Cleanup(r.stop)
	return r
}

func (r *redisServer) addr() string { return "127.0.0.1:" + strconv.Itoa(r.port) }

// start starts the server (again, empty: nothing is saved) and waits until
// it answers.
func (r *redisServer) start() {
	r.t.Helper()
	r.cmd = exec.Command("redis-server", "--bind", "127.0.0.1", "--port", strconv.Itoa(r.port),
		"--save", "", "--appendonly", "no", "--dir", r.dir, "--logfile", filepath.Join(r.dir, "redis.log"))
	require.NoError(r.t, r.cmd.Start())
	c := redis.NewClient(&redis.Options{Addr: r.addr(), MaxRetries: -1})
	defer c.Close()
	require.Eventually(r.t, func() bool {
		return c.Ping(context.Background()).Err() == nil
	}, 10*time.Second, 20*time.Millisecond, "redis-server did not start on %s", r.addr())
}

// stop kills the server and waits for it to exit.
func (r *redisServer) stop() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGCONT) // a paused server cannot exit
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

func (r *redisServer) restart() { r.stop(); r.start() }

func (r *redisServer) pause()  { require.NoError(r.t, r.cmd.Process.Signal(syscall.SIGSTOP)) }
func (r *redisServer) resume() { require.NoError(r.t, r.cmd.Process.Signal(syscall.SIGCONT)) }

// A proxy forwards TCP connections to a target until it is cut: then it
// closes every connection and refuses new ones until restored.
type proxy struct {
	l      net.Listener
	target string

	mu    sync.Mutex // protects cut and conns
	cut   bool
	conns map[net.Conn]struct{}
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &proxy{l: l, target: target, conns: map[net.Conn]struct{}{}}
	go p.serve()
	t.Cleanup(func() { _ = l.Close(); p.setCut(true) })
	return p
}

func (p *proxy) addr() string { return p.l.Addr().String() }

func (p *proxy) serve() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		go p.forward(c)
	}
}

func (p *proxy) forward(c net.Conn) {
	if !p.track(c) {
		_ = c.Close()
		return
	}
	up, err := net.DialTimeout("tcp", p.target, time.Second)
	if err != nil || !p.track(up) {
		_ = c.Close()
		if up != nil {
			_ = up.Close()
		}
		return
	}
	go func() { copyAndClose(up, c) }()
	copyAndClose(c, up)
}

func copyAndClose(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	_ = dst.Close()
	_ = src.Close()
}

// track records c, or reports false when the proxy is cut.
func (p *proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

// setCut cuts (closing every connection) or restores the proxy.
func (p *proxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for c := range p.conns {
			_ = c.Close()
		}
		p.conns = map[net.Conn]struct{}{}
	}
}
