package redisstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
)

// Two instances write and read through the plugin while Redis restarts,
// pauses past the timeout, and the instances' connections to it are cut
// (both, or one alone while the other still reaches Redis): every GORM call
// succeeds, and no read that starts after a write returned sees an older
// version.
func TestFaultsNeverFailAQueryNorServeAStaleRow(t *testing.T) {
	r := startRedis(t)
	w := newWorld(t)
	w.redis = r.addr()
	const items = 20
	w.seed(t, 1, items)
	pa, pb := newProxy(t, r.addr()), newProxy(t, r.addr())
	// MemberSilence no longer than the timeout: a write whose invalidation
	// failed returns only once the other instance stopped serving.
	const timeout, silence = 50 * time.Millisecond, 40 * time.Millisecond
	ins := []*instance{w.instanceAt(t, pa.addr(), timeout, silence), w.instanceAt(t, pb.addr(), timeout, silence)}

	var settled [items + 1]atomic.Int64
	var done atomic.Bool
	var hits, reads, stale atomic.Int64
	errs := make(chan error, 10)
	report := func(err error) {
		select {
		case errs <- err:
		default:
		}
	}
	var wg sync.WaitGroup
	for i, in := range ins { // a writer per instance, each owning half the items
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := int64(1); !done.Load(); n++ {
				id := int64(i*10) + 1 + n%10
				if err := write(in.request(), id, n); err != nil {
					report(fmt.Errorf("write through instance %d: %w", i, err))
					return
				}
				settled[id].Store(n) // one writer per item: versions only grow
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	for rd := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(rd), 9))
			for !done.Load() {
				id := rng.Int64N(items) + 1
				floor := settled[id].Load()
				ctx := prefetch.NewContext(context.Background())
				var it Item
				if err := ins[rd%2].db.WithContext(ctx).First(&it, id).Error; err != nil {
					report(fmt.Errorf("read: %w", err))
					return
				}
				reads.Add(1)
				hits.Add(prefetch.StatsOf(ctx).SharedHits)
				if it.Version < floor || it.Version < 0 {
					stale.Add(1)
					report(fmt.Errorf("item %d: read version %d after version %d's write returned", id, it.Version, floor))
				}
			}
		}()
	}
	faults := map[string]int{}
	for i := range 16 {
		time.Sleep(250 * time.Millisecond)
		switch i % 4 {
		case 0:
			pa.setCut(true)
			pb.setCut(true)
			time.Sleep(150 * time.Millisecond)
			pa.setCut(false)
			pb.setCut(false)
			faults["cut"]++
		case 1:
			r.pause()
			time.Sleep(150 * time.Millisecond)
			r.resume()
			faults["pause"]++
		case 2:
			r.restart()
			faults["restart"]++
		case 3: // one instance alone loses Redis: the other must stop serving
			p := []*proxy{pa, pb}[i/4%2]
			p.setCut(true)
			time.Sleep(150 * time.Millisecond)
			p.setCut(false)
			faults["cut one"]++
		}
	}
	time.Sleep(250 * time.Millisecond)
	done.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	t.Logf("faults %v; %d reads, %d rows served from Redis, %d stale", faults, reads.Load(), hits.Load(), stale.Load())
	require.NotZero(t, hits.Load(), "nothing was served from Redis: the test proves nothing")
}
