package prefetch

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
)

// Handles on one database share what the plugin knows of it: the stamps of
// its writes (so that a write through one handle reaches the caches of the
// others), what its catalog says of its tables, and whether anything of it
// may be cached at all. Handles are matched by Plugin.Database when set;
// otherwise by what the database says of itself when the plugin is
// registered (SQLite: the main database file; PostgreSQL: the database name
// and the server's address, port and start time), so that handles opened
// with different DSNs or pools on one database match; failing that, by the
// pool given to the dialector (the same *sql.DB) or dialector name and DSN.

// dbInfo is what all handles on one database share, beside its stamps.
type dbInfo struct {
	ddl atomic.Uint64 // moves on at every change of definitions: caches start over

	mu       sync.Mutex                      // serializes updates of views and cascades
	views    atomic.Pointer[map[string]bool] // tables that are views, foreign or inherited tables: never cached
	linked   atomic.Pointer[map[string]bool] // tables in an inheritance or partition tree: writes stamp everything
	cascades atomic.Pointer[[]link]          // foreign keys with actions, from the catalog and DDL seen
}

var registry = struct {
	mu sync.Mutex
	m  map[string]*gens // by database key; protected by mu
}{m: map[string]*gens{}}

// sharedGens returns the stamps every handle on the same database shares.
// Handles are matched by the name given in Plugin.Database and by what the
// database says of itself (or its DSN): a handle that names its database
// and one that does not still share invalidation when the database says
// they reach the same one (a job runner's handle and the web handle).
func sharedGens(p Plugin, db *gorm.DB) *gens {
	var keys []string
	if p.Database != "" {
		keys = append(keys, "name "+p.Database)
	}
	if id := selfKey(db); id != "" {
		keys = append(keys, id)
	} else if id := databaseKey(db); id != "" {
		keys = append(keys, id)
	}
	if len(keys) == 0 {
		return newGens()
	}
	registry.mu.Lock()
	defer registry.mu.Unlock()
	var g *gens
	for _, k := range keys {
		if g = registry.m[k]; g != nil {
			break
		}
	}
	if g == nil {
		g = newGens()
	}
	for _, k := range keys {
		if registry.m[k] == nil {
			registry.m[k] = g
		}
	}
	return g
}

// selfKeySQL asks a database for what identifies it.
var selfKeySQL = map[string]string{
	"sqlite": `SELECT file FROM pragma_database_list WHERE name = 'main'`,
	"postgres": `SELECT current_database() || ' ' || coalesce(host(inet_server_addr()), '') || ' ' ||
		coalesce(inet_server_port()::text, '') || ' ' || pg_postmaster_start_time()::text`,
}

// selfKey asks the database what identifies it, or returns "" (an
// in-memory SQLite database, an unknown dialect, an error).
func selfKey(db *gorm.DB) string {
	q, ok := selfKeySQL[db.Dialector.Name()]
	if !ok || db.ConnPool == nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var id sql.NullString
	if err := db.ConnPool.QueryRowContext(ctx, q).Scan(&id); err != nil || id.String == "" {
		return ""
	}
	return db.Dialector.Name() + " self " + id.String
}

// databaseKey derives a key from the dialector: the connection pool it was
// given, or its DSN. It reads the fields by name, so that the plugin needs
// no driver package: gorm.io/driver/sqlite has DSN and Conn; postgres has
// them in its *Config.
func databaseKey(db *gorm.DB) string {
	if db.Dialector == nil {
		return ""
	}
	name := db.Dialector.Name()
	v := reflect.ValueOf(db.Dialector)
	for depth := 0; depth < 3; depth++ {
		for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
			if v.IsNil() {
				return ""
			}
			v = v.Elem()
		}
		if v.Kind() != reflect.Struct {
			return ""
		}
		if c := v.FieldByName("Conn"); c.IsValid() && c.Kind() == reflect.Interface && !c.IsNil() {
			if e := c.Elem(); e.Kind() == reflect.Pointer {
				return fmt.Sprintf("%s conn %#x", name, e.Pointer())
			}
		}
		if d := v.FieldByName("DSN"); d.IsValid() && d.Kind() == reflect.String && d.String() != "" {
			return name + " dsn " + d.String()
		}
		if c := v.FieldByName("Config"); c.IsValid() {
			v = c
			continue
		}
		return ""
	}
	return ""
}

// isView reports whether table is never cached: a view (its rows change
// with tables the plugin cannot map), a materialized or foreign table.
func (g *gens) isView(table string) bool {
	m := g.info.views.Load()
	return m != nil && (*m)[normTable(table)]
}

