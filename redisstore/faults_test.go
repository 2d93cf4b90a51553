package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorm-prefetch/prefetch"
	"github.com/gorm-prefetch/prefetch/redisstore"
	"github.com/stretchr/testify/require"
)

// A restart loses everything, the epoch included: values filled before are
// gone and leases taken before fill nothing, though the new clock starts low
// again.
func TestRestartChangesTheEpochAndRefusesOlderLeases(t *testing.T) {
	r := startRedis(t)
	s := newStoreAt(t, r.addr(), redisstore.Options{Timeout: time.Second})
	_, lease, err := s.Read(ctx(t), "sp", "p", "users", []string{"1"})
	require.NoError(t, err)
	require.NoError(t, s.Fill(ctx(t), lease, "sp", "p", "users", []string{"1"}, [][]byte{[]byte("one")}, time.Minute))
	_, old, err := s.Read(ctx(t), "sp", "p", "users", []string{"2"})
	require.NoError(t, err)
	for range 3 {
		require.NoError(t, s.Invalidate(ctx(t), "sp", "users", []string{"3"}))
	}

	r.restart()
	var vals [][]byte
	var fresh prefetch.SharedLease
	require.Eventually(t, func() bool {
		vals, fresh, err = s.Read(ctx(t), "sp", "p", "users", []string{"1", "2"})
		return err == nil
	}, 5*time.Second, 10*time.Millisecond)
	require.Equal(t, [][]byte{nil, nil}, vals)
	require.NotEqual(t, old.Epoch, fresh.Epoch)
	require.Less(t, fresh.Clock, old.Clock+3)

	require.NoError(t, s.Fill(ctx(t), old, "sp", "p", "users", []string{"2"}, [][]byte{[]byte("old")}, time.Minute))
	vals, _, err = s.Read(ctx(t), "sp", "p", "users", []string{"2"})
	require.NoError(t, err)
	require.Nil(t, vals[0], "a lease from before the restart filled")
}

// SIGSTOP keeps connections open but unanswered: every call must give up at
// the timeout with ErrSharedUnavailable, and the store must work again once
// Redis resumes.
func TestPausedRedisFailsWithinTheTimeout(t *testing.T) {
	r := startRedis(t)
	const timeout = 100 * time.Millisecond
	s := newStoreAt(t, r.addr(), redisstore.Options{Timeout: timeout})
	_, lease, err := s.Read(ctx(t), "sp", "p", "users", []string{"1"})
	require.NoError(t, err)

	r.pause()
	calls := map[string]func() error{
		"read": func() error {
			_, _, err := s.Read(context.Background(), "sp", "p", "users", []string{"1"})
			return err
		},
		"lease": func() error { _, err := s.Lease(context.Background(), "sp"); return err },
		"fill": func() error {
			return s.Fill(context.Background(), lease, "sp", "p", "users", []string{"1"}, [][]byte{[]byte("x")}, time.Minute)
		},
		"invalidate": func() error { return s.Invalidate(context.Background(), "sp", "users", []string{"1"}) },
	}
	var took []time.Duration
	var mu sync.Mutex
	var wg sync.WaitGroup
	for name, call := range calls {
		for range 5 { // more callers than one connection: some wait for the pool
			wg.Add(1)
			go func() {
				defer wg.Done()
				start := time.Now()
				err := call()
				d := time.Since(start)
				mu.Lock()
				defer mu.Unlock()
				took = append(took, d)
				require.ErrorIs(t, err, prefetch.ErrSharedUnavailable, name)
			}()
		}
	}
	wg.Wait()
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	t.Logf("paused Redis, timeout %v: %d calls failed in %v (median %v, max %v)", timeout, len(took), took[0], took[len(took)/2], took[len(took)-1])
	require.Less(t, took[len(took)-1], timeout+300*time.Millisecond, "a call outlasted the timeout (beyond scheduling slack)")

	r.resume()
	require.Eventually(t, func() bool {
		_, _, err := s.Read(context.Background(), "sp", "p", "users", []string{"1"})
		return err == nil
	}, 5*time.Second, 10*time.Millisecond, "the store did not recover after Redis resumed")
}

// Cut connections fail calls with ErrSharedUnavailable; the client
// reconnects once the network is back.
func TestCutConnectionsFailAndRecover(t *testing.T) {
	r := startRedis(t)
	p := newProxy(t, r.addr())
	s := newStoreAt(t, p.addr(), redisstore.Options{Timeout: 200 * time.Millisecond})
	_, lease, err := s.Read(ctx(t), "sp", "p", "users", []string{"1"})
	require.NoError(t, err)
	p.setCut(true)
	_, _, err = s.Read(ctx(t), "sp", "p", "users", []string{"1"})
	require.ErrorIs(t, err, prefetch.ErrSharedUnavailable)
	require.ErrorIs(t, s.Invalidate(ctx(t), "sp", "users", []string{"1"}), prefetch.ErrSharedUnavailable)
	p.setCut(false)
	require.Eventually(t, func() bool {
		return s.Invalidate(ctx(t), "sp", "users", []string{"1"}) == nil
	}, 5*time.Second, 10*time.Millisecond)
	require.NoError(t, s.Fill(ctx(t), lease, "sp", "p", "users", []string{"1"}, [][]byte{[]byte("old")}, time.Minute))
	vals, _, err := s.Read(ctx(t), "sp", "p", "users", []string{"1"})
	require.NoError(t, err)
	require.Nil(t, vals[0], "a lease from before the invalidation filled")
}

