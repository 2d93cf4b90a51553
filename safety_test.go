package prefetch_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
)

// Behaviour 7: results never share memory with the cache; concurrent use is
// safe; MaxRows bounds the cache.

func TestMutatingResultsNeverChangesTheCache(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		e.seed(t, 3, 0)
		_, db := e.request()
		var c Customer
		require.NoError(t, db.First(&c, 2).Error)
		want := c
		want.Notes = append([]byte(nil), c.Notes...)
		email := *c.Email
		// Scribble over everything the result holds.
		c.Name = "scribbled"
		c.Notes[0] = 'X'
		*c.Email = "scribbled"
		var again Customer
		e.requireQueries(t, 0, func() { require.NoError(t, db.First(&again, 2).Error) })
		want.Email = &email
		require.Equal(t, want, again)
		// And the other way round: the second result is not the first.
		again.Notes[1] = 'Y'
		var third Customer
		require.NoError(t, db.First(&third, 2).Error)
		require.Equal(t, want, third)
	})
}

func TestConcurrentUseOfOneRequest(t *testing.T) {
	each(t, prefetch.Plugin{BatchSize: 16}, func(t *testing.T, e *env) {
		e.seed(t, 60, 2)
		_, db := e.request()
		var orders []Order
		require.NoError(t, db.Find(&orders).Error)
		var wg sync.WaitGroup
		for g := 0; g < 6; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				for i := range orders {
					o := orders[(i*7+g)%len(orders)]
					var c Customer
					if err := db.First(&c, o.CustomerID).Error; err != nil || c.ID != o.CustomerID {
						t.Errorf("customer %d: %v %d", o.CustomerID, err, c.ID)
						return
					}
					if g%2 == 0 && i%10 == 0 {
						if err := db.Model(&Customer{ID: o.CustomerID}).Update("name", "renamed").Error; err != nil {
							t.Error(err)
							return
						}
					}
				}
			}(g)
		}
		wg.Wait()
	})
}

func TestMaxRowsBoundsTheCache(t *testing.T) {
	each(t, prefetch.Plugin{MaxRows: 50}, func(t *testing.T, e *env) {
		e.seed(t, 200, 1)
		ctx, db := e.request()
		for round := 0; round < 3; round++ {
			var cs []Customer
			require.NoError(t, db.Find(&cs).Error)
			require.Len(t, cs, 200)
			var orders []Order
			require.NoError(t, db.Find(&orders).Error)
			for _, o := range orders {
				var c Customer
				require.NoError(t, db.First(&c, o.CustomerID).Error)
				require.Equal(t, o.CustomerID, c.ID)
			}
			require.LessOrEqual(t, prefetch.StatsOf(ctx).Rows, int64(50))
		}
		require.Positive(t, prefetch.StatsOf(ctx).Evictions)
	})
}

func TestLongLivedContextHeapStaysFlat(t *testing.T) {
	e := openSQLite(t, prefetch.Plugin{MaxRows: 500})
	e.seed(t, 3000, 0)
	ctx, db := e.request()
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	read := func(from int) {
		ids := make([]int, 0, 500)
		for i := from; i < from+500; i++ {
			ids = append(ids, i%3000+1)
		}
		var cs []Customer
		require.NoError(t, db.Find(&cs, ids).Error)
	}
	for i := 0; i < 3000; i += 500 {
		read(i)
	}
	base := heap()
	for round := 0; round < 10; round++ {
		for i := 0; i < 3000; i += 500 {
			read(i + round)
		}
	}
	require.LessOrEqual(t, prefetch.StatsOf(ctx).Rows, int64(500))
	require.Less(t, heap(), base+base/2+4<<20, "the heap keeps growing past MaxRows")
}

func TestContextsWithoutCacheNeverPanic(t *testing.T) {
	require.NotPanics(t, func() {
		var nilCtx context.Context
		_ = prefetch.StatsOf(nilCtx)
		prefetch.Clear(nilCtx)
		prefetch.Invalidate(nilCtx, "customers")
		_ = prefetch.Disable(nilCtx)
		_ = prefetch.WithoutPrefetch(nilCtx)
		_ = prefetch.NewContext(nilCtx)
		_ = prefetch.StatsOf(context.Background())
	})
}

func TestPluginRejectsBadConfig(t *testing.T) {
	db := openSQLite(t, prefetch.Plugin{}).plain
	require.ErrorIs(t, db.Use(prefetch.Plugin{BatchSize: -1}), prefetch.ErrInvalidConfig)
	require.Equal(t, "prefetch", prefetch.Plugin{}.Name())
	db2 := openSQLite(t, prefetch.Plugin{}).plain
	require.NoError(t, db2.Use(&prefetch.Plugin{}), "a pointer registers too")
}

func TestMiddlewareClearsTheCacheWhenTheHandlerReturns(t *testing.T) {
	e := openSQLite(t, prefetch.Plugin{})
	e.seed(t, 3, 0)
	var seen context.Context
	h := prefetch.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.Context()
		require.NoError(t, e.db.WithContext(r.Context()).First(&Customer{}, 1).Error)
		require.EqualValues(t, 1, prefetch.StatsOf(r.Context()).Rows)
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	require.Zero(t, prefetch.StatsOf(seen).Rows)
}