// isLinked reports whether writes to table may change rows read through
// another table name (inheritance, partitions, views over it).
func (g *gens) isLinked(table string) bool {
	if g.isView(table) {
		return true
	}
	m := g.info.linked.Load()
	return m != nil && (*m)[normTable(table)]
}

// addNames adds tables to one of the catalog sets.
func (g *gens) addNames(set *atomic.Pointer[map[string]bool], names []string) {
	if len(names) == 0 {
		return
	}
	g.info.mu.Lock()
	defer g.info.mu.Unlock()
	next := map[string]bool{}
	if m := set.Load(); m != nil {
		for k := range *m {
			next[k] = true
		}
	}
	for _, n := range names {
		next[normTable(n)] = true
	}
	set.Store(&next)
}

// addCascades records foreign keys with actions.
func (g *gens) addCascades(ls []link) {
	if len(ls) == 0 {
		return
	}
	g.info.mu.Lock()
	defer g.info.mu.Unlock()
	var next []link
	if p := g.info.cascades.Load(); p != nil {
		next = append(next, *p...)
	}
	next = append(next, ls...)
	g.info.cascades.Store(&next)
}

// cascadesFrom returns the tables whose rows the database changes when rows
// of parent are deleted (or updated).
func (g *gens) cascadesFrom(parent string, kind writeKind) []string {
	p := g.info.cascades.Load()
	if p == nil {
		return nil
	}
	var out []string
	for _, l := range *p {
		if l.parent == parent && (kind == writeDelete && l.onDelete || kind == writeUpdate && l.onUpdate) {
			out = append(out, l.child)
		}
	}
	return out
}

// poolFlags is what the handles on one connection pool share: session
// state lives on connections, so what a raw BEGIN or a SET did concerns
// the pool it ran on, not the database.
type poolFlags struct {
	rawTx atomic.Int64           // transactions begun with raw SQL on the pool, not yet ended
	off   atomic.Pointer[string] // why nothing read through the pool may be cached any more; nil while it may

	mu     sync.Mutex                    // protects dirty
	dirty  map[*sql.Conn]map[string]bool // connections taken with db.Connection, and the session state set on them and not reset
	ndirty atomic.Int32                  // len(dirty), read without the lock
}

// noteConn records what a statement run on a connection taken with
// db.Connection did to its session state.
func (f *poolFlags) noteConn(c *sql.Conn, ops []stateOp) {
	if len(ops) == 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.dirty[c]
	for _, op := range ops {
		switch {
		case op.set:
			if m == nil {
				m = map[string]bool{}
			}
			m[op.name] = true
		case op.name == "*all":
			m = nil
		case op.name == "*settings":
			for n := range m {
				if !strings.HasPrefix(n, "*") && n != "role" && n != "session_authorization" {
					delete(m, n)
				}
			}
		default:
			delete(m, op.name)
		}
	}
	if f.dirty == nil {
		f.dirty = map[*sql.Conn]map[string]bool{}
	}
	if len(m) == 0 {
		delete(f.dirty, c)
	} else {
		f.dirty[c] = m
	}
	f.ndirty.Store(int32(len(f.dirty)))
}

