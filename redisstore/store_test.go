package redisstore_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorm-prefetch/prefetch"
	"github.com/gorm-prefetch/prefetch/redisstore"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

func TestNewRefusesBadOptions(t *testing.T) {
	_, err := redisstore.New(nil, redisstore.Options{})
	require.ErrorIs(t, err, redisstore.ErrBadOptions)
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer c.Close()
	_, err = redisstore.New(c, redisstore.Options{})
	require.ErrorIs(t, err, redisstore.ErrBadOptions, "a client that ignores context deadlines could outlast the timeout")
	c2 := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true})
	defer c2.Close()
	_, err = redisstore.New(c2, redisstore.Options{Timeout: -time.Second})
	require.ErrorIs(t, err, redisstore.ErrBadOptions)
	_, err = redisstore.New(c2, redisstore.Options{})
	require.NoError(t, err)
}

// roundTrips counts the commands a client sends.
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }
func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		r.n.Add(1)
		return next(ctx, cmd)
	}
}
func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		r.n.Add(1)
		return next(ctx, cmds)
	}
}

func TestEveryCallIsOneRoundTripWhateverTheNumberOfKeys(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: redisAddr(t), ContextTimeoutEnabled: true})
	defer c.Close()
	var rt roundTrips
	c.AddHook(&rt)
	s, err := redisstore.New(c, redisstore.Options{Prefix: uniquePrefix(t), Timeout: 5 * time.Second})
	require.NoError(t, err)
	keys := make([]string, 500)
	vals := make([][]byte, len(keys))
	for i := range keys {
		keys[i] = fmt.Sprint(i)
		vals[i] = []byte(fmt.Sprint("row ", i))
	}
	// Load the scripts (a first call may need EVAL after EVALSHA's NOSCRIPT).
	_, lease, err := s.Read(ctx(t), "sp", "p", "t", keys)
	require.NoError(t, err)
	require.NoError(t, s.Fill(ctx(t), lease, "sp", "p", "t", keys, vals, time.Minute))
	require.NoError(t, s.Invalidate(ctx(t), "sp", "t", keys[:1]))

	count := func(f func()) int64 { before := rt.n.Load(); f(); return rt.n.Load() - before }
	require.EqualValues(t, 1, count(func() { _, lease, err = s.Read(ctx(t), "sp", "p", "t", keys); require.NoError(t, err) }))
	require.EqualValues(t, 1, count(func() { require.NoError(t, s.Fill(ctx(t), lease, "sp", "p", "t", keys, vals, time.Minute)) }))
	require.EqualValues(t, 1, count(func() { _, err = s.Lease(ctx(t), "sp"); require.NoError(t, err) }))
	require.EqualValues(t, 1, count(func() { require.NoError(t, s.Invalidate(ctx(t), "sp", "t", keys)) }))
	require.EqualValues(t, 1, count(func() { require.NoError(t, s.Invalidate(ctx(t), "sp", "t", nil)) }))
	require.EqualValues(t, 1, count(func() { require.NoError(t, s.Invalidate(ctx(t), "sp", "", nil)) }))
}

// Two stores on one Redis (two processes' clients) share values and see each
// other's invalidations.
func TestTwoClientsShareValuesAndInvalidations(t *testing.T) {
	prefix := uniquePrefix(t)
	a := newStore(t, redisstore.Options{Prefix: prefix})
	b := newStore(t, redisstore.Options{Prefix: prefix})
	_, lease, err := a.Read(ctx(t), "sp", "p", "users", []string{"1"})
	require.NoError(t, err)
	require.NoError(t, a.Fill(ctx(t), lease, "sp", "p", "users", []string{"1"}, [][]byte{[]byte("one")}, time.Minute))
	vals, leaseB, err := b.Read(ctx(t), "sp", "p", "users", []string{"1"})
	require.NoError(t, err)
	require.Equal(t, "one", string(vals[0]))
	require.Equal(t, lease.Epoch, leaseB.Epoch)

	_, lease, err = b.Read(ctx(t), "sp", "p", "users", []string{"2"})
	require.NoError(t, err)
	require.NoError(t, a.Invalidate(ctx(t), "sp", "users", []string{"1", "2"}))
	require.NoError(t, b.Fill(ctx(t), lease, "sp", "p", "users", []string{"2"}, [][]byte{[]byte("old")}, time.Minute))
	vals, _, err = b.Read(ctx(t), "sp", "p", "users", []string{"1", "2"})
	require.NoError(t, err)
	require.Equal(t, [][]byte{nil, nil}, vals)
}

