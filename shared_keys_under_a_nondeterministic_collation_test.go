package prefetch_test

import (
	"testing"

	"github.com/gorm-prefetch/prefetch"
	"github.com/gorm-prefetch/prefetch/internal/sqlcount"
	"github.com/stretchr/testify/require"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
)

// AccentKeyed has a text key under an accent-insensitive ICU collation
// (PostgreSQL 12+, nondeterministic): 'café' and 'cafe' name one row.
type AccentKeyed struct {
	ID   string `gorm:"primaryKey"`
	Name string
}

// A write naming a row by a spelling the collation holds equal must reach
// the row the shared cache holds under the stored spelling. Keys are
// folded for case, padding and uuid punctuation only.
func TestAWriteByAnAccentInsensitiveSpellingReachesTheSharedRow(t *testing.T) {
	t.Skip("documented limitation: keys under nondeterministic collations are not supported (docs/shared-cache.md, What the shared cache cannot see)")
	forEachDB(t, "postgres", func(t *testing.T, dialect string) {
		e := openShared(t, dialect, func(sc *prefetch.SharedCache) { sc.Models = []any{&AccentKeyed{}} })
		coll := e.name("ci_ai")
		pgAdmin(t, e.dsn,
			"CREATE COLLATION "+coll+" (provider = icu, locale = 'und-u-ks-level1', deterministic = false)",
			"CREATE TABLE accent_keyeds (id text COLLATE "+coll+" PRIMARY KEY, name text)",
			"INSERT INTO accent_keyeds VALUES ('café', 'old')")
		read := func() string {
			var k AccentKeyed
			require.NoError(t, req(e.db).First(&k, "id = ?", "café").Error)
			return k.Name
		}
		require.Equal(t, "old", read())
		require.Equal(t, "old", read())
		res := req(e.b).Model(&AccentKeyed{ID: "cafe"}).Update("name", "new")
		require.NoError(t, res.Error)
		require.EqualValues(t, 1, res.RowsAffected, "the database holds 'cafe' equal to 'café'")
		require.Equal(t, "new", read(), "stale row served after a committed write")
	})
}

// What the shared cache does about it: a model whose key column has a
// nondeterministic collation when the plugin is registered is refused.
func TestAModelKeyedUnderANondeterministicCollationIsRefused(t *testing.T) {
	forEachDB(t, "postgres", func(t *testing.T, dialect string) {
		e := openShared(t, dialect, nil)
		coll := e.name("ci_ai")
		pgAdmin(t, e.dsn,
			"CREATE COLLATION "+coll+" (provider = icu, locale = 'und-u-ks-level1', deterministic = false)",
			"CREATE TABLE accent_keyeds (id text COLLATE "+coll+" PRIMARY KEY, name text)")
		sqlDB, _, err := sqlcount.OpenPostgres(e.dsn)
		require.NoError(t, err)
		t.Cleanup(func() { sqlDB.Close() })
		db, err := gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), &gorm.Config{Logger: quiet})
		require.NoError(t, err)
		err = db.Use(prefetch.Plugin{Shared: &prefetch.SharedCache{Store: e.store, Models: []any{&AccentKeyed{}}, Unpartitioned: true}})
		require.ErrorIs(t, err, prefetch.ErrInvalidConfig)
		require.ErrorContains(t, err, "nondeterministic collation")
	})
}
