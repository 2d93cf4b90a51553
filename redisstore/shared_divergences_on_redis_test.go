package redisstore_test

import (
	"context"
	"testing"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// The divergences the core tests show with the in-process test store
// (shared_warm_never_fills_rows_a_transaction_sees_alone_test.go,
// shared_handles_with_other_settings_never_share_rows_test.go), on Redis
// with instances of their own.

func TestWarmInARolledBackTransactionNeverFillsItsRowsOnRedis(t *testing.T) {
	w := newWorld(t)
	w.seed(t, 1, 2)
	a, b := w.instance(t), w.instance(t)
	tx := a.db.Begin()
	require.NoError(t, tx.Error)
	require.NoError(t, tx.Model(&Item{ID: 1}).Update("name", "rolled back").Error)
	_, err := prefetch.Warm(context.Background(), tx, &Item{})
	require.ErrorIs(t, err, prefetch.ErrWarmOutsidePool)
	require.NoError(t, tx.Rollback().Error)

	var want, got Item
	require.NoError(t, w.plain(t).First(&want, 1).Error)
	require.NoError(t, b.request().First(&got, 1).Error)
	require.Equal(t, want.Name, got.Name, "a row a rolled-back transaction wrote was served")
}

func TestInstancesWithOtherSettingsNeverShareRowsOnRedis(t *testing.T) {
	w := newWorld(t)
	w.seed(t, 2, 1) // item 1 of owner 1, item 2 of owner 2
	plain := w.plain(t)
	items := w.tables + "items"
	for _, q := range []string{
		"ALTER TABLE " + items + " ENABLE ROW LEVEL SECURITY",
		"ALTER TABLE " + items + " FORCE ROW LEVEL SECURITY",
		"CREATE POLICY by_owner ON " + items + " USING (owner_id::text = current_setting('app.tenant', true))",
	} {
		require.NoError(t, plain.Exec(q).Error)
	}
	tenant := func(id string) world { v := w; v.dsn += " app.tenant=" + id; return v }
	one, two := tenant("1").instance(t), tenant("2").instance(t)
	plainTwo := tenant("2").plain(t)

	var it Item
	require.NoError(t, one.request().First(&it, 1).Error)
	require.ErrorIs(t, plainTwo.First(&Item{}, 1).Error, gorm.ErrRecordNotFound)
	var got Item
	require.ErrorIs(t, two.request().First(&got, 1).Error, gorm.ErrRecordNotFound, "tenant 2 was served %+v", got)
}
