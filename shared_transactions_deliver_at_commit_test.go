package prefetch_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// A write in a transaction begun on a connection taken with db.Connection
// (docs/shared-cache.md lists it as untracked: delivered before its
// commit), a read through another handle before the commit (it reads the
// old, committed row and fills it), the commit, then a read: plain GORM
// sees the write; the shared cache serves the old row until its TTL.
// (Transaction, nested Transaction, SavePoint/RollbackTo, PrepareStmt in a
// session or in gorm.Config, and BeginTx with options were tried the same
// way and deliver at the commit.)
func TestAWriteInATransactionOnAConnectionIsNeverFollowedByAStaleReadAfterItsCommit(t *testing.T) {
	t.Skip("documented limitation: writes in transactions the plugin does not track are delivered before their commit (docs/shared-cache.md, What the shared cache cannot see)")
	forEachDB(t, "", func(t *testing.T, dialect string) {
		e := openShared(t, dialect, nil)
		e.seedProducts(t, 1)
		require.NoError(t, req(e.b).Connection(func(c *gorm.DB) error {
			return c.Transaction(func(tx *gorm.DB) error {
				require.NoError(t, tx.Model(&Product{ID: 1}).Update("name", "new").Error)
				require.Equal(t, "product a", productName(t, e.db, 1))
				return nil
			})
		}))
		var plain Product
		require.NoError(t, e.plain.First(&plain, 1).Error)
		require.Equal(t, "new", plain.Name)
		require.Equal(t, "new", productName(t, e.db, 1), "stale row served after the commit")
	})
}