// checkConns turns caching off for the pool when a connection whose session
// state was changed and not reset has gone back to it: later statements on
// the pool may run on it, under that state, or not. It returns why when
// this call turned caching off. It is cheap while no connection is dirty.
func (f *poolFlags) checkConns() (turnedOff string) {
	if f.ndirty.Load() == 0 {
		return ""
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for c, m := range f.dirty {
		// Raw answers sql.ErrConnDone once the connection was closed,
		// that is, returned to the pool.
		if err := c.Raw(func(any) error { return nil }); errors.Is(err, sql.ErrConnDone) {
			delete(f.dirty, c)
			names := make([]string, 0, len(m))
			for n := range m {
				names = append(names, n)
			}
			sort.Strings(names)
			why := fmt.Sprintf("session state (%s) set on a connection taken with db.Connection "+
				"and not reset before it went back to the pool", strings.Join(names, ", "))
			if f.turnOff(why) {
				turnedOff = why
			}
		}
	}
	f.ndirty.Store(int32(len(f.dirty)))
	return turnedOff
}

var pools = struct {
	mu sync.Mutex
	m  map[*sql.DB]*poolFlags // protected by mu
}{m: map[*sql.DB]*poolFlags{}}

// flagsOf returns the flags of the pool under st (shared with every handle
// on the same *sql.DB).
func (st *state) flagsOf() *poolFlags {
	if st.pool == nil {
		return &poolFlags{}
	}
	sqlDB, err := st.pool.GetDBConn()
	if err != nil || sqlDB == nil {
		return &poolFlags{}
	}
	pools.mu.Lock()
	defer pools.mu.Unlock()
	f := pools.m[sqlDB]
	if f == nil {
		f = &poolFlags{}
		pools.m[sqlDB] = f
	}
	return f
}

// turnOff stops all caching through the pool for the rest of the process.
// It reports whether this call turned it off.
func (f *poolFlags) turnOff(why string) bool {
	return f.off.CompareAndSwap(nil, &why)
}

// cacheable reports whether reads through the pool may be cached now,
// saying so through db's loggers when it just stopped.
func (st *state) cacheable(db *gorm.DB) bool {
	f := st.flags
	if why := f.checkConns(); why != "" {
		st.warnOff(db, why)
	}
	return f.off.Load() == nil && f.rawTx.Load() == 0
}

// catalog queries, one per dialect: views and other tables never cached,
// tables in inheritance trees, and foreign keys with actions (child,
// parent, on delete, on update).
var catalogSQL = map[string][3]string{
	"postgres": {
		`SELECT c.relname FROM pg_catalog.pg_class c WHERE c.relkind IN ('v', 'm', 'f')`,
		`SELECT c.relname FROM pg_catalog.pg_class c WHERE c.relkind = 'p' OR c.relispartition
			OR c.oid IN (SELECT inhrelid FROM pg_catalog.pg_inherits UNION SELECT inhparent FROM pg_catalog.pg_inherits)`,
		`SELECT ch.relname, pa.relname, c.confdeltype IN ('c', 'n', 'd'), c.confupdtype IN ('c', 'n', 'd')
			FROM pg_catalog.pg_constraint c
			JOIN pg_catalog.pg_class ch ON ch.oid = c.conrelid
			JOIN pg_catalog.pg_class pa ON pa.oid = c.confrelid
			WHERE c.contype = 'f' AND (c.confdeltype IN ('c', 'n', 'd') OR c.confupdtype IN ('c', 'n', 'd'))`,
	},
	"sqlite": {
		`SELECT name FROM sqlite_master WHERE type = 'view' UNION ALL SELECT name FROM sqlite_temp_master WHERE type = 'view'`,
		``,
		`SELECT m.name, f."table", f.on_delete IN ('CASCADE', 'SET NULL', 'SET DEFAULT'), f.on_update IN ('CASCADE', 'SET NULL', 'SET DEFAULT')
			FROM sqlite_master m, pragma_foreign_key_list(m.name) f WHERE m.type = 'table'`,
	},
}

// readCatalog reads, once when the plugin is registered, what the database's
// catalog says of tables that cannot be treated as plain tables. Tables and
// views created later through GORM are read from their DDL. A catalog that
// cannot be read leaves the sets empty; the error is returned for the
// plugin to log.
func (g *gens) readCatalog(db *gorm.DB) error {
	q, ok := catalogSQL[db.Dialector.Name()]
	if !ok || db.ConnPool == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	names := func(query string) ([]string, error) {
		if query == "" {
			return nil, nil
		}
		rows, err := db.ConnPool.QueryContext(ctx, query)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				return nil, err
			}
			out = append(out, n)
		}
		return out, rows.Err()
	}
	views, err := names(q[0])
	if err != nil {
		return fmt.Errorf("prefetch: read views from the catalog: %w", err)
	}
	g.addNames(&g.info.views, views)
	linked, err := names(q[1])
	if err != nil {
		return fmt.Errorf("prefetch: read inherited tables from the catalog: %w", err)
	}
	g.addNames(&g.info.linked, linked)
	rows, err := db.ConnPool.QueryContext(ctx, q[2])
	if err != nil {
		return fmt.Errorf("prefetch: read foreign keys from the catalog: %w", err)
	}
	defer rows.Close()
	var ls []link
	for rows.Next() {
		var child, parent string
		var del, upd sql.NullBool
		if err := rows.Scan(&child, &parent, &del, &upd); err != nil {
			return fmt.Errorf("prefetch: read foreign keys from the catalog: %w", err)
		}
		ls = append(ls, link{child: normTable(child), parent: normTable(parent), onDelete: del.Bool, onUpdate: upd.Bool})
	}
	g.addCascades(ls)
	return rows.Err()
}
