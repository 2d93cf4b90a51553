package prefetch_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
)

// As TestAWriteThroughAHandleWithoutTheSharedCacheIsNeverFollowedByAStaleRead,
// with the shared cache's handle naming its database (Plugin.Database, as
// docs/shared-cache.md advises when connections might not agree). The job
// runner's handle has the plugin but no shared cache, so it names no
// database: the plugin matches handles by Plugin.Database when set
// (database.go), the two handles are not matched, and the write through the
// job runner never reaches the shared row.
func TestAWriteThroughAHandleThatNamesNoDatabaseIsNeverFollowedByAStaleRead(t *testing.T) {
	forEachDB(t, "", func(t *testing.T, dialect string) {
		e := openShared(t, dialect, nil)
		e.seedProducts(t, 1)
		opts := e.opts
		e.opts.plugin.Database = fmt.Sprintf("orders-%d-%d", os.Getpid(), tableSeq.Add(1))
		_, named, _ := e.openHandle(t, true)
		e.opts.plugin = prefetch.Plugin{}
		_, other, _ := e.openHandle(t, true)
		e.opts = opts

		require.Equal(t, "product a", productName(t, named, 1))
		require.NoError(t, req(other).Model(&Product{ID: 1}).Update("name", "new").Error)
		var plain Product
		require.NoError(t, e.plain.First(&plain, 1).Error)
		require.Equal(t, "new", plain.Name)
		require.Equal(t, "new", productName(t, named, 1), "stale row served after a write the plugin saw")
	})
}
