package prefetch_test

import (
	"testing"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
)

// The slice handed to Load is the scope the caller asked for: records from
// several results, merged, load their association in one query, as one
// Preload over the slice would.
func TestLoadOfMergedResultsIsOneQuery(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		e.seed(t, 20, 2)
		_, db := e.request()
		var merged []Order
		for _, r := range [][2]int{{1, 4}, {10, 14}, {20, 22}, {25, 27}, {30, 33}} {
			var part []Order
			require.NoError(t, db.Where("id BETWEEN ? AND ?", r[0], r[1]).Find(&part).Error)
			merged = append(merged, part...)
		}
		e.requireQueries(t, 1, func() { require.NoError(t, prefetch.Load(db, &merged, "Customer")) })

		var want []Order
		require.NoError(t, e.plain.Preload("Customer").Find(&want, ids(merged)).Error)
		byID := map[uint]Customer{}
		for _, o := range want {
			byID[o.ID] = o.Customer
		}
		for _, o := range merged {
			require.Equal(t, byID[o.ID].Name, o.Customer.Name)
		}
		// Loaded now: a second Load sends nothing.
		e.requireQueries(t, 0, func() { require.NoError(t, prefetch.Load(db, &merged, "Customer")) })
	})
}

// Each small result keeps its scope: 30 results of 3 orders, then each
// order's customer, cost one query per result, not one per order once more
// than a handful of results were read.
func TestManySmallResultsKeepAScopeEach(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		e.seed(t, 113, 1)
		var all []Order
		require.NoError(t, e.plain.Order("id").Limit(90).Find(&all).Error)
		require.Len(t, all, 90)
		load := func(t *testing.T, withPlugin bool) ([]Customer, int64) {
			db := e.plain
			if withPlugin {
				_, db = e.request()
			}
			var got []Customer
			n := e.queries(t, func() {
				var pages [][]Order
				for p := 0; p < 30; p++ {
					var page []Order
					require.NoError(t, db.Where("id IN ?", ids(all[p*3:p*3+3])).Find(&page).Error)
					pages = append(pages, page)
				}
				for _, page := range pages {
					for _, o := range page {
						var c Customer
						require.NoError(t, db.First(&c, o.CustomerID).Error)
						got = append(got, c)
					}
				}
			})
			return got, n
		}
		want, plain := load(t, false)
		got, n := load(t, true)
		require.Equal(t, int64(120), plain)
		require.Equal(t, int64(60), n, "one batch per result")
		require.Equal(t, want, got)
	})
}

func ids(os []Order) []uint {
	out := make([]uint, len(os))
	for i, o := range os {
		out[i] = o.ID
	}
	return out
}
