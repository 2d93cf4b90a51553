// Package memstore is the in-process backend of prefetch's shared cache: one
// [Store] shared by every request of a process, bounded in size, with a TTL
// per entry (github.com/maypok86/otter/v2 holds the values).
//
//	store := memstore.New(memstore.Options{MaxEntries: 100_000})
//	db.Use(prefetch.Plugin{Shared: &prefetch.SharedCache{Store: store, ...}})
//
// It keeps the rule of [prefetch.SharedStore] with a clock: every
// invalidation moves the clock on and records the time it was made at, for
// its space, its table or each of its keys; a lease is the clock's time
// when it was taken; a fill is refused when anything it names was
// invalidated at a later time, and a value is read only while nothing it
// depends on was invalidated after its fill's lease. Versions of keys are
// kept for the lease lifetime only: a lease older than that is refused, so
// no fill needs them afterwards, and an invalidated key's values are
// dropped when it is invalidated.
package memstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"

	"github.com/gorm-prefetch/prefetch"
	"github.com/maypok86/otter/v2"
)

// Default values of [Options] fields left at zero.
const (
	DefaultMaxEntries    = 100_000
	DefaultLeaseLifetime = 10 * time.Second
)

// Options configure a [Store]. The zero value is valid.
type Options struct {
	// MaxEntries bounds the keys the store holds (each with the values of
	// every partition filled for it); past it, the entries least likely to
	// be used again are evicted. 0 means DefaultMaxEntries.
	MaxEntries int
	// LeaseLifetime is how long after it was taken a lease may still
	// fill: a query slower than that stores nothing. 0 means
	// DefaultLeaseLifetime (10 s).
	LeaseLifetime time.Duration
}

// Store is the in-process [prefetch.SharedStore]. Its methods are safe for
// concurrent use and never fail.
type Store struct {
	lifetime time.Duration
	epoch    string
	values   *otter.Cache[entryKey, *item]

	mu     sync.RWMutex      // Read takes it shared; Fill and Invalidate exclusively; protects the fields below
	clock  uint64            // moves on at every invalidation
	spaces map[string]*space // versions by space
	recent []keyVersion      // key versions in the order they were made, for pruning
}

// space holds the invalidation versions of one space.
type space struct {
	all    uint64              // the last invalidation of the whole space
	tables map[string]uint64   // by table
	keys   map[tableKey]uint64 // by table and key, kept for the lease lifetime
}

type tableKey struct{ table, key string }

type keyVersion struct {
	space string
	tk    tableKey
	ver   uint64
	at    time.Time
}

type entryKey struct{ space, table, key string }

// item holds the values of one key, by partition. It is never modified
// once stored (a fill stores a copy).
type item struct {
	parts   map[string]part
	expires time.Time // the latest of the parts'
}

type part struct {
	val     []byte
	lease   uint64 // the clock of the lease it was filled under
	expires time.Time
}

// New returns an empty store.
func New(o Options) *Store {
	if o.MaxEntries <= 0 {
		o.MaxEntries = DefaultMaxEntries
	}
	if o.LeaseLifetime <= 0 {
		o.LeaseLifetime = DefaultLeaseLifetime
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return &Store{
		lifetime: o.LeaseLifetime,
		epoch:    "mem-" + hex.EncodeToString(b[:]),
		spaces:   map[string]*space{},
		values: otter.Must(&otter.Options[entryKey, *item]{
			MaximumSize: o.MaxEntries,
			ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[entryKey, *item]) time.Duration {
				return time.Until(e.Value.expires)
			}),
		}),
	}
}

// Close stops the store's background work. The store must not be used
// afterwards.
func (s *Store) Close() { s.values.StopAllGoroutines() }

// Len returns how many keys the store holds (an estimate, for tests and
// dashboards).
func (s *Store) Len() int { return s.values.EstimatedSize() }

func (s *Store) lease() prefetch.SharedLease {
	return prefetch.SharedLease{Epoch: s.epoch, Clock: s.clock, At: time.Now()}
}

// Read implements [prefetch.SharedStore].
func (s *Store) Read(_ context.Context, sp, partition, table string, keys []string) ([][]byte, prefetch.SharedLease, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([][]byte, len(keys))
	var floor uint64
	if v := s.spaces[sp]; v != nil {
		floor = max(v.all, v.tables[table])
	}
	now := time.Now()
	for i, k := range keys {
		it, ok := s.values.GetIfPresent(entryKey{sp, table, k})
		if !ok {
			continue
		}
		p, ok := it.parts[partition]
		if ok && p.lease >= floor && now.Before(p.expires) {
			out[i] = p.val
		}
	}
	return out, s.lease(), nil
}

// Lease implements [prefetch.SharedStore].
func (s *Store) Lease(context.Context, string) (prefetch.SharedLease, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.lease(), nil
}

// Fill implements [prefetch.SharedStore].
func (s *Store) Fill(_ context.Context, lease prefetch.SharedLease, sp, partition, table string, keys []string, vals [][]byte, ttl time.Duration) error {
	if len(keys) != len(vals) || ttl <= 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if lease.Epoch != s.epoch || lease.Clock > s.clock || now.Sub(lease.At) > s.lifetime || lease.At.After(now) {
		return nil
	}
	v := s.spaces[sp]
	if v != nil && (v.all > lease.Clock || v.tables[table] > lease.Clock) {
		return nil
	}
	expires := now.Add(ttl)
	for i, k := range keys {
		if vals[i] == nil || v != nil && v.keys[tableKey{table, k}] > lease.Clock {
			continue
		}
		ek := entryKey{sp, table, k}
		next := &item{parts: map[string]part{}, expires: expires}
		if old, ok := s.values.GetIfPresent(ek); ok {
			for name, p := range old.parts {
				if now.Before(p.expires) {
					next.parts[name] = p
					if p.expires.After(next.expires) {
						next.expires = p.expires
					}
				}
			}
		}
		next.parts[partition] = part{val: vals[i], lease: lease.Clock, expires: expires}
		s.values.Set(ek, next)
	}
	return nil
}

// Invalidate implements [prefetch.SharedStore].
func (s *Store) Invalidate(_ context.Context, sp, table string, keys []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock++
	ver := s.clock
	v := s.spaces[sp]
	if v == nil {
		v = &space{tables: map[string]uint64{}, keys: map[tableKey]uint64{}}
		s.spaces[sp] = v
	}
	switch {
	case table == "":
		v.all = ver
	case keys == nil:
		v.tables[table] = ver
	default:
		now := time.Now()
		for _, k := range keys {
			tk := tableKey{table, k}
			v.keys[tk] = ver
			s.recent = append(s.recent, keyVersion{sp, tk, ver, now})
			s.values.Invalidate(entryKey{sp, table, k})
		}
	}
	s.prune()
	return nil
}

// prune forgets key versions older than the lease lifetime: every lease
// they could refuse is refused for its age. Callers hold s.mu.
func (s *Store) prune() {
	cut := time.Now().Add(-s.lifetime)
	n := 0
	for n < len(s.recent) && s.recent[n].at.Before(cut) {
		kv := s.recent[n]
		if v := s.spaces[kv.space]; v != nil && v.keys[kv.tk] == kv.ver {
			delete(v.keys, kv.tk)
		}
		n++
	}
	if n > 0 {
		s.recent = append(s.recent[:0:0], s.recent[n:]...)
	}
}

var _ prefetch.SharedStore = (*Store)(nil)
