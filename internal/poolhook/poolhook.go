// Package poolhook holds what the module's connection-pool wrappers share:
// a way for other packages of this module to reach inside the wrapper of
// package prefetch without widening its public API (prefetchtest counts the
// statements that reach the database there, beneath the plugin, so that
// counting changes nothing the plugin sees), and how a wrapper begins a
// transaction and finds the *sql.DB underneath, as GORM does.
package poolhook

import (
	"context"
	"database/sql"

	"gorm.io/gorm"
)

// Wrap replaces the connection pool under the plugin registered on db with
// wrap(pool), and reports whether db has the plugin. Package prefetch sets
// it in its init. It must be called before db is used concurrently.
var Wrap func(db *gorm.DB, wrap func(gorm.ConnPool) gorm.ConnPool) bool

// BeginTx begins a transaction on cp as GORM does, for a wrapper of cp to
// wrap: tx is the transaction when cp returns one; other is what cp
// returned when it is a pool that is not a gorm.Tx (returned as is).
func BeginTx(ctx context.Context, cp gorm.ConnPool, opts *sql.TxOptions) (tx gorm.Tx, other gorm.ConnPool, err error) {
	switch b := cp.(type) {
	case gorm.TxBeginner:
		t, err := b.BeginTx(ctx, opts)
		if err != nil {
			return nil, nil, err
		}
		return t, nil, nil
	case gorm.ConnPoolBeginner:
		p, err := b.BeginTx(ctx, opts)
		if err != nil {
			return nil, nil, err
		}
		if t, ok := p.(gorm.Tx); ok {
			return t, nil, nil
		}
		return nil, p, nil
	}
	return nil, nil, gorm.ErrInvalidTransaction
}

// DBConn returns the *sql.DB under cp, for [gorm.DB.DB].
func DBConn(cp gorm.ConnPool) (*sql.DB, error) {
	switch x := cp.(type) {
	case *sql.DB:
		return x, nil
	case gorm.GetDBConnector:
		return x.GetDBConn()
	}
	return nil, gorm.ErrInvalidDB
}
