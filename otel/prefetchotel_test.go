package prefetchotel_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/gorm-prefetch/prefetch"
	prefetchotel "github.com/gorm-prefetch/prefetch/otel"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

type Customer struct {
	ID   uint
	Name string
}

type Order struct {
	ID         uint
	CustomerID uint
	Customer   Customer
}

// setup opens a SQLite database whose plugin reports to an in-memory
// OpenTelemetry SDK, with 10 customers and 2 orders each.
func setup(t *testing.T, maxRows int) (*gorm.DB, *sdkmetric.ManualReader, *tracetest.SpanRecorder) {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	obs, err := prefetchotel.New(mp, tp)
	require.NoError(t, err)

	db, err := gorm.Open(sqlite.Open(filepath.Join(t.TempDir(), "otel.db")), &gorm.Config{Logger: logger.Discard})
	require.NoError(t, err)
	sqlDB, err := db.DB()
	require.NoError(t, err)
	t.Cleanup(func() { sqlDB.Close() })
	require.NoError(t, db.Use(prefetch.Plugin{Observer: obs, MaxRows: maxRows}))
	require.NoError(t, db.AutoMigrate(&Customer{}, &Order{}))
	for i := 1; i <= 10; i++ {
		c := Customer{Name: fmt.Sprint("customer ", i)}
		require.NoError(t, db.Create(&c).Error)
		require.NoError(t, db.Create(&[]Order{{CustomerID: c.ID}, {CustomerID: c.ID}}).Error)
	}
	return db, reader, spans
}

// sums returns the value of every data point of an int64 sum, by metric
// name and then by the attribute set's encoding.
func sums(t *testing.T, reader *sdkmetric.ManualReader) (map[string]map[string]int64, map[string]metricdata.Histogram[int64]) {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	out := map[string]map[string]int64{}
	hists := map[string]metricdata.Histogram[int64]{}
	for _, sm := range rm.ScopeMetrics {
		require.Equal(t, prefetchotel.ScopeName, sm.Scope.Name)
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				out[m.Name] = map[string]int64{}
				for _, dp := range d.DataPoints {
					out[m.Name][dp.Attributes.Encoded(attribute.DefaultEncoder())] = dp.Value
				}
			case metricdata.Histogram[int64]:
				hists[m.Name] = d
			}
		}
	}
	return out, hists
}

func TestMetricsAndSpansOfAnN1LoopMatchStats(t *testing.T) {
	db, reader, spans := setup(t, 0)
	ctx := prefetch.NewContext(context.Background())
	tx := db.WithContext(ctx)
	var orders []Order
	require.NoError(t, tx.Find(&orders).Error) // 1 query, 20 rows
	for _, o := range orders {                 // 1 batch load of 10 customers, 20 served
		require.NoError(t, tx.First(&Customer{}, o.CustomerID).Error)
	}
	// A write through GORM makes customer 1 stale: the next read drops it
	// (an invalidation) and loads it again (a second batch load, one key).
	require.NoError(t, db.Model(&Customer{}).Where("id = ?", 1).Update("name", "renamed").Error)
	require.NoError(t, tx.First(&Customer{}, 1).Error)

	got, hists := sums(t, reader)
	stats := prefetch.StatsOf(ctx)
	require.Equal(t, map[string]int64{"db.collection.name=customers": 21}, got[prefetchotel.MetricServed])
	require.Equal(t, stats.Hits, got[prefetchotel.MetricServed]["db.collection.name=customers"])
	require.Equal(t, map[string]int64{
		"db.collection.name=orders,prefetch.query.kind=statement": 1,
		"db.collection.name=customers,prefetch.query.kind=batch":  2,
	}, got[prefetchotel.MetricQueries])
	require.Equal(t, map[string]int64{"db.collection.name=customers": 2}, got[prefetchotel.MetricBatchLoads])
	require.Equal(t, map[string]int64{
		"db.collection.name=orders,prefetch.query.kind=statement": 20,
		"db.collection.name=customers,prefetch.query.kind=batch":  11,
	}, got[prefetchotel.MetricRowsLoaded])
	require.Equal(t, stats.Prefetched, int64(11))
	require.Equal(t, map[string]int64{"": stats.Invalidations}, got[prefetchotel.MetricInvalidations])
	require.Equal(t, int64(1), stats.Invalidations)

	h := hists[prefetchotel.MetricBatchSize]
	require.Len(t, h.DataPoints, 1)
	require.Equal(t, uint64(2), h.DataPoints[0].Count)
	require.Equal(t, int64(11), h.DataPoints[0].Sum) // 10 keys, then 1

	ended := spans.Ended()
	require.Len(t, ended, 2)
	for i, keys := range []int64{10, 1} {
		s := ended[i]
		require.Equal(t, prefetchotel.SpanBatchLoad, s.Name())
		attrs := map[attribute.Key]attribute.Value{}
		for _, kv := range s.Attributes() {
			attrs[kv.Key] = kv.Value
		}
		require.Equal(t, "customers", attrs[prefetchotel.AttrTable].AsString())
		require.Equal(t, "id", attrs[prefetchotel.AttrColumn].AsString())
		require.Equal(t, keys, attrs[prefetchotel.AttrKeys].AsInt64())
		require.Equal(t, keys, attrs[prefetchotel.AttrRows].AsInt64())
	}
}

func TestEvictionsAreCounted(t *testing.T) {
	db, reader, _ := setup(t, 5)
	ctx := prefetch.NewContext(context.Background())
	tx := db.WithContext(ctx)
	var orders []Order
	require.NoError(t, tx.Find(&orders).Error) // 20 rows into a cache of 5
	require.NoError(t, tx.First(&Order{}, orders[0].ID).Error)
	got, _ := sums(t, reader)
	stats := prefetch.StatsOf(ctx)
	require.GreaterOrEqual(t, stats.Evictions, int64(15))
	require.Equal(t, map[string]int64{"": stats.Evictions}, got[prefetchotel.MetricEvictions])
}

func TestNewUsesTheGlobalProvidersWhenGivenNil(t *testing.T) {
	obs, err := prefetchotel.New(nil, nil)
	require.NoError(t, err)
	ctx := obs.BatchLoadStart(context.Background(), prefetch.BatchLoad{Table: "t", Column: "id", Keys: 1})
	obs.BatchLoadEnd(ctx, prefetch.BatchLoad{Table: "t", Column: "id", Keys: 1}, 1, nil)
	obs.Served(ctx, "t")
	obs.Queried(ctx, "t", 3, nil)
	obs.Dropped(ctx, 1, 1)
}
