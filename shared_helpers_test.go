package prefetch_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorm-prefetch/prefetch"
	"github.com/gorm-prefetch/prefetch/internal/sqlcount"
	"github.com/gorm-prefetch/prefetch/sharedtest"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// testStore is a SharedStore for the core module's tests (the in-process
// store, memstore, is a module of its own; it runs these rules too): a map
// under a lock that keeps the SharedStore rule, with faults to inject and
// counters of what it was asked.
type testStore struct {
	mu     sync.Mutex
	clock  uint64
	epoch  string
	vals   map[[4]string]testVal // space, partition, table, key
	spaces map[string]uint64
	tables map[[2]string]uint64
	keys   map[[3]string]uint64

	failReads   atomic.Bool // Read and Lease fail
	failWrites  atomic.Bool // Fill and Invalidate fail
	reads       atomic.Int64
	fills       atomic.Int64 // values stored
	refused     atomic.Int64 // values a fill did not store
	invalidates atomic.Int64
}

type testVal struct {
	b       []byte
	lease   uint64
	expires time.Time
}

var errStoreDown = fmt.Errorf("test store down: %w", prefetch.ErrSharedUnavailable)

func newTestStore() *testStore {
	return &testStore{epoch: "e1", vals: map[[4]string]testVal{}, spaces: map[string]uint64{},
		tables: map[[2]string]uint64{}, keys: map[[3]string]uint64{}}
}

func TestTestStoreKeepsTheSharedStoreRule(t *testing.T) {
	sharedtest.Run(t, func(*testing.T) prefetch.SharedStore { return newTestStore() })
}

func (s *testStore) lease() prefetch.SharedLease {
	return prefetch.SharedLease{Epoch: s.epoch, Clock: s.clock, At: time.Now()}
}

func (s *testStore) floor(space, table, key string) uint64 {
	return max(s.spaces[space], s.tables[[2]string{space, table}], s.keys[[3]string{space, table, key}])
}

func (s *testStore) Read(ctx context.Context, space, part, table string, keys []string) ([][]byte, prefetch.SharedLease, error) {
	s.reads.Add(1)
	if s.failReads.Load() {
		return nil, prefetch.SharedLease{}, errStoreDown
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([][]byte, len(keys))
	for i, k := range keys {
		v, ok := s.vals[[4]string{space, part, table, k}]
		if ok && v.lease >= s.floor(space, table, k) && time.Now().Before(v.expires) {
			out[i] = v.b
		}
	}
	return out, s.lease(), nil
}

func (s *testStore) Lease(ctx context.Context, space string) (prefetch.SharedLease, error) {
	if s.failReads.Load() {
		return prefetch.SharedLease{}, errStoreDown
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lease(), nil
}

func (s *testStore) Fill(ctx context.Context, lease prefetch.SharedLease, space, part, table string, keys []string, vals [][]byte, ttl time.Duration) error {
	if s.failWrites.Load() {
		return errStoreDown
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, k := range keys {
		if lease.Epoch != s.epoch || time.Since(lease.At) > 10*time.Second || s.floor(space, table, k) > lease.Clock {
			s.refused.Add(1)
			continue
		}
		s.vals[[4]string{space, part, table, k}] = testVal{vals[i], lease.Clock, time.Now().Add(ttl)}
		s.fills.Add(1)
	}
	return nil
}

func (s *testStore) Invalidate(ctx context.Context, space, table string, keys []string) error {
	s.invalidates.Add(1)
	if s.failWrites.Load() {
		return errStoreDown
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock++
	switch {
	case table == "":
		s.spaces[space] = s.clock
	case keys == nil:
		s.tables[[2]string{space, table}] = s.clock
	default:
		for _, k := range keys {
			s.keys[[3]string{space, table, k}] = s.clock
		}
	}
	return nil
}

// held returns how many values the store holds and may still serve.
func (s *testStore) held() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, v := range s.vals {
		if v.lease >= s.floor(k[0], k[2], k[3]) && time.Now().Before(v.expires) {
			n++
		}
	}
	return n
}

// sharedEnv is one database with two handles that have the plugin, each its
// own instance, sharing one store, and a plain handle.
type sharedEnv struct {
	*side                    // handle a: side.db, with side.count
	b      *gorm.DB          // handle b
	bCount *sqlcount.Counter // statements of handle b
	store  *testStore
	plain  *gorm.DB
}

// sharedModels are the models the tests share.
func sharedModels() []any { return []any{&Customer{}, &Product{}} }

// openShared opens a sharedEnv on dialect; cfg adjusts the shared cache.
func openShared(t *testing.T, dialect string, cfg func(*prefetch.SharedCache)) *sharedEnv {
	t.Helper()
	store := newTestStore()
	sc := &prefetch.SharedCache{Store: store, Models: sharedModels(), Unpartitioned: true}
	if cfg != nil {
		cfg(sc)
	}
	s := openSide(t, dialect, true, compareOpts{plugin: prefetch.Plugin{Shared: sc}})
	e := &sharedEnv{side: s, store: store}
	_, e.b, e.bCount = s.openHandle(t, true)
	_, e.plain, _ = s.openHandle(t, false)
	require.NoError(t, e.plain.AutoMigrate(allModels()...))
	return e
}

// req returns handle h bound to a fresh request context.
func req(h *gorm.DB) *gorm.DB { return h.WithContext(prefetch.NewContext(context.Background())) }

// queriesOf runs fn and returns how many statements reached the database
// through counter c.
func queriesOf(t *testing.T, c *sqlcount.Counter, fn func()) int64 {
	t.Helper()
	c.Reset()
	fn()
	return c.Total()
}