// If Redis evicts the meta hash (an allkeys policy under memory pressure),
// the epoch goes with the versions: rows that survived are never served,
// and leases from before are refused.
func TestRowsAndLeasesOfALostMetaHashAreRefused(t *testing.T) {
	prefix := uniquePrefix(t)
	s := newStore(t, redisstore.Options{Prefix: prefix})
	_, lease, err := s.Read(ctx(t), "sp", "p", "users", []string{"1"})
	require.NoError(t, err)
	require.NoError(t, s.Fill(ctx(t), lease, "sp", "p", "users", []string{"1"}, [][]byte{[]byte("one")}, time.Minute))
	_, lease, err = s.Read(ctx(t), "sp", "p", "users", []string{"2"})
	require.NoError(t, err)

	c := redis.NewClient(&redis.Options{Addr: redisAddr(t)})
	defer c.Close()
	metas, err := c.Keys(ctx(t), prefix+":*}:m").Result()
	require.NoError(t, err)
	require.Len(t, metas, 1)
	require.NoError(t, c.Del(ctx(t), metas[0]).Err())
	rows, err := c.Keys(ctx(t), prefix+":*}:r:*").Result()
	require.NoError(t, err)
	require.Len(t, rows, 1, "the row survived the meta hash")

	vals, fresh, err := s.Read(ctx(t), "sp", "p", "users", []string{"1"})
	require.NoError(t, err)
	require.Nil(t, vals[0], "a row of the lost epoch was served")
	require.NotEqual(t, lease.Epoch, fresh.Epoch)
	require.NoError(t, s.Fill(ctx(t), lease, "sp", "p", "users", []string{"2"}, [][]byte{[]byte("old")}, time.Minute))
	vals, _, err = s.Read(ctx(t), "sp", "p", "users", []string{"2"})
	require.NoError(t, err)
	require.Nil(t, vals[0], "a lease of the lost epoch filled")
}

// Key versions are pruned once older than the lease lifetime, so the meta
// hash stays small under a stream of writes; a lease taken before a pruned
// invalidation is still refused (by the floor), even if the filler's clock
// says the lease is young.
func TestPrunedVersionsStillRefuseOlderLeases(t *testing.T) {
	prefix := uniquePrefix(t)
	const lifetime = 100 * time.Millisecond
	s := newStore(t, redisstore.Options{Prefix: prefix, LeaseLifetime: lifetime})
	_, old, err := s.Read(ctx(t), "sp", "p", "users", []string{"1"})
	require.NoError(t, err)
	for i := range 200 {
		require.NoError(t, s.Invalidate(ctx(t), "sp", "users", []string{fmt.Sprint(i)}))
	}
	time.Sleep(2 * lifetime)
	for i := range 50 { // each call prunes a step
		require.NoError(t, s.Invalidate(ctx(t), "sp", "orders", []string{fmt.Sprint(i)}))
	}
	c := redis.NewClient(&redis.Options{Addr: redisAddr(t)})
	defer c.Close()
	metas, err := c.Keys(ctx(t), prefix+":*}:m").Result()
	require.NoError(t, err)
	require.Len(t, metas, 1)
	n, err := c.HLen(ctx(t), metas[0]).Result()
	require.NoError(t, err)
	require.Less(t, n, int64(200), "pruning kept every key version")

	old.At = time.Now() // a filler whose clock lags: only the store can refuse it
	require.NoError(t, s.Fill(ctx(t), old, "sp", "p", "users", []string{"1"}, [][]byte{[]byte("old")}, time.Minute))
	vals, _, err := s.Read(ctx(t), "sp", "p", "users", []string{"1"})
	require.NoError(t, err)
	require.Nil(t, vals[0], "a fill under a lease older than a pruned invalidation was kept")
}

func TestStoreErrorsMatchErrSharedUnavailable(t *testing.T) {
	s, err := redisstore.Dial("127.0.0.1:1", redisstore.Options{Timeout: 200 * time.Millisecond})
	require.NoError(t, err)
	defer s.Close()
	_, _, err = s.Read(ctx(t), "sp", "p", "t", []string{"1"})
	require.ErrorIs(t, err, prefetch.ErrSharedUnavailable)
	_, err = s.Lease(ctx(t), "sp")
	require.ErrorIs(t, err, prefetch.ErrSharedUnavailable)
	err = s.Fill(ctx(t), prefetch.SharedLease{Epoch: "e", At: time.Now()}, "sp", "p", "t", []string{"1"}, [][]byte{nil}, time.Minute)
	require.ErrorIs(t, err, prefetch.ErrSharedUnavailable)
	require.ErrorIs(t, s.Invalidate(ctx(t), "sp", "t", nil), prefetch.ErrSharedUnavailable)
}
