package prefetch_test

import (
	"context"
	"testing"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
)

func TestWarmFillsTheSharedCacheInChunks(t *testing.T) {
	forEachDB(t, "", func(t *testing.T, dialect string) {
		e := openShared(t, dialect, nil)
		e.seedProducts(t, 25)
		n, err := prefetch.Warm(context.Background(), e.db, &Product{}, "id <= ?", 20)
		require.NoError(t, err)
		require.Equal(t, 20, n)
		require.Equal(t, 20, e.store.held())
		require.Zero(t, queriesOf(t, e.bCount, func() {
			var ps []Product
			require.NoError(t, req(e.b).Find(&ps, []uint{1, 7, 20}).Error)
			require.Len(t, ps, 3)
		}))
		require.EqualValues(t, 1, queriesOf(t, e.bCount, func() { productName(t, e.b, 21) }))

		_, err = prefetch.Warm(context.Background(), e.db, &Region{})
		require.ErrorIs(t, err, prefetch.ErrInvalidConfig, "not listed")
		_, err = prefetch.Warm(context.Background(), e.plain, &Product{})
		require.ErrorIs(t, err, prefetch.ErrInvalidConfig, "no plugin")
	})
}

func TestWarmReadsBatchSizeRowsPerQuery(t *testing.T) {
	e := openShared(t, "sqlite", nil)
	e.seedProducts(t, 25)
	_, small, count := e.openHandle(t, false)
	sc := &prefetch.SharedCache{Store: e.store, Models: sharedModels(), Unpartitioned: true}
	require.NoError(t, small.Use(prefetch.Plugin{BatchSize: 10, Shared: sc}))
	require.EqualValues(t, 3, queriesOf(t, count, func() {
		n, err := prefetch.Warm(context.Background(), small, &Product{})
		require.NoError(t, err)
		require.Equal(t, 25, n)
	}))
	require.Equal(t, 25, e.store.held())
	require.Zero(t, queriesOf(t, e.count, func() { require.Equal(t, "product y", productName(t, e.db, 25)) }))
}
