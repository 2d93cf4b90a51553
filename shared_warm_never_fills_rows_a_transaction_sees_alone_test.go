package prefetch_test

import (
	"context"
	"testing"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// Warm given a transaction reads what the transaction sees: its own
// uncommitted writes, or the tables of a search_path it set locally. Those
// rows are not what any other request reads, and must not be filled: Warm
// refuses a transaction, or a connection taken with db.Connection, with
// ErrWarmOutsidePool.
func TestWarmInATransactionNeverFillsItsUncommittedRows(t *testing.T) {
	forEachDB(t, "", func(t *testing.T, dialect string) {
		e := openShared(t, dialect, nil)
		e.seedProducts(t, 2)
		tx := e.db.Begin()
		require.NoError(t, tx.Error)
		require.NoError(t, tx.Model(&Product{ID: 1}).Update("name", "rolled back").Error)
		_, err := prefetch.Warm(context.Background(), tx, &Product{})
		require.ErrorIs(t, err, prefetch.ErrWarmOutsidePool)
		require.NoError(t, tx.Rollback().Error)

		var plain Product
		require.NoError(t, e.plain.First(&plain, 1).Error)
		require.Equal(t, "product a", plain.Name)
		require.Equal(t, "product a", productName(t, e.b, 1), "a row a rolled-back transaction wrote was served")
	})
}

func TestWarmInATransactionWithALocalSearchPathNeverFillsTheOtherSchemasRows(t *testing.T) {
	forEachDB(t, "postgres", func(t *testing.T, dialect string) {
		e := openShared(t, dialect, nil)
		e.seedProducts(t, 2)
		other := e.newSchema(t, "other")
		pgAdmin(t, e.dsn, "CREATE TABLE "+other+".products (id bigserial PRIMARY KEY, name text)",
			"INSERT INTO "+other+".products (id, name) VALUES (1, 'other schema''s row')")
		tx := e.db.Begin()
		require.NoError(t, tx.Error)
		require.NoError(t, tx.Exec("SET LOCAL search_path = "+other).Error)
		_, err := prefetch.Warm(context.Background(), tx, &Product{})
		require.ErrorIs(t, err, prefetch.ErrWarmOutsidePool)
		require.NoError(t, tx.Commit().Error)

		require.Equal(t, "product a", productName(t, e.b, 1), "a row of another schema was served")
	})
}

func TestWarmOnAConnectionWithALocalStateNeverFillsItsRows(t *testing.T) {
	forEachDB(t, "postgres", func(t *testing.T, dialect string) {
		e := openShared(t, dialect, nil)
		e.seedProducts(t, 2)
		other := e.newSchema(t, "other")
		pgAdmin(t, e.dsn, "CREATE TABLE "+other+".products (id bigserial PRIMARY KEY, name text)",
			"INSERT INTO "+other+".products (id, name) VALUES (1, 'other schema''s row')")
		require.NoError(t, e.db.Connection(func(c *gorm.DB) error {
			require.NoError(t, c.Exec("SET search_path = "+other).Error)
			_, err := prefetch.Warm(context.Background(), c, &Product{})
			require.ErrorIs(t, err, prefetch.ErrWarmOutsidePool)
			return c.Exec("RESET search_path").Error
		}))
		require.Equal(t, "product a", productName(t, e.b, 1), "a row of another schema was served")
		n, err := prefetch.Warm(context.Background(), e.db, &Product{})
		require.NoError(t, err, "on the pool itself, Warm fills")
		require.Equal(t, 2, n)
	})
}
