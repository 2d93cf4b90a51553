package prefetch_test

import (
	"testing"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// Two handles on one database whose connections carry different settings
// from their DSN (app.tenant, which a row-level security policy reads), as
// an application with one pool per tenant opens them. Each handle's rows
// are the same for every request through it (Unpartitioned, as documented),
// but the two handles read different rows under the same role and search
// path: the shared cache must not serve one handle's rows to the other.
func TestHandlesWithOtherSettingsNeverShareRows(t *testing.T) {
	forEachDB(t, "postgres", func(t *testing.T, dialect string) {
		e := openShared(t, dialect, func(sc *prefetch.SharedCache) { sc.Models = []any{&RLSDoc{}} })
		setupRLS(t, e.side)
		dsn := e.dsn
		e.dsn = dsn + " app.tenant=a"
		_, tenantA, _ := e.openHandle(t, true)
		e.dsn = dsn + " app.tenant=b"
		_, tenantB, _ := e.openHandle(t, true)
		_, plainB, _ := e.openHandle(t, false)
		e.dsn = dsn

		var d RLSDoc
		require.NoError(t, req(tenantA).First(&d, 1).Error)
		require.Equal(t, "doc 1 of a", d.Name)
		require.ErrorIs(t, plainB.First(&RLSDoc{}, 1).Error, gorm.ErrRecordNotFound, "plain GORM: tenant b does not see doc 1")

		var got RLSDoc
		require.ErrorIs(t, req(tenantB).First(&got, 1).Error, gorm.ErrRecordNotFound,
			"tenant b was served tenant a's row: %+v", got)
	})
}

// The same, with handles registered before the policy that reads the
// setting exists (and no policy anywhere reads a setting of that name):
// the setting is known from the DSN.
func TestHandlesWithOtherSettingsFromTheirDSNNeverShareRowsOfALaterPolicy(t *testing.T) {
	forEachDB(t, "postgres", func(t *testing.T, dialect string) {
		e := openShared(t, dialect, func(sc *prefetch.SharedCache) { sc.Models = []any{&RLSDoc{}} })
		guc := e.schema + ".tenant" // a name no other test's policy reads
		dsn := e.dsn
		e.dsn = dsn + " " + guc + "=a"
		_, tenantA, _ := e.openHandle(t, true)
		e.dsn = dsn + " " + guc + "=b"
		_, tenantB, _ := e.openHandle(t, true)
		e.dsn = dsn
		setupRLS(t, e.side)
		pgAdmin(t, e.dsn, "DROP POLICY by_tenant ON rls_docs",
			"CREATE POLICY by_dsn_tenant ON rls_docs USING (tenant = current_setting('"+guc+"', true))")

		var d RLSDoc
		require.NoError(t, req(tenantA).First(&d, 1).Error)
		require.Equal(t, "doc 1 of a", d.Name)
		var got RLSDoc
		require.ErrorIs(t, req(tenantB).First(&got, 1).Error, gorm.ErrRecordNotFound,
			"tenant b was served tenant a's row: %+v", got)
	})
}
