package prefetch_test

import (
	"testing"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
)

// A second handle in the same process on the same database, with the plugin
// but no shared cache (a job runner, an admin handle). The plugin sees its
// write (it stamps the request caches of every handle on the database) but
// does not tell the shared store: the first handle's shared row stays.
// docs/shared-cache.md says processes must list the same models; this is
// one process whose plugin saw the write.
func TestAWriteThroughAHandleWithoutTheSharedCacheIsNeverFollowedByAStaleRead(t *testing.T) {
	forEachDB(t, "", func(t *testing.T, dialect string) {
		e := openShared(t, dialect, nil)
		e.seedProducts(t, 1)
		opts := e.opts
		e.opts.plugin = prefetch.Plugin{}
		_, other, _ := e.openHandle(t, true)
		e.opts = opts

		require.Equal(t, "product a", productName(t, e.db, 1))
		require.NoError(t, req(other).Model(&Product{ID: 1}).Update("name", "new").Error)
		var plain Product
		require.NoError(t, e.plain.First(&plain, 1).Error)
		require.Equal(t, "new", plain.Name)
		require.Equal(t, "new", productName(t, e.db, 1), "stale row served after a write the plugin saw")
	})
}

// A handle of the same process with a shared cache on another store: its
// write reaches both stores.
func TestAWriteThroughAHandleOnAnotherStoreIsNeverFollowedByAStaleRead(t *testing.T) {
	forEachDB(t, "", func(t *testing.T, dialect string) {
		e := openShared(t, dialect, nil)
		e.seedProducts(t, 1)
		opts := e.opts
		e.opts.plugin = prefetch.Plugin{Shared: &prefetch.SharedCache{Store: newTestStore(), Models: sharedModels(), Unpartitioned: true}}
		_, other, _ := e.openHandle(t, true)
		e.opts = opts

		require.Equal(t, "product a", productName(t, e.db, 1))
		require.Equal(t, "product a", productName(t, e.db, 1))
		require.NoError(t, req(other).Model(&Product{ID: 1}).Update("name", "new").Error)
		require.Equal(t, "new", productName(t, e.db, 1), "stale row served after a write through a handle on another store")
	})
}
