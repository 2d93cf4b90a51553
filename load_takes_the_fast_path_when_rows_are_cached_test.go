package prefetch_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/logger"
)

// Which associations Load's fast path takes, what they cost at the
// driver (exactly what GORM's preload costs through the plugin), and what a
// per-record Load of cached rows allocates.

func TestLoadTakesTheFastPathWhenItCan(t *testing.T) {
	skipWhenReferenceForced(t)
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		e.seed(t, 12, 2)
		cases := []struct {
			name  string
			load  func(t *testing.T, db *gorm.DB) error
			taken int64
		}{
			{"belongs-to of a slice", func(t *testing.T, db *gorm.DB) error {
				var os []Order
				require.NoError(t, db.Find(&os).Error)
				return prefetch.Load(db, &os, "Customer")
			}, 1},
			{"has-many per record", func(t *testing.T, db *gorm.DB) error {
				var cs []Customer
				require.NoError(t, db.Find(&cs).Error)
				for i := range cs {
					if err := prefetch.Load(db, &cs[i], "Orders"); err != nil {
						return err
					}
				}
				return nil
			}, 12},
			{"has-one and pointer belongs-to of pointers", func(t *testing.T, db *gorm.DB) error {
				var cs []*Customer
				require.NoError(t, db.Find(&cs).Error)
				return prefetch.Load(db, &cs, "Profile", "Region")
			}, 2},
			{"nested names", func(t *testing.T, db *gorm.DB) error {
				var os []Order
				require.NoError(t, db.Find(&os).Error)
				return prefetch.Load(db, &os, "Lines.Product")
			}, 2},
			{"every association: GORM's preload", func(t *testing.T, db *gorm.DB) error {
				var os []Order
				require.NoError(t, db.Find(&os).Error)
				return prefetch.Load(db, &os, clause.Associations)
			}, 0},
			{"many2many: GORM's preload", func(t *testing.T, db *gorm.DB) error {
				var cs []Customer
				require.NoError(t, db.Find(&cs).Error)
				return prefetch.Load(db, &cs, "Tags")
			}, 0},
			{"no request cache: GORM's preload", func(t *testing.T, _ *gorm.DB) error {
				var os []Order
				require.NoError(t, e.db.Find(&os).Error)
				return prefetch.Load(e.db, &os, "Customer")
			}, 0},
			{"a logger that prints statements: GORM's preload", func(t *testing.T, db *gorm.DB) error {
				var os []Order
				require.NoError(t, db.Find(&os).Error)
				db = db.Session(&gorm.Session{Logger: logger.Discard.LogMode(logger.Info)})
				return prefetch.Load(db, &os, "Customer")
			}, 0},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				_, db := e.request()
				before := prefetch.FastLoads()
				require.NoError(t, tc.load(t, db))
				require.Equal(t, tc.taken, prefetch.FastLoads()-before)
			})
		}
	})
}

func TestLoadFastPathCostsTheQueriesPreloadCosts(t *testing.T) {
	for _, slow := range []bool{false, true} {
		t.Run(fmt.Sprintf("slow=%v", slow), func(t *testing.T) {
			prefetch.ForceSlowLoad(slow)
			t.Cleanup(func() { prefetch.ForceSlowLoad(false) })
			each(t, prefetch.Plugin{BatchSize: 10}, func(t *testing.T, e *env) {
				e.seed(t, 25, 2)
				_, db := e.request()
				var cs []Customer
				require.NoError(t, db.Find(&cs).Error)
				// 25 customers in chunks of 10: three batch loads, then
				// nothing for the second pass.
				e.requireQueries(t, 3, func() {
					for i := range cs {
						require.NoError(t, prefetch.Load(db, &cs[i], "Orders"))
					}
				})
				e.requireQueries(t, 0, func() {
					for i := range cs {
						require.NoError(t, prefetch.Load(db, &cs[i], "Orders"))
					}
					require.NoError(t, prefetch.Load(db, &cs, "Orders"))
				})
				var orders []Order
				e.requireQueries(t, 1, func() { require.NoError(t, db.Find(&orders).Error) })
				// The orders' customers are cached: no query at all.
				e.requireQueries(t, 0, func() {
					require.NoError(t, prefetch.Load(db, &orders, "Customer"))
					for i := range orders {
						require.NoError(t, prefetch.Load(db, &orders[i], "Customer"))
					}
				})
				for _, o := range orders {
					require.Equal(t, o.CustomerID, o.Customer.ID)
				}
				// WithoutPrefetch: only the asked records, as before.
				ctx := prefetch.WithoutPrefetch(prefetch.NewContext(context.Background()))
				db = e.db.WithContext(ctx)
				require.NoError(t, db.Find(&orders).Error)
				e.requireQueries(t, 2, func() {
					require.NoError(t, prefetch.Load(db, &orders[0], "Customer"))
					require.NoError(t, prefetch.Load(db, &orders[2], "Customer"))
					require.NoError(t, prefetch.Load(db, &orders[0], "Customer"))
				})
			})
		})
	}
}

func TestPerRecordLoadOfCachedRowsAllocatesLittle(t *testing.T) {
	skipWhenReferenceForced(t)
	e := openSQLite(t, prefetch.Plugin{})
	e.seed(t, 50, 2)
	_, db := e.request()
	var orders []Order
	require.NoError(t, db.Find(&orders).Error)
	require.NoError(t, prefetch.Load(db, &orders, "Customer"))
	i := 0
	allocs := testing.AllocsPerRun(200, func() {
		if err := prefetch.Load(db, &orders[i%len(orders)], "Customer"); err != nil {
			t.Fatal(err)
		}
		i++
	})
	require.LessOrEqual(t, allocs, 20.0, "allocations per cached per-record Load")
}

// skipWhenReferenceForced skips a test of the fast path itself when the
// whole binary runs on the reference path (PREFETCH_FORCE_REPLAY).
func skipWhenReferenceForced(t *testing.T) {
	if prefetch.ReferencePathForced() {
		t.Skip("PREFETCH_FORCE_REPLAY: the fast path is off")
	}
}
