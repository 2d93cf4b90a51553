package prefetch_test

import (
	"context"
	"testing"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

type tenantKey struct{}

func tenantOf(ctx context.Context) (string, bool) {
	t, ok := ctx.Value(tenantKey{}).(string)
	return t, ok
}

func TestTenantPartitionsNeverCross(t *testing.T) {
	forEachDB(t, "", func(t *testing.T, dialect string) {
		e := openShared(t, dialect, func(c *prefetch.SharedCache) {
			c.Partition, c.Unpartitioned = tenantOf, false
		})
		e.seedProducts(t, 2)
		as := func(tenant string, h *gorm.DB) *gorm.DB {
			ctx := prefetch.NewContext(context.Background())
			if tenant != "" {
				ctx = context.WithValue(ctx, tenantKey{}, tenant)
			}
			return h.WithContext(ctx)
		}
		first := func(h *gorm.DB) {
			var p Product
			require.NoError(t, h.First(&p, 1).Error)
		}
		require.EqualValues(t, 1, queriesOf(t, e.count, func() { first(as("a", e.db)) }))
		require.Zero(t, queriesOf(t, e.count, func() { first(as("a", e.db)) }))
		require.EqualValues(t, 1, queriesOf(t, e.count, func() { first(as("b", e.db)) }), "tenant b never reads a's rows")
		reads := e.store.reads.Load()
		require.EqualValues(t, 1, queriesOf(t, e.count, func() { first(as("", e.db)) }))
		require.Equal(t, reads, e.store.reads.Load(), "no tenant: the shared cache is not used")
		// A write reaches every partition.
		require.NoError(t, as("", e.b).Model(&Product{ID: 1}).Update("name", "new").Error)
		for _, tenant := range []string{"a", "b"} {
			var p Product
			require.NoError(t, as(tenant, e.db).First(&p, 1).Error)
			require.Equal(t, "new", p.Name)
		}
	})
}

// Handles whose search paths differ read different tables under one name:
// they never read each other's rows, and a write through either reaches
// the other's.
func TestHandlesWithOtherSearchPathsNeverShareRows(t *testing.T) {
	forEachDB(t, "postgres", func(t *testing.T, dialect string) {
		e := openShared(t, dialect, nil)
		e.seedProducts(t, 2)
		other := e.newSchema(t, "other")
		dsn := e.dsn
		e.dsn = postgresDSN(t) + " search_path=" + other
		_, plainOther, _ := e.openHandle(t, false)
		require.NoError(t, plainOther.AutoMigrate(&Product{}))
		require.NoError(t, plainOther.Create(&Product{Name: "other a"}).Error)
		_, c, cCount := e.openHandle(t, true)
		e.dsn = dsn

		require.Equal(t, "product a", productName(t, e.db, 1))
		require.EqualValues(t, 1, queriesOf(t, cCount, func() { require.Equal(t, "other a", productName(t, c, 1)) }))
		require.Zero(t, queriesOf(t, cCount, func() { require.Equal(t, "other a", productName(t, c, 1)) }))
		require.Zero(t, queriesOf(t, e.count, func() { require.Equal(t, "product a", productName(t, e.db, 1)) }))
		require.NoError(t, req(c).Model(&Product{ID: 1}).Update("name", "other new").Error)
		require.Equal(t, "other new", productName(t, c, 1))
		require.Equal(t, "product a", productName(t, e.db, 1))
	})
}

// Handles logged in as different roles (row-level security, grants) never
// read each other's rows; a write through either reaches the other's.
func TestHandlesUnderOtherRolesNeverShareRows(t *testing.T) {
	forEachDB(t, "postgres", func(t *testing.T, dialect string) {
		e := openShared(t, dialect, nil)
		e.seedProducts(t, 2)
		role := e.newRole(t, "reader")
		pgAdmin(t, e.dsn, "GRANT USAGE ON SCHEMA "+e.schema+" TO "+role,
			"GRANT SELECT, UPDATE ON ALL TABLES IN SCHEMA "+e.schema+" TO "+role)
		dsn := e.dsn
		e.dsn += " role=" + role
		_, c, cCount := e.openHandle(t, true)
		e.dsn = dsn
		var who string
		require.NoError(t, c.Raw("SELECT current_user").Scan(&who).Error)
		require.Equal(t, role, who)

		require.Equal(t, "product a", productName(t, e.db, 1))
		require.EqualValues(t, 1, queriesOf(t, cCount, func() { require.Equal(t, "product a", productName(t, c, 1)) }),
			"another role never reads the first one's rows")
		require.Zero(t, queriesOf(t, cCount, func() { productName(t, c, 1) }))
		require.NoError(t, req(e.b).Model(&Product{ID: 1}).Update("name", "new").Error)
		require.Equal(t, "new", productName(t, c, 1))
	})
}
