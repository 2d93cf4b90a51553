// Package prefetch is a GORM plugin that removes the N+1 queries and the
// repeated lookups of a request without changing the code that makes them.
//
//	db.Use(prefetch.Plugin{})                  // once, after gorm.Open
//	ctx = prefetch.NewContext(ctx)             // once per request (or prefetch.Middleware)
//	db.WithContext(ctx).Find(&orders)          // as before
//	for _, o := range orders {
//		db.WithContext(ctx).First(&c, o.CustomerID) // one query for all customers
//	}
//
// # What is cached
//
// A request cache holds rows keyed by database, table and primary key, with
// the columns each row has loaded (a loaded NULL is a value, not a gap), and
// the complete lists of rows whose column holds a value (a customer's
// orders). It is filled by every query whose result is whole rows of a model:
// Find, First, Take, Last with any condition, Preload's queries,
// Association(...).Find. A statement is served from it, with no query, when
// it asks rows by primary key (or a collection by its column) and every row
// and column it needs is cached; the result goes through GORM's own scanning,
// so values, errors, RowsAffected and AfterFind hooks are those the database
// would have produced.
//
// # Scopes
//
// The rows of one result form a scope; their foreign-key values form a scope
// on the referenced table. When a statement misses a row, a column or a
// collection that lies in a scope, the plugin loads it for the whole scope in
// one IN query per [Plugin.BatchSize] keys (the chunk holding the asked key
// first), then serves the statement. [Load] fills associations and columns of
// loaded records the same way.
//
// # Finding the N+1 loops
//
// Options given to [NewContext] make a request tell where its code loads
// records one at a time: [WithReport] and [ReportOf] list those places with
// the fix, [WithStrict] fails them with [ErrLazyLoad], [WithSummary] logs a
// line per request. [Plugin.Observer] receives every statement served,
// query sent and batch load, for metrics and traces.
//
// # How long it lives
//
// As long as the context holding it: one request. Nothing is shared between
// request caches but invalidation. [Plugin.MaxRows] bounds each one.
//
// # The shared cache
//
// [Plugin.Shared] adds a second level for the models a [SharedCache] lists:
// whole rows kept in a [SharedStore] (in process, or on Redis for many
// processes) for a TTL per model, read for key lookups and batch loads by
// key before the database, filled from what it returns, partitioned by
// tenant and session, and invalidated by every write the plugin sees, at
// commit inside transactions. [Warm] fills it at startup. See
// docs/shared-cache.md.
//
// # Invalidation
//
// Every write made through a database with the plugin (Create, Save, Update,
// Delete, upserts, association writes, raw Exec, DDL) invalidates what it may
// have changed, in every request cache of the process, through any handle on
// that database, before any After* hook runs: rows by key when the statement
// names them, the table otherwise, tables reached by foreign keys with
// actions, everything when raw SQL cannot be read. Reads inside a transaction
// use a cache of the transaction's own, dropped when it ends or rolls back to
// a savepoint; writes inside one are invalidated again when it commits or
// rolls back.
//
// # Session state and tenants
//
// Rows are identified by database, table and key columns, never by model.
// Rows read under one session state are never served under another: SET
// LOCAL and set_config(..., true) drop the transaction's cache; statements on
// db.Connection or a pool the plugin did not wrap are never cached; a session
// SET on a pool of many connections turns caching off for that pool.
//
// # What the plugin cannot see
//
// Writes by other processes, by database triggers, by functions called from
// a SELECT, or through a *sql.DB used without GORM; views and foreign keys
// created after registration by anything but GORM. Call [Invalidate] (or
// [Clear]) after them, or keep request caches short-lived, as they are meant
// to be.
package prefetch
