package prefetchtest

// The counting wrappers of a connection pool and of the transactions begun
// through it. They sit where the statements leave GORM (beneath the
// plugin's own wrapper, when there is one) and count each statement sent
// through them: QueryContext, ExecContext, QueryRowContext, and the runs of
// statements prepared inside a transaction (see prepared.go). Preparing,
// Begin, Commit, Rollback and Ping are not statements.

import (
	"context"
	"database/sql"

	"github.com/gorm-prefetch/prefetch/internal/poolhook"
	"gorm.io/gorm"
)

// countingPool counts the statements sent through a connection pool.
type countingPool struct {
	gorm.ConnPool
	c *Counter
}

func (p *countingPool) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	p.c.notePrepare(ctx)
	return p.ConnPool.PrepareContext(ctx, query)
}

func (p *countingPool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	p.c.count(query)
	return p.ConnPool.ExecContext(ctx, query, args...)
}

func (p *countingPool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	p.c.count(query)
	return p.ConnPool.QueryContext(ctx, query, args...)
}

func (p *countingPool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	p.c.count(query)
	return p.ConnPool.QueryRowContext(ctx, query, args...)
}

// BeginTx begins a transaction on the wrapped pool, as GORM would, and
// wraps it. It is a gorm.ConnPoolBeginner, which both GORM and the plugin
// accept.
func (p *countingPool) BeginTx(ctx context.Context, opts *sql.TxOptions) (gorm.ConnPool, error) {
	inner, other, err := poolhook.BeginTx(ctx, p.ConnPool, opts)
	if err != nil || other != nil {
		return other, err
	}
	return &countingTx{Tx: inner, parent: p}, nil
}

// GetDBConn returns the *sql.DB underneath, for [gorm.DB.DB].
func (p *countingPool) GetDBConn() (*sql.DB, error) { return poolhook.DBConn(p.ConnPool) }

// Ping checks the connection when the wrapped pool can.
func (p *countingPool) Ping() error {
	if pinger, ok := p.ConnPool.(interface{ Ping() error }); ok {
		return pinger.Ping()
	}
	return nil
}

// countingTx counts the statements of a transaction begun through
// countingPool.
type countingTx struct {
	gorm.Tx
	parent *countingPool
}

func (tx *countingTx) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	tx.parent.c.notePrepare(ctx)
	return tx.Tx.PrepareContext(ctx, query)
}

func (tx *countingTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	tx.parent.c.count(query)
	return tx.Tx.ExecContext(ctx, query, args...)
}

func (tx *countingTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	tx.parent.c.count(query)
	return tx.Tx.QueryContext(ctx, query, args...)
}

func (tx *countingTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	tx.parent.c.count(query)
	return tx.Tx.QueryRowContext(ctx, query, args...)
}

// StmtContext is how GORM runs a prepared statement inside a transaction:
// once per run. Runs of statements prepared inside a transaction count
// here; the others were counted when GORM took them from its store.
func (tx *countingTx) StmtContext(ctx context.Context, stmt *sql.Stmt) *sql.Stmt {
	tx.parent.c.countTxStmt(stmt)
	return tx.Tx.StmtContext(ctx, stmt)
}

// GetDBConn returns the *sql.DB underneath, for [gorm.DB.DB].
func (tx *countingTx) GetDBConn() (*sql.DB, error) { return tx.parent.GetDBConn() }
