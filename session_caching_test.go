package prefetch_test

import (
	"testing"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// What session statements and connections do to caching, counted at the
// driver: harmless settings change nothing; a session statement on a pool
// of many connections makes results depend on the connection, so caching
// stops for that database; statements on a connection taken with
// db.Connection are never served and never stored.

func TestHarmlessSettingsKeepTheCache(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		e.seed(t, 3, 0)
		stmts := []string{"PRAGMA foreign_keys = ON", "PRAGMA busy_timeout = 5000", "PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL"}
		if e.name == "postgres" {
			stmts = []string{"SET statement_timeout = '30s'", "SET lock_timeout = '10s'", "SET application_name = 'prefetch test'",
				"SET SESSION statement_timeout TO 0", "RESET statement_timeout"}
		}
		for _, stmt := range stmts {
			t.Run(stmt, func(t *testing.T) {
				_, db := e.request()
				var c Customer
				require.NoError(t, db.First(&c, 1).Error)
				require.NoError(t, db.Exec(stmt).Error)
				e.requireQueries(t, 0, func() { require.NoError(t, db.First(&c, 1).Error) })
			})
		}
	})
}

func TestSessionStatementOnAPoolOfManyConnectionsStopsCaching(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		e.seed(t, 3, 0)
		stmt := "ATTACH DATABASE ':memory:' AS scratch"
		if e.name == "postgres" {
			stmt = `SET search_path TO "$user", public`
		}
		_, db := e.request()
		require.NoError(t, db.First(&Customer{}, 1).Error)
		require.NoError(t, db.Exec(stmt).Error)
		// Which connection runs a later statement decides what it sees:
		// nothing may be served, in this request or any later one.
		for range 2 {
			_, db := e.request()
			e.requireQueries(t, 2, func() {
				require.NoError(t, db.First(&Customer{}, 1).Error)
				require.NoError(t, db.First(&Customer{}, 1).Error)
			})
		}
	})
}

func TestConnectionStatementsAreNeverServedNorStored(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		e.seed(t, 3, 0)
		_, db := e.request()
		// Served: a row the request cache holds is read again on the
		// connection.
		require.NoError(t, db.First(&Customer{}, 1).Error)
		require.NoError(t, db.Connection(func(c *gorm.DB) error {
			e.requireQueries(t, 2, func() {
				require.NoError(t, c.Session(&gorm.Session{}).First(&Customer{}, 1).Error)
				require.NoError(t, c.Session(&gorm.Session{}).First(&Customer{}, 1).Error)
			})
			// Stored: a row read on the connection is not served later.
			require.NoError(t, c.Session(&gorm.Session{}).First(&Customer{}, 2).Error)
			return nil
		}))
		e.requireQueries(t, 1, func() { require.NoError(t, db.First(&Customer{}, 2).Error) })
	})
}
