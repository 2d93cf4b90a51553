package prefetch_test

import (
	"context"
	"sync"
	"testing"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// Behaviour 3: scopes.

func TestOrdersWithTheirCustomersCostTwoQueries(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		e.seed(t, 40, 3)
		_, db := e.request()
		var orders []Order
		e.requireQueries(t, 2, func() {
			require.NoError(t, db.Find(&orders).Error)
			for _, o := range orders {
				var c Customer
				require.NoError(t, db.First(&c, o.CustomerID).Error)
				require.Equal(t, o.CustomerID, c.ID)
			}
		})
		// Values equal what plain GORM returns.
		for _, o := range orders[:5] {
			var got, want Customer
			require.NoError(t, db.First(&got, o.CustomerID).Error)
			require.NoError(t, e.plain.First(&want, o.CustomerID).Error)
			require.Equal(t, want, got)
		}
	})
}

func TestBatchSizeChunksTheScope(t *testing.T) {
	each(t, prefetch.Plugin{BatchSize: 7}, func(t *testing.T, e *env) {
		e.seed(t, 20, 1) // 16 customers have orders
		_, db := e.request()
		var orders []Order
		require.NoError(t, db.Find(&orders).Error)
		require.Len(t, orders, 16)
		// The last order's customer first: its chunk is loaded, not the first.
		last := orders[len(orders)-1]
		e.requireQueries(t, 1, func() { require.NoError(t, db.First(&Customer{}, last.CustomerID).Error) })
		e.requireQueries(t, 2, func() {
			for _, o := range orders {
				require.NoError(t, db.First(&Customer{}, o.CustomerID).Error)
			}
		})
	})
}

func TestThousandRecordsOneFieldEach(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		e.seed(t, 1000, 0)
		_, db := e.request()
		var ids []Customer
		e.requireQueries(t, 2, func() {
			require.NoError(t, db.Select("id").Find(&ids).Error)
			require.Len(t, ids, 1000)
			for i := range ids {
				require.NoError(t, prefetch.Load(db, &ids[i], "Name"))
			}
		})
		require.Equal(t, "customer 1000", ids[999].Name)
	})
}

func TestAssociationFindInALoop(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		e.seed(t, 30, 2)
		_, db := e.request()
		var customers []Customer
		require.NoError(t, db.Find(&customers).Error)
		got := map[uint][]Order{}
		e.requireQueries(t, 1, func() {
			for i := range customers {
				var orders []Order
				require.NoError(t, db.Model(&customers[i]).Association("Orders").Find(&orders))
				got[customers[i].ID] = orders
			}
		})
		for _, c := range customers {
			var want []Order
			require.NoError(t, e.plain.Model(&c).Association("Orders").Find(&want))
			require.ElementsMatch(t, want, got[c.ID], "customer %d", c.ID)
		}
	})
}

func TestPreloadQueriesAreServed(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		e.seed(t, 20, 2)
		_, db := e.request()
		var customers []Customer
		require.NoError(t, db.Find(&customers).Error)
		var orders []Order
		// The orders query runs; their customers are all cached.
		e.requireQueries(t, 1, func() { require.NoError(t, db.Preload("Customer").Find(&orders).Error) })
		var want []Order
		require.NoError(t, e.plain.Preload("Customer").Find(&want).Error)
		require.Equal(t, want, orders)
	})
}

func TestConcurrentGoroutinesShareOneBatch(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		e.seed(t, 50, 2)
		_, db := e.request()
		var orders []Order
		require.NoError(t, db.Find(&orders).Error)
		e.requireQueries(t, 1, func() {
			var wg sync.WaitGroup
			for g := 0; g < 8; g++ {
				wg.Add(1)
				go func(g int) {
					defer wg.Done()
					for i := g; i < len(orders); i += 8 {
						var c Customer
						require.NoError(t, db.First(&c, orders[i].CustomerID).Error)
						require.Equal(t, orders[i].CustomerID, c.ID)
					}
				}(g)
			}
			wg.Wait()
		})
	})
}

func TestCancelledWaiterGetsItsOwnError(t *testing.T) {
	e := openSQLite(t, prefetch.Plugin{})
	e.seed(t, 10, 1)
	ctx, db := e.request()
	var orders []Order
	require.NoError(t, db.Find(&orders).Error)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	var c Customer
	err := db.WithContext(cancelled).First(&c, orders[0].CustomerID).Error
	require.ErrorIs(t, err, context.Canceled)
	// The request itself still loads its rows.
	require.NoError(t, db.First(&c, orders[0].CustomerID).Error)
}

func TestWithoutPrefetchLoadsOnlyWhatIsAsked(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		e.seed(t, 10, 1)
		ctx, _ := e.request()
		db := e.db.WithContext(prefetch.WithoutPrefetch(ctx))
		var orders []Order
		require.NoError(t, db.Find(&orders).Error)
		first, second := orders[0].CustomerID, orders[len(orders)-1].CustomerID
		require.NotEqual(t, first, second)
		e.requireQueries(t, 1, func() { require.NoError(t, db.First(&Customer{}, first).Error) })
		e.requireQueries(t, 0, func() { require.NoError(t, db.First(&Customer{}, first).Error) })
		e.requireQueries(t, 1, func() { require.NoError(t, db.First(&Customer{}, second).Error) })
	})
}

func TestDisableBypassesTheCache(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		e.seed(t, 5, 1)
		ctx, db := e.request()
		off := e.db.WithContext(prefetch.Disable(ctx))
		require.NoError(t, db.First(&Customer{}, 1).Error)
		e.requireQueries(t, 2, func() {
			require.NoError(t, off.First(&Customer{}, 1).Error)
			require.NoError(t, off.First(&Customer{}, 2).Error)
		})
		// Nothing read under Disable was stored.
		e.requireQueries(t, 1, func() { require.NoError(t, db.First(&Customer{}, 2).Error) })
		// A write under Disable still invalidates.
		require.NoError(t, off.Model(&Customer{}).Where("id = ?", 1).Update("name", "renamed").Error)
		var c Customer
		require.NoError(t, db.First(&c, 1).Error)
		require.Equal(t, "renamed", c.Name)
	})
}

func TestNoRequestCacheChangesNothing(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		e.seed(t, 5, 2)
		var orders []Order
		require.NoError(t, e.db.Find(&orders).Error)
		e.requireQueries(t, int64(len(orders)), func() {
			for _, o := range orders {
				var c Customer
				require.NoError(t, e.db.First(&c, o.CustomerID).Error)
			}
		})
		require.Equal(t, prefetch.Stats{}, prefetch.StatsOf(context.Background()))
		var viaCtx *gorm.DB = e.db.WithContext(context.Background())
		require.NoError(t, viaCtx.First(&Customer{}, 1).Error)
	})
}
