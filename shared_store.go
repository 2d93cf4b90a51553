package prefetch

import (
	"context"
	"errors"
	"time"
)

// A SharedStore is the backend of the shared cache: the second level behind
// the request cache, shared by every request of a process (an in-process
// store, module github.com/gorm-prefetch/prefetch/memstore) or by many
// processes (Redis, module github.com/gorm-prefetch/prefetch/redisstore).
//
// The plugin owns what is cached and when it is invalidated; a store owns
// one rule, which is what makes sharing safe across processes: a fill never
// stores a value read before an invalidation of its key, of its table, or of
// its whole space, once that invalidation returned. The plugin takes a lease
// before it queries the database and fills with it afterwards; the store
// refuses the fill (silently: Fill returns nil and stores nothing) if any
// invalidation named by the fill's keys, table or space was made after the
// lease was taken, if the lease is older than the store's lease lifetime,
// or if the store lost its state since (a restart, a flush, an eviction of
// the versions that prove the lease current).
//
// Spaces name a database (the same for every process on it). Partitions
// name what one request may read within a space: the tenant, from the
// partition function the shared cache is configured with, and the session
// identity of the handle (role, search path), so that two handles reading
// different rows under one name never share. Entries are kept per
// partition; invalidations reach every partition of a key, so that a write
// through any handle reaches the rows every other handle cached.
//
// Every method must be safe for concurrent use and must return within the
// context's deadline; a store that cannot answer returns an error, and the
// plugin then goes to the database as if the shared cache were empty.
type SharedStore interface {
	// Read returns the values filled for keys of table in partition (nil
	// where there is none) and a lease for filling the keys it did not
	// find. A value is returned only if no invalidation of its key, table
	// or space happened since its fill's lease was taken.
	Read(ctx context.Context, space, partition, table string, keys []string) ([][]byte, SharedLease, error)

	// Lease returns a lease for filling rows of space that the plugin is
	// about to read from the database without reading the store first.
	Lease(ctx context.Context, space string) (SharedLease, error)

	// Fill stores vals[i] under keys[i] of table in partition for ttl,
	// unless an invalidation since lease forbids it (see the type's
	// documentation); then it stores nothing and returns nil.
	Fill(ctx context.Context, lease SharedLease, space, partition, table string, keys []string, vals [][]byte, ttl time.Duration) error

	// Invalidate makes the values of keys of table unreadable in every
	// partition of space, and forbids fills under earlier leases. nil keys
	// mean every key of table; table "" means everything in space. It
	// returns once the invalidation is visible to every later Read of any
	// client of the store, or an error.
	Invalidate(ctx context.Context, space, table string, keys []string) error
}

// A SharedLease is what a store saw when the plugin took it: stores fill it
// in and read it back; the plugin only carries it from Read or Lease to Fill.
type SharedLease struct {
	// Epoch names the store's state: it changes when the store lost what
	// leases were checked against (a restart, a flush, an undeliverable
	// invalidation fenced off).
	Epoch string
	// Clock is the store's invalidation clock when the lease was taken.
	Clock uint64
	// At is when the lease was taken, by the plugin's clock.
	At time.Time
}

// ErrSharedUnavailable reports a shared store that did not answer in time or
// refused a request. The plugin never returns it from a GORM call: it goes
// to the database instead. Stores wrap it so that [errors.Is] matches.
var ErrSharedUnavailable = errors.New("prefetch: shared store unavailable")
