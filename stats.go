package prefetch

import "context"

// Stats counts what one request cache did. The zero value means "no request
// cache": [StatsOf] returns it for a context made without [NewContext].
//
// Stats are for logs and dashboards. They are counted by the plugin itself;
// tests that need to know how many statements reached the database should
// count them at the driver.
type Stats struct {
	// Hits counts statements answered from the cache without a query.
	Hits int64
	// Misses counts cacheable statements that had to query the database.
	Misses int64
	// Queries counts the queries the cache sent: Misses plus BatchLoads.
	// Statements it cannot cache (joins, aggregates, raw SQL...) are not
	// counted.
	Queries int64
	// BatchLoads counts the IN queries the plugin issued to load a scope.
	BatchLoads int64
	// Prefetched counts rows loaded by batch loads.
	Prefetched int64
	// Invalidations counts cached rows and collections dropped because a write
	// (or [Invalidate], or [Clear]) made them stale.
	Invalidations int64
	// Evictions counts rows dropped to stay within [Plugin.MaxRows].
	Evictions int64
	// Rows is the number of rows the cache holds now.
	Rows int64

	// The shared cache's work for this request ([Plugin.Shared]); all zero
	// without one.

	// SharedHits counts rows found in the shared cache (and put in the
	// request cache): each saved the database a row.
	SharedHits int64
	// SharedMisses counts keys looked up in the shared cache and not
	// found there: each went to the database.
	SharedMisses int64
	// SharedFills counts rows written to the shared cache after the
	// database returned them (a store may still refuse them, see
	// [SharedStore]).
	SharedFills int64
	// SharedInvalidations counts invalidations sent to the store: one
	// per table or key list a write changed, one per space for writes the
	// plugin cannot read.
	SharedInvalidations int64
	// SharedErrors counts calls to the store that failed or timed out:
	// reads then went to the database, failed invalidations fenced the
	// shared cache (see docs/shared-cache.md).
	SharedErrors int64
	// SharedRoundTrips counts calls to the store.
	SharedRoundTrips int64
}

// StatsOf returns the counters of the request cache in ctx, or a zero Stats
// when ctx carries none.
func StatsOf(ctx context.Context) Stats {
	s := storeOf(ctx)
	if s == nil {
		return Stats{}
	}
	return s.stats()
}
