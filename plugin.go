package prefetch

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"
)

// Default values of [Plugin] fields left at zero.
const (
	DefaultBatchSize = 1000
	DefaultMaxRows   = 100_000
)

// Plugin is the GORM plugin. Register it once per database, right after
// opening it:
//
//	db.Use(prefetch.Plugin{})
//
// The zero value is ready to use; every field has a default.
type Plugin struct {
	// BatchSize is the most keys one batch load puts in its IN list.
	// 0 means DefaultBatchSize (1000), which stays below the bind-parameter
	// limits of SQLite and PostgreSQL. Negative values are rejected.
	BatchSize int

	// MaxRows is the most rows one request cache holds for this database;
	// past it, the least recently used rows are evicted (the cache keeps
	// working; it never fails a query). 0 means DefaultMaxRows (100,000);
	// a negative value means no limit.
	MaxRows int

	// Logger receives a line at Debug level for every batch load (a
	// handler at Info level, like slog.Default's, drops them). nil means
	// silent. Batch loads are also reported to GORM's own logger, like any
	// statement, with the user's line in a comment; statements served from
	// the cache reach GORM's logger marked as served.
	Logger *slog.Logger

	// Database names the database this handle reaches. Handles with the
	// same name share invalidation: a write through one is seen by the
	// request caches of all. Whatever the name, handles are also matched
	// by what the database says of itself (the SQLite file; the PostgreSQL
	// database, server and start time), or else by dialector name and DSN,
	// so a handle that names its database and one that does not still
	// share invalidation. Set it for handles the plugin cannot match, such
	// as a read and a write handle opened with different DSNs on one
	// database.
	Database string

	// WarnMissingContext, when true, warns once per line of code that looks
	// rows up by primary key more than once with no request cache in its
	// context (a handler that forgot db.WithContext, or a context made
	// without NewContext): through GORM's logger, and Logger if set. It
	// costs a stack capture per such lookup, so it is meant for development
	// and tests. false (the default) says nothing.
	WarnMissingContext bool

	// Observer, when set, is told of every statement served, query sent,
	// batch load and row dropped, for metrics and traces (the otel
	// submodule implements it with OpenTelemetry). nil, the default, costs
	// nothing.
	Observer Observer

	// Shared, when set, adds a shared cache behind the request cache for
	// the models it lists: rows kept across requests (and processes, on
	// Redis), invalidated by every write the plugin sees. nil, the
	// default, keeps every row in its request. See [SharedCache] and
	// docs/shared-cache.md.
	Shared *SharedCache
}

// Name returns "prefetch", the name GORM registers the plugin under.
func (Plugin) Name() string { return "prefetch" }

// state is what one registered database shares across its sessions and
// request caches.
type state struct {
	cfg   Plugin
	gens  *gens
	query func(*gorm.DB) // the gorm:query callback the plugin wraps
	pool  *pool          // the database's pool, as the plugin wrapped it
	flags *poolFlags     // what raw SQL did to the connections of the pool

	naming  schema.Namer   // the database's naming strategy, for guessed links
	maxVars int            // most bound values the database accepts in one statement
	parsed  sync.Map       // schema cache for models Invalidate parses
	missing missingContext // key lookups without a request cache, by call site
	unkeyed sync.Map       // table and row identity -> true: tables whose key does not name rows
	noBatch sync.Map       // table and column -> time.Time: batch loads the database refused, and when

	mu      sync.RWMutex
	schemas map[string]*schema.Schema // by table, every model seen; protected by mu
	links   map[string][]link         // by table, derived from schemas; nil when out of date

	shared *shared // the shared cache (shared.go); nil without one
}

// Initialize registers the plugin's callbacks on db and wraps its connection
// pool so that commits and rollbacks are seen. It is called by [gorm.DB.Use].
func (p Plugin) Initialize(db *gorm.DB) error {
	if p.BatchSize < 0 {
		return fmt.Errorf("%w: BatchSize %d is negative", ErrInvalidConfig, p.BatchSize)
	}
	if p.BatchSize == 0 {
		p.BatchSize = DefaultBatchSize
	}
	switch {
	case p.MaxRows == 0:
		p.MaxRows = DefaultMaxRows
	case p.MaxRows < 0:
		p.MaxRows = 0 // no limit
	}
	st := &state{cfg: p, gens: sharedGens(p, db), naming: db.NamingStrategy, schemas: map[string]*schema.Schema{},
		maxVars: maxVarsOf(db)}
	if p.Shared != nil {
		sh, err := newShared(*p.Shared, p, db)
		if err != nil {
			return err
		}
		st.shared = sh
		st.gens.addShared(sh)
	}
	if err := st.register(db); err != nil {
		return err
	}
	st.wrapPool(db)
	st.flags = st.flagsOf()
	addState(st)
	statesByCallbacks.Store(db.Callback(), st)
	if err := st.gens.readCatalog(db); err != nil {
		// Views and foreign keys declared in DDL are then known only
		// from the DDL run through GORM.
		db.Logger.Warn(context.Background(), "%v", err)
	}
	return nil
}

// maxVarsOf returns the most bound values one statement may carry on the
// database: a statement with more is sent to the database, which rejects it
// (or not) itself.
func maxVarsOf(db *gorm.DB) int {
	switch db.Dialector.Name() {
	case "postgres":
		return 65535 // the extended protocol's limit
	case "sqlite":
		return 32766 // SQLITE_MAX_VARIABLE_NUMBER since SQLite 3.32
	}
	return 999
}

// identOf returns the row identity of a model's rows: its key columns and
// how their values compare. Rows of one table read through models with the
// same identity are the same rows.
func (st *state) identOf(sch *schema.Schema) string { return identOfSchema(sch) }

var idents sync.Map // *schema.Schema -> its row identity

func identOfSchema(sch *schema.Schema) string {
	if id, ok := idents.Load(sch); ok {
		return id.(string)
	}
	var b strings.Builder
	for i, f := range sch.PrimaryFields {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(f.DBName)
		b.WriteByte(':')
		b.WriteByte('0' + byte(classOf(f)))
	}
	idents.Store(sch, b.String())
	return b.String()
}

// noteSchema remembers a model, so that relations between tables can be
// found when a scope is widened.
func (st *state) noteSchema(table string, sch *schema.Schema) {
	if sch == nil {
		return
	}
	st.mu.RLock()
	known := st.schemas[table] == sch
	st.mu.RUnlock()
	if known {
		return
	}
	st.mu.Lock()
	st.schemas[table] = sch
	st.links = nil
	st.mu.Unlock()
}
