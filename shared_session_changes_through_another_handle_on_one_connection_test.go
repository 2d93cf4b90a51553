package prefetch_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
)

// Two gorm handles with the plugin on one *sql.DB of one connection (a
// second gorm.Open on an existing pool, as postgres.Config{Conn} allows).
// A SET search_path through the first turns the first handle's shared
// cache off (sessionChanged), but not the second's: on a pool of one
// connection the plugin keeps caching, and the second handle goes on
// filling the shared partition of its registration-time identity (the
// DSN's schema) with rows of the schema the connection now reads. A third
// handle whose connections do read the DSN's schema is served them.
func TestASessionChangeThroughAnotherHandleOnOneConnectionNeverLeaksRowsToOtherHandles(t *testing.T) {
	forEachDB(t, "postgres", func(t *testing.T, dialect string) {
		e := openShared(t, dialect, nil)
		e.seedProducts(t, 1)
		other := e.schema + "_b"
		pgAdmin(t, e.dsn, "CREATE SCHEMA "+other,
			"CREATE TABLE "+other+".products (LIKE "+e.schema+".products INCLUDING ALL)",
			"INSERT INTO "+other+".products (id, name) VALUES (1, 'in the other schema')")
		t.Cleanup(func() { pgAdmin(t, e.dsn, "DROP SCHEMA IF EXISTS "+other+" CASCADE") })

		e.sqlDB.SetMaxOpenConns(1)
		second, err := gorm.Open(postgres.New(postgres.Config{Conn: e.sqlDB, DSN: e.dsn}), &gorm.Config{Logger: quiet})
		require.NoError(t, err)
		require.NoError(t, second.Use(e.opts.plugin))

		require.NoError(t, req(e.db).Exec("SET search_path = "+other).Error)
		require.Equal(t, "in the other schema", productName(t, second, 1), "the one connection reads the other schema")

		var plain Product
		require.NoError(t, e.plain.First(&plain, 1).Error)
		require.Equal(t, "product a", plain.Name, "plain GORM on the DSN's schema")
		require.Equal(t, "product a", productName(t, e.b, 1), "handle b was served a row of the other schema")
	})
}
