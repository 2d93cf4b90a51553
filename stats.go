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
