package prefetch

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"
)

// The shared cache is the second level behind the request cache: rows of
// the models it is given, kept in a [SharedStore] across requests (and,
// with Redis, across processes). This file holds its configuration and
// what the plugin derives from it when it is registered; shared_read.go
// the reads and fills, shared_invalidate.go the invalidations,
// shared_codec.go the encoding of rows. docs/shared-cache.md explains the
// design and the consistency argument.

// Default values of [SharedCache] fields left at zero.
const (
	DefaultSharedTimeout = 50 * time.Millisecond
	DefaultSharedTTL     = 10 * time.Minute
	DefaultLeaseLifetime = 10 * time.Second
)

// SharedCache configures the shared cache of one database handle: set
// [Plugin.Shared]. Only the models listed in Models use it; every other
// model behaves as without it. Invalid settings are rejected when the
// plugin is registered, with [ErrInvalidConfig].
type SharedCache struct {
	// Store holds the shared rows: memstore.New for one process, the
	// Redis store for many. Required.
	Store SharedStore

	// Models lists the models whose rows are shared (values or pointers
	// of the model types, as given to AutoMigrate). A model's TTL is what
	// its SharedCacheTTL method returns ([SharedCacheModel]), or TTL.
	// Every process sharing a store must list the same models: a process
	// only tells the store of writes to tables it knows are shared. At
	// least one is required.
	Models []any

	// TTL is how long a shared row lives when its model has no
	// SharedCacheTTL method. 0 means DefaultSharedTTL (10 minutes).
	TTL time.Duration

	// Partition derives, from a statement's context, the partition of
	// the shared cache the statement may read and fill: the tenant, for
	// data that differs by tenant (row-level security, a tenant's own
	// database role). A statement whose context it returns false for does
	// not use the shared cache. Required unless Unpartitioned is set.
	Partition func(ctx context.Context) (string, bool)

	// Unpartitioned says that the rows of the listed models are the same
	// for every request through this handle: statements with no
	// partition (Partition nil, or returning false) share partition "".
	Unpartitioned bool

	// Timeout bounds every call to the store; a call that takes longer
	// counts as a miss (reads) or a failed delivery (invalidations, see
	// docs/shared-cache.md). 0 means DefaultSharedTimeout (50 ms).
	Timeout time.Duration

	// LeaseLifetime is the oldest lease the plugin fills with: rows read
	// from the database more than this after the lease was taken are not
	// filled. 0 means DefaultLeaseLifetime (10 s). Stores have a lifetime
	// of their own, which also applies.
	LeaseLifetime time.Duration
}

// SharedCacheModel is implemented by models that choose the TTL of their
// shared rows.
type SharedCacheModel interface {
	SharedCacheTTL() time.Duration
}

// shared is what one registered database derives from its SharedCache.
type shared struct {
	cfg    SharedCache
	space  string                  // what the handle reaches (see spaceOf)
	who    string                  // the session identity rows are read under (sessionOf)
	tables map[string]*sharedTable // by table name as the models name it
	byNorm map[string]*sharedTable // by normalized table name, for invalidations
	off    atomic.Bool             // the session state of the handle's connections changed: shared cache off for good
	fence  *fence                  // invalidations that could not be delivered

	untracked atomic.Bool // a write ran in a transaction the plugin does not track (warned once)
}

// sharedTable is one table of the shared cache.
type sharedTable struct {
	name  string // as the model names it
	norm  string // normTable(name): the table's name in the store
	qual  string // the schema the model names, if any, kept in the partition
	ident string // the row identity of the model's keys (identOf)
	pk    []string
	pkCls []keyClass
	ttl   time.Duration
}

// newShared checks a SharedCache and derives what the plugin needs of it.
func newShared(cfg SharedCache, p Plugin, db *gorm.DB) (*shared, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: Shared: "+format, append([]any{ErrInvalidConfig}, args...)...)
	}
	switch {
	case cfg.Store == nil:
		return nil, bad("Store is nil")
	case len(cfg.Models) == 0:
		return nil, bad("no Models: list the models whose rows are shared")
	case cfg.Partition == nil && !cfg.Unpartitioned:
		return nil, bad("no Partition function: set one, or set Unpartitioned if rows are the same for every request")
	case cfg.TTL < 0 || cfg.Timeout < 0 || cfg.LeaseLifetime < 0:
		return nil, bad("negative TTL, Timeout or LeaseLifetime")
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultSharedTTL
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultSharedTimeout
	}
	if cfg.LeaseLifetime == 0 {
		cfg.LeaseLifetime = DefaultLeaseLifetime
	}
	sh := &shared{cfg: cfg, tables: map[string]*sharedTable{}, byNorm: map[string]*sharedTable{}}
	var cache sync.Map
	for _, m := range cfg.Models {
		sch, err := schema.Parse(m, &cache, db.NamingStrategy)
		if err != nil {
			return nil, bad("model %T: %v", m, err)
		}
		if len(sch.PrimaryFields) == 0 {
			return nil, bad("model %T has no primary key", m)
		}
		ttl := cfg.TTL
		if tm, ok := reflect.New(sch.ModelType).Interface().(SharedCacheModel); ok {
			if ttl = tm.SharedCacheTTL(); ttl <= 0 {
				return nil, bad("model %T: SharedCacheTTL returned %v", m, ttl)
			}
		}
		t := &sharedTable{name: sch.Table, norm: normTable(sch.Table), ident: identOfSchema(sch), ttl: ttl}
		t.qual = sch.Table[:len(sch.Table)-len(lastName(sch.Table))]
		t.pk, t.pkCls = pkOf(sch)
		if o := sh.byNorm[t.norm]; o != nil && (o.name != t.name || o.ident != t.ident) {
			return nil, bad("models %q and %q share table %s with other names or keys: list one", o.name, t.name, t.norm)
		}
		sh.tables[t.name], sh.byNorm[t.norm] = t, t
	}
	id, who, err := spaceOf(p, db)
	if err != nil {
		return nil, bad("%v", err)
	}
	sum := sha256.Sum256([]byte(id))
	sh.space, sh.who = "p1:"+hex.EncodeToString(sum[:12]), who
	sh.fence = fenceOf(cfg.Store, sh.space)
	for _, m := range cfg.Models {
		sch, _ := schema.Parse(m, &cache, db.NamingStrategy)
		if col := looseKeyColumn(db, sh.tables[sch.Table]); col != "" {
			return nil, bad("model %T: key column %s has a nondeterministic collation: "+
				"the shared cache cannot name its rows by every spelling the database holds equal", m, col)
		}
	}
	return sh, nil
}

