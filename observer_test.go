package prefetch_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
)

// recorder is an Observer that writes down what it is told.
type recorder struct {
	mu                       sync.Mutex
	served, queried, rows    map[string]int64
	loads                    []string
	invalidations, evictions int64
	open                     int
}

func newRecorder() *recorder {
	return &recorder{served: map[string]int64{}, queried: map[string]int64{}, rows: map[string]int64{}}
}

type spanKey struct{}

func (r *recorder) Served(ctx context.Context, table string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.served[table]++
}

func (r *recorder) Queried(ctx context.Context, table string, rows int64, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.queried[table]++
	r.rows[table] += rows
}

func (r *recorder) BatchLoadStart(ctx context.Context, b prefetch.BatchLoad) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.open++
	return context.WithValue(ctx, spanKey{}, b)
}

func (r *recorder) BatchLoadEnd(ctx context.Context, b prefetch.BatchLoad, rows int64, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ctx.Value(spanKey{}) != b {
		panic("BatchLoadEnd did not get the context BatchLoadStart returned")
	}
	r.open--
	r.loads = append(r.loads, fmt.Sprintf("%s.%s keys=%d rows=%d err=%v", b.Table, b.Column, b.Keys, rows, err))
}

func (r *recorder) Dropped(ctx context.Context, invalidations, evictions int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.invalidations += invalidations
	r.evictions += evictions
}

func TestObserverIsToldWhatStatsCount(t *testing.T) {
	rec := newRecorder()
	e := openSQLite(t, prefetch.Plugin{Observer: rec, MaxRows: 20})
	e.seed(t, 10, 2)
	ctx, db := e.request()
	var orders []Order
	require.NoError(t, db.Find(&orders).Error) // 16 orders: 1 query
	for _, o := range orders {                 // 8 customers: 1 batch load, 16 served
		require.NoError(t, db.First(&Customer{}, o.CustomerID).Error)
	}
	prefetch.Invalidate(ctx, &Customer{}, orders[0].CustomerID)
	require.NoError(t, db.First(&Customer{}, orders[0].CustomerID).Error) // a query again

	s := prefetch.StatsOf(ctx)
	require.Equal(t, "customers.id keys=8 rows=8 err=<nil>", rec.loads[0])
	require.Equal(t, int64(16), rec.rows["orders"])
	require.Zero(t, rec.open)
	require.Equal(t, s.Hits, rec.served["customers"])
	require.Equal(t, s.Misses, rec.queried["orders"]+rec.queried["customers"])
	require.Equal(t, s.BatchLoads, int64(len(rec.loads)))
	require.Equal(t, s.Invalidations, rec.invalidations)
	require.Equal(t, s.Evictions, rec.evictions)
	require.Positive(t, s.Evictions, "MaxRows 20 < 24 rows")
	require.Positive(t, s.Invalidations)
}

func TestObserverNilAndOptionsOffChangeNoCounts(t *testing.T) {
	e := openSQLite(t, prefetch.Plugin{})
	e.seed(t, 10, 2)
	ctx, db := e.request()
	var orders []Order
	require.NoError(t, db.Find(&orders).Error)
	e.requireQueries(t, 1, func() {
		for _, o := range orders {
			require.NoError(t, db.First(&Customer{}, o.CustomerID).Error)
		}
	})
	require.Nil(t, prefetch.ReportOf(ctx))
}
