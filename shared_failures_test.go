package prefetch_test

import (
	"context"
	"testing"
	"time"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
)

func TestAStoreThatFailsReadsSendsQueriesToTheDatabase(t *testing.T) {
	forEachDB(t, "", func(t *testing.T, dialect string) {
		e := openShared(t, dialect, nil)
		e.seedProducts(t, 2)
		require.Equal(t, "product a", productName(t, e.db, 1))
		e.store.failReads.Store(true)
		ctx := prefetch.NewContext(context.Background())
		require.EqualValues(t, 1, queriesOf(t, e.count, func() {
			var p Product
			require.NoError(t, e.db.WithContext(ctx).First(&p, 1).Error)
			require.Equal(t, "product a", p.Name)
		}))
		require.EqualValues(t, 1, prefetch.StatsOf(ctx).SharedErrors)
	})
}

// An invalidation the store did not take fences the shared cache in the
// process: no handle reads it until a whole-space invalidation, retried in
// the background, has landed.
func TestAnUndeliveredInvalidationStopsSharedReadsUntilItsRetryLands(t *testing.T) {
	old := *prefetch.FenceRetryPause
	*prefetch.FenceRetryPause = time.Millisecond
	t.Cleanup(func() { *prefetch.FenceRetryPause = old })
	forEachDB(t, "", func(t *testing.T, dialect string) {
		e := openShared(t, dialect, nil)
		e.seedProducts(t, 2)
		require.Equal(t, "product a", productName(t, e.db, 1))
		require.Equal(t, "product b", productName(t, e.db, 2))
		e.store.failWrites.Store(true)
		ctx := prefetch.NewContext(context.Background())
		require.NoError(t, e.b.WithContext(ctx).Model(&Product{ID: 1}).Update("name", "new").Error)
		require.EqualValues(t, 1, prefetch.StatsOf(ctx).SharedErrors)
		reads := e.store.reads.Load()
		for _, h := range []struct {
			name string
			id   uint
			want string
		}{{"a", 1, "new"}, {"b", 1, "new"}, {"a", 2, "product b"}} {
			db := e.db
			if h.name == "b" {
				db = e.b
			}
			require.Equal(t, h.want, productName(t, db, h.id))
		}
		require.Equal(t, reads, e.store.reads.Load(), "fenced: no shared reads")
		e.store.failWrites.Store(false)
		require.Eventually(t, func() bool {
			return productName(t, e.db, 2) == "product b" && e.store.reads.Load() > reads
		}, 5*time.Second, 5*time.Millisecond)
		require.Equal(t, "new", productName(t, e.db, 1))
		require.Equal(t, "new", productName(t, e.b, 1))
	})
}