// lastName returns the unqualified part of a table name.
func lastName(name string) string {
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == '.' {
			return name[i+1:]
		}
	}
	return name
}

// spaceSQL asks a database for an identity that every process connected to
// it reads alike, however it connects (address, socket, pooler), and that
// survives restarts: PostgreSQL's system identifier and the database name.
// The session identity rows are read under is sessionOf's
// (shared_session.go).
var spaceSQL = map[string]string{
	"postgres": `SELECT (SELECT system_identifier FROM pg_control_system())::text || ' ' || current_database()`,
	"sqlite":   `SELECT file FROM pragma_database_list WHERE name = 'main'`,
}

// spaceOf returns the identity of what db reaches, for the shared store's
// space, and the session identity its rows are read under. Invalidations
// are per space and reach every partition; the session identity goes into
// partitions, so that handles under other roles, search paths, settings
// or drivers never read each other's rows and a write through any of them
// reaches them all.
func spaceOf(p Plugin, db *gorm.DB) (space, who string, err error) {
	q, ok := spaceSQL[db.Dialector.Name()]
	if !ok || db.ConnPool == nil {
		if p.Database == "" {
			return "", "", fmt.Errorf("dialect %q: set Plugin.Database to name the database", db.Dialector.Name())
		}
		return "name " + p.Database, "", nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var id sql.NullString
	if err := db.ConnPool.QueryRowContext(ctx, q).Scan(&id); err != nil || id.String == "" {
		if p.Database == "" {
			return "", "", fmt.Errorf("the database's identity is unknown (an in-memory SQLite database?): set Plugin.Database")
		}
		id.String = ""
	}
	session, err := sessionOf(ctx, db)
	if err != nil {
		return "", "", err
	}
	if p.Database != "" {
		// The name the user gave wins: it is what every process says.
		return "name " + p.Database, session, nil
	}
	return db.Dialector.Name() + " " + id.String, session, nil
}

// tableFor returns the shared table of a statement's table, read through
// a model with row identity ident, or nil.
func (sh *shared) tableFor(table, ident string) *sharedTable {
	if sh == nil {
		return nil
	}
	t := sh.tables[table]
	if t == nil || t.ident != ident {
		return nil
	}
	return t
}

// partition returns the partition a statement with context ctx reads
// table t in, or false when it may not use the shared cache.
func (sh *shared) partition(ctx context.Context, t *sharedTable) (string, bool) {
	var user string
	if sh.cfg.Partition != nil {
		p, ok := sh.cfg.Partition(ctx)
		if ok {
			user = "t" + p
		} else if !sh.cfg.Unpartitioned {
			return "", false
		}
	}
	if user == "" && sh.who == "" && t.qual == "" {
		return "", true
	}
	sum := sha256.Sum256([]byte(user + "\x00" + sh.who + "\x00" + t.qual))
	return hex.EncodeToString(sum[:12]), true
}

// timeout returns ctx bounded by the shared cache's timeout.
func (sh *shared) timeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, sh.cfg.Timeout)
}

// SharedObserver is implemented by a [Plugin.Observer] that also wants the
// shared cache's calls, for metrics and traces (an Observer that does not
// implement it is told nothing of them). Methods are called on the
// goroutine of the statement, outside the plugin's locks.
type SharedObserver interface {
	// SharedRead is called after each read of the shared store: the
	// rows found and the keys missed, or the store's error.
	SharedRead(ctx context.Context, table string, hits, misses int, err error)
	// SharedInvalidated is called after each invalidation sent: table ""
	// for the whole space, keys the number of keys (0 for a table). A
	// non-nil err means the delivery failed and the space is fenced.
	SharedInvalidated(ctx context.Context, table string, keys int, err error)
}

// sharedObserver returns the plugin's SharedObserver, or nil.
func (st *state) sharedObserver() SharedObserver {
	o, _ := st.cfg.Observer.(SharedObserver)
	return o
}
