// Package redisstore is the Redis backend of prefetch's shared cache: a
// [prefetch.SharedStore] that many processes share, so that a row one of
// them read is served to the others until a write through any of them
// invalidates it.
//
//	store, err := redisstore.Dial("127.0.0.1:6379", redisstore.Options{})
//	db.Use(prefetch.Plugin{Shared: &prefetch.SharedCache{Store: store, ...}})
//
// # One round trip per call
//
// Read, Lease, Fill and Invalidate are each one Lua script (EVALSHA), so
// each is one round trip whatever the number of keys, and each runs
// atomically: Fill's compare-and-set and Invalidate's delete-everywhere
// cannot interleave with anything else on the space.
//
// # Layout and the one rule
//
// A space's keys share a Redis Cluster hash tag (a hash of the space's
// name), so a space lives on one slot. Its meta hash holds the epoch, the
// invalidation clock and the versions (the clock values of the last
// invalidations) of the space, of each table and of each key invalidated
// within the lease lifetime. Each row has a hash of entries by partition,
// so that invalidating a key deletes it in every partition with one DEL.
//
// A lease is the epoch and the clock. Fill stores nothing if the epoch
// changed or any version of the space, the table or a key is above the
// lease's clock: the stale-set race (a reader's lease, a write and its
// invalidation, the reader's fill of the old row) always loses. Entries
// carry their lease's epoch and clock, and Read serves one only if its
// epoch is current and no table or space invalidation came after it (key
// invalidations delete it).
//
// # Lost state
//
// The epoch is random and created on first use; a restart, a FLUSHALL or
// an eviction of the meta hash loses it with every version, so every
// lease and entry from before is refused. Redis evicts a hash whole, so the
// versions can never be lost without the epoch. Key versions older than
// the lease lifetime are pruned (a step per Invalidate), and the highest
// pruned clock becomes a floor below which leases are refused: pruning never
// lets a stale fill in, whatever the filler's clock says. Entries expire at
// their fill's TTL.
//
// A Redis that restarts may load its state back (an RDB snapshot, which
// Redis saves by default, or an append-only file): versions as they were
// when saved, without the invalidations made since. So the meta hash also
// holds the run_id of the Redis process that created its epoch, and every
// script first compares it with the running one (INFO server): a meta hash
// from another run loses its epoch, and every lease and entry from before
// is refused. A failover to a replica changes the run_id too.
//
// # Failures
//
// Every call is bounded by Options.Timeout (and the caller's deadline); a
// call that fails or times out returns an error matching
// [prefetch.ErrSharedUnavailable], and the plugin goes to the database. The
// client reconnects by itself. A client given to [New] must have
// ContextTimeoutEnabled, or a paused Redis would hold calls for the
// client's read timeout.
//
// An invalidation that fails leaves the old row in Redis, where processes
// that still reach it would serve it. So stores are members of the spaces
// they use and heartbeat (membership.go): while any member has been silent
// for more than Options.MemberSilence, Reads serve nothing; a failed
// Invalidate returns only once that has happened (within the call's
// deadline), and the member's next heartbeat invalidates the whole space
// before it counts as live again. A member silent for Options.MemberGone is
// removed as crashed, with a whole-space invalidation. What remains: a
// process cut off from Redis for longer than MemberGone while it keeps
// writing to the database can leave stale rows readable until it reaches
// Redis again; so can one that has not reached Redis since Redis last
// restarted, or since it started itself (it is not a member); and one whose members set an allkeys eviction policy evicted.
// Use noeviction or a volatile-* policy: only entries carry TTLs.
//
// # Why go-redis
//
// github.com/redis/go-redis/v9 is the client most Go services already hold
// (New takes their client, Cluster and Sentinel included), and every call
// here is one script whose cost is the round trip, which any client pays
// alike. rueidis's server-assisted client-side caching would not help: a
// Read's answer depends on the space's meta hash, which every write
// changes, so a near cache of it would be invalidated on every write.
package redisstore
