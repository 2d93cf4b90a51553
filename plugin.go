package prefetch

import (
	"fmt"
	"log/slog"
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

	// Logger receives a debug line for every batch load. nil means silent.
	// Batch loads are also reported to GORM's own logger, like any statement.
	Logger *slog.Logger

	// Observer, when set, is told of every statement served, query sent,
	// batch load and row dropped, for metrics and traces (the otel
	// submodule implements it with OpenTelemetry). nil, the default, costs
	// nothing.
	Observer Observer
}

// Name returns "prefetch", the name GORM registers the plugin under.
func (Plugin) Name() string { return "prefetch" }

// state is what one registered database shares across its sessions and
// request caches.
type state struct {
	cfg   Plugin
	gens  *gens
	query func(*gorm.DB) // the gorm:query callback the plugin wraps

	naming schema.Namer // the database's naming strategy, for guessed links

	mu      sync.RWMutex
	schemas map[string]*schema.Schema // by table, every model seen; protected by mu
	links   map[string][]link         // by table, derived from schemas; nil when out of date
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
	st := &state{cfg: p, gens: newGens(), naming: db.NamingStrategy, schemas: map[string]*schema.Schema{}}
	if err := st.register(db); err != nil {
		return err
	}
	st.wrapPool(db)
	return nil
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
