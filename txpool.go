package prefetch

import (
	"context"
	"database/sql"
	"sync"

	"github.com/gorm-prefetch/prefetch/internal/poolhook"
	"gorm.io/gorm"
)

// GORM has no commit or rollback callbacks, so the plugin wraps the
// connection pool: transactions begun through it are wrapped too, and their
// Commit and Rollback stamp again everything the transaction wrote. Until
// then, readers outside the transaction may have loaded the old rows; the
// second stamp makes those stale.

// pool wraps a database's connection pool.
type pool struct {
	gorm.ConnPool
	st *state
}

// wrapPool puts pool around db's connection pool. With PrepareStmt, it goes
// inside GORM's prepared-statement pool, so that GORM still finds its own
// types where it looks for them.
func (st *state) wrapPool(db *gorm.DB) {
	old := db.ConnPool
	switch cp := old.(type) {
	case nil, gorm.TxCommitter:
		return // no pool, or the database is itself a transaction
	case *gorm.PreparedStmtDB:
		if _, ok := cp.ConnPool.(gorm.TxCommitter); !ok {
			st.pool = &pool{ConnPool: cp.ConnPool, st: st}
			cp.ConnPool = st.pool
		}
	default:
		st.pool = &pool{ConnPool: cp, st: st}
		db.ConnPool = st.pool
	}
	if db.Statement != nil && db.Statement.ConnPool == old {
		db.Statement.ConnPool = db.ConnPool
	}
}

func init() { poolhook.Wrap = wrapInnerPool }

// wrapInnerPool replaces the pool under the plugin's wrapper on db (see
// internal/poolhook).
func wrapInnerPool(db *gorm.DB, wrap func(gorm.ConnPool) gorm.ConnPool) bool {
	cp := db.ConnPool
	if ps, ok := cp.(*gorm.PreparedStmtDB); ok {
		cp = ps.ConnPool
	}
	p, ok := cp.(*pool)
	if !ok {
		return false
	}
	p.ConnPool = wrap(p.ConnPool)
	return true
}

// ownsPool reports whether cp is the plugin's pool of this database (bare or
// inside GORM's prepared-statement pool), as opposed to a transaction, a
// connection taken with db.Connection, or a pool given by the user.
func (st *state) ownsPool(cp gorm.ConnPool) bool {
	if ps, ok := cp.(*gorm.PreparedStmtDB); ok {
		cp = ps.ConnPool
	}
	p, ok := cp.(*pool)
	return ok && p.st == st
}

// singleConn reports whether the database's pool holds at most one
// connection, so that session state set on it applies to every later
// statement.
func (st *state) singleConn() bool {
	if st.pool == nil {
		return false
	}
	sqlDB, err := st.pool.GetDBConn()
	return err == nil && sqlDB.Stats().MaxOpenConnections == 1
}

// BeginTx begins a transaction on the wrapped pool and wraps it.
func (p *pool) BeginTx(ctx context.Context, opts *sql.TxOptions) (gorm.ConnPool, error) {
	inner, other, err := poolhook.BeginTx(ctx, p.ConnPool, opts)
	if err != nil || other != nil {
		return other, err
	}
	return &txPool{Tx: inner, parent: p}, nil
}

// GetDBConn returns the *sql.DB underneath, for [gorm.DB.DB].
func (p *pool) GetDBConn() (*sql.DB, error) { return poolhook.DBConn(p.ConnPool) }

// Ping checks the connection, as GORM's Open does for pools that can.
func (p *pool) Ping() error {
	if pinger, ok := p.ConnPool.(interface{ Ping() error }); ok {
		return pinger.Ping()
	}
	return nil
}

// txPool wraps a transaction begun through pool.
type txPool struct {
	gorm.Tx
	parent *pool

	mu      sync.Mutex // protects the fields below
	written change     // everything the transaction wrote
	cache   *store     // rows read inside the transaction
	owner   *store     // the request cache whose statements began using it
	failed  bool       // a statement failed, or raw SQL ended the transaction: nothing more is cached

	rawEnd    bool   // raw SQL ended the transaction (shared_invalidate.go)
	sharedReq *store // the request cache counting its shared invalidations
}

// cacheFor returns the transaction's own cache, for a statement of the
// request cache req. Rows read inside a transaction may include its own
// uncommitted writes: they live here, never in the request cache, and go
// away with the transaction (or with a rollback to a savepoint).
func (tx *txPool) cacheFor(req *store) *store {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if tx.failed {
		return nil
	}
	if tx.cache == nil {
		tx.cache, tx.owner = newStore(), req
		req.adopt(tx.cache)
	}
	return tx.cache
}

// fail stops caching for the rest of the transaction: a statement failed
// (PostgreSQL then refuses every statement until a rollback, which a cache
// must not hide), or raw SQL ended the transaction under GORM's feet.
func (tx *txPool) fail() {
	tx.dropCache()
	tx.mu.Lock()
	tx.failed = true
	tx.mu.Unlock()
}

// dropCache forgets what was read inside the transaction, counting its
// work in the request cache's statistics.
func (tx *txPool) dropCache() {
	tx.mu.Lock()
	c, owner := tx.cache, tx.owner
	tx.cache, tx.owner = nil, nil
	tx.mu.Unlock()
	if c == nil || owner == nil {
		return
	}
	owner.disown(c)
	st := c.stats()
	owner.mu.Lock()
	owner.c.Hits += st.Hits
	owner.c.Misses += st.Misses
	owner.c.BatchLoads += st.BatchLoads
	owner.c.Prefetched += st.Prefetched
	owner.mu.Unlock()
}

func (tx *txPool) record(c *change) {
	tx.mu.Lock()
	tx.written.merge(c)
	tx.mu.Unlock()
}

func (tx *txPool) end() {
	tx.dropCache()
	tx.mu.Lock()
	c := tx.written
	tx.written = change{}
	tx.mu.Unlock()
	tx.parent.st.gens.apply(&c)
}

// Commit commits the transaction, then delivers what it wrote to the
// shared cache and stamps it.
func (tx *txPool) Commit() error {
	err := tx.Tx.Commit()
	tx.sharedCommitted() // shared_invalidate.go
	tx.end()
	return err
}

// Rollback rolls the transaction back, then stamps what it wrote.
func (tx *txPool) Rollback() error {
	err := tx.Tx.Rollback()
	tx.end()
	return err
}

// GetDBConn returns the *sql.DB underneath, for [gorm.DB.DB].
func (tx *txPool) GetDBConn() (*sql.DB, error) { return tx.parent.GetDBConn() }

// trackedTx returns the transaction a statement runs in, when the plugin
// began it.
func trackedTx(cp gorm.ConnPool) *txPool {
	switch x := cp.(type) {
	case *txPool:
		return x
	case *gorm.PreparedStmtTX:
		tx, _ := x.Tx.(*txPool)
		return tx
	}
	return nil
}