// faultModel plays a database of a few rows whose values are versions over
// stores that fail now and then. Writers bump a row and invalidate it,
// retrying until the invalidation is delivered (what the plugin's fence
// does); readers read the store, and on a miss read the row and fill. A
// read that starts after a write's invalidation returned must never see an
// older version; every failure must be ErrSharedUnavailable.
type faultModel struct {
	stores  []*redisstore.Store
	db      [6]atomic.Int64
	settled [6]atomic.Int64
	reads   atomic.Int64 // values served
	fails   atomic.Int64 // calls that failed
	stale   atomic.Int64
	errs    chan error
}

func (m *faultModel) run(t *testing.T, d time.Duration, writers, readers int) {
	deadline := time.Now().Add(d)
	m.errs = make(chan error, writers+readers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; time.Now().Before(deadline); n++ {
				m.write(w, n)
				time.Sleep(time.Millisecond) // leave the readers time to hit
			}
		}()
	}
	for rd := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; time.Now().Before(deadline); n++ {
				m.read(rd, n)
			}
		}()
	}
	wg.Wait()
	close(m.errs)
	for err := range m.errs {
		require.NoError(t, err)
	}
	require.Zero(t, m.stale.Load(), "stale reads")
}

func (m *faultModel) check(err error) bool {
	if err == nil {
		return true
	}
	m.fails.Add(1)
	if !errors.Is(err, prefetch.ErrSharedUnavailable) {
		select {
		case m.errs <- err:
		default:
		}
	}
	return false
}

func (m *faultModel) write(w, n int) {
	s := m.stores[(w+n)%len(m.stores)]
	r := (w*7 + n) % len(m.db)
	v := m.db[r].Add(1)
	for {
		var err error
		switch n % 7 {
		case 5:
			err = s.Invalidate(context.Background(), "sp", "t", nil)
		case 6:
			err = s.Invalidate(context.Background(), "sp", "", nil)
		default:
			err = s.Invalidate(context.Background(), "sp", "t", []string{fmt.Sprint(r)})
		}
		if m.check(err) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	for {
		old := m.settled[r].Load()
		if old >= v || m.settled[r].CompareAndSwap(old, v) {
			return
		}
	}
}

func (m *faultModel) read(rd, n int) {
	s := m.stores[(rd+n)%len(m.stores)]
	r := (rd*3 + n) % len(m.db)
	part := fmt.Sprint("p", rd%2)
	floor := m.settled[r].Load()
	vals, lease, err := s.Read(context.Background(), "sp", part, "t", []string{fmt.Sprint(r)})
	if !m.check(err) {
		return // the plugin goes to the database
	}
	if vals[0] != nil {
		m.reads.Add(1)
		var v int64
		fmt.Sscan(string(vals[0]), &v)
		if v < floor {
			m.stale.Add(1)
		}
		return
	}
	v := m.db[r].Load()
	m.check(s.Fill(context.Background(), lease, "sp", part, "t", []string{fmt.Sprint(r)}, [][]byte{[]byte(fmt.Sprint(v))}, time.Minute))
}

func TestNoStaleReadWhileConnectionsAreCutAndRedisRestartsAndPauses(t *testing.T) {
	r := startRedis(t)
	prefix := uniquePrefix(t)
	m := &faultModel{}
	var proxies []*proxy
	for range 3 {
		p := newProxy(t, r.addr())
		proxies = append(proxies, p)
		m.stores = append(m.stores, newStoreAt(t, p.addr(), redisstore.Options{Prefix: prefix, Timeout: 50 * time.Millisecond}))
	}
	stop := make(chan struct{})
	faults := make(chan string, 100)
	go func() {
		defer close(faults)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(150 * time.Millisecond):
			}
			switch i % 4 {
			case 0: // cut one instance's network for a while
				p := proxies[i%len(proxies)]
				p.setCut(true)
				time.Sleep(100 * time.Millisecond)
				p.setCut(false)
				faults <- "cut"
			case 1: // pause Redis past the timeout
				r.pause()
				time.Sleep(120 * time.Millisecond)
				r.resume()
				faults <- "pause"
			case 2:
				r.restart()
				faults <- "restart"
			}
		}
	}()
	m.run(t, 3*time.Second, 3, 6)
	close(stop)
	n := map[string]int{}
	for f := range faults {
		n[f]++
	}
	t.Logf("faults %v; %d values served, %d calls failed, %d stale", n, m.reads.Load(), m.fails.Load(), m.stale.Load())
	require.NotZero(t, n["restart"])
	require.NotZero(t, m.reads.Load(), "the store never served: the test proves nothing")
}
