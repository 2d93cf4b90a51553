// Package prefetchotel reports what the prefetch GORM plugin does to
// OpenTelemetry: counters of statements served, queries sent, batch loads,
// rows loaded, rows invalidated and evicted; a histogram of batch sizes; a
// span for each batch load.
//
//	obs, err := prefetchotel.New(meterProvider, tracerProvider) // nil: the global providers
//	db.Use(prefetch.Plugin{Observer: obs})
//
// It uses the OpenTelemetry API only: the application brings the SDK and its
// exporters. It lives in a module of its own so that the prefetch module
// does not depend on OpenTelemetry.
package prefetchotel

import (
	"context"
	"sync"

	"github.com/gorm-prefetch/prefetch"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the meter and tracer.
const ScopeName = "github.com/gorm-prefetch/prefetch/otel"

// Names of the instruments and of the batch-load span.
const (
	MetricServed        = "prefetch.statements.served" // counter, by table
	MetricQueries       = "prefetch.queries"           // counter, by table and kind (statement, batch)
	MetricBatchLoads    = "prefetch.batch.loads"       // counter, by table
	MetricRowsLoaded    = "prefetch.rows.loaded"       // counter, by table and kind
	MetricInvalidations = "prefetch.invalidations"     // counter
	MetricEvictions     = "prefetch.evictions"         // counter
	MetricBatchSize     = "prefetch.batch.size"        // histogram of keys per batch load, by table
	SpanBatchLoad       = "prefetch.batch_load"
)

// Attribute keys.
const (
	AttrTable  = attribute.Key("db.collection.name")  // the table
	AttrKind   = attribute.Key("prefetch.query.kind") // "statement" or "batch"
	AttrColumn = attribute.Key("prefetch.column")     // column a batch load matches keys on
	AttrKeys   = attribute.Key("prefetch.keys")       // keys in a batch load
	AttrRows   = attribute.Key("prefetch.rows")       // rows a batch load returned
)

// Observer implements [prefetch.Observer] with OpenTelemetry instruments.
type Observer struct {
	tracer trace.Tracer

	served, queries, batches, rows, invalidations, evictions metric.Int64Counter
	batchSize                                                metric.Int64Histogram

	attrs sync.Map // table -> *tableAttrs, so that hot paths do not allocate
}

type tableAttrs struct {
	table, statement, batch metric.MeasurementOption
}

var _ prefetch.Observer = (*Observer)(nil)

// New returns an Observer recording to mp and tp; nil means the global
// provider (otel.GetMeterProvider, otel.GetTracerProvider).
func New(mp metric.MeterProvider, tp trace.TracerProvider) (*Observer, error) {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	m := mp.Meter(ScopeName)
	o := &Observer{tracer: tp.Tracer(ScopeName)}
	var err error
	counter := func(dst *metric.Int64Counter, name, unit, desc string) {
		if err == nil {
			*dst, err = m.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		}
	}
	counter(&o.served, MetricServed, "{statement}", "Statements answered from a request cache, with no query.")
	counter(&o.queries, MetricQueries, "{query}", "Queries the plugin sent: statements it could not serve, and batch loads.")
	counter(&o.batches, MetricBatchLoads, "{query}", "Batch loads: IN queries loading a chunk of a scope.")
	counter(&o.rows, MetricRowsLoaded, "{row}", "Rows loaded into request caches.")
	counter(&o.invalidations, MetricInvalidations, "{row}", "Cached rows and collections dropped as stale or invalidated.")
	counter(&o.evictions, MetricEvictions, "{row}", "Cached rows dropped to stay within MaxRows.")
	if err != nil {
		return nil, err
	}
	o.batchSize, err = m.Int64Histogram(MetricBatchSize, metric.WithUnit("{key}"),
		metric.WithDescription("Keys per batch load."),
		metric.WithExplicitBucketBoundaries(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000))
	if err != nil {
		return nil, err
	}
	return o, nil
}

func (o *Observer) table(name string) *tableAttrs {
	if a, ok := o.attrs.Load(name); ok {
		return a.(*tableAttrs)
	}
	t := AttrTable.String(name)
	a := &tableAttrs{
		table:     metric.WithAttributeSet(attribute.NewSet(t)),
		statement: metric.WithAttributeSet(attribute.NewSet(t, AttrKind.String("statement"))),
		batch:     metric.WithAttributeSet(attribute.NewSet(t, AttrKind.String("batch"))),
	}
	got, _ := o.attrs.LoadOrStore(name, a)
	return got.(*tableAttrs)
}

// Served counts a statement answered from a request cache.
func (o *Observer) Served(ctx context.Context, table string) {
	o.served.Add(ctx, 1, o.table(table).table)
}

// Queried counts a statement's query and the rows it returned.
func (o *Observer) Queried(ctx context.Context, table string, rows int64, err error) {
	a := o.table(table)
	o.queries.Add(ctx, 1, a.statement)
	if rows > 0 {
		o.rows.Add(ctx, rows, a.statement)
	}
}

// BatchLoadStart starts the batch load's span.
func (o *Observer) BatchLoadStart(ctx context.Context, b prefetch.BatchLoad) context.Context {
	ctx, _ = o.tracer.Start(ctx, SpanBatchLoad, trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(AttrTable.String(b.Table), AttrColumn.String(b.Column), AttrKeys.Int(b.Keys)))
	return ctx
}

// BatchLoadEnd counts the batch load and ends its span.
func (o *Observer) BatchLoadEnd(ctx context.Context, b prefetch.BatchLoad, rows int64, err error) {
	a := o.table(b.Table)
	o.queries.Add(ctx, 1, a.batch)
	o.batches.Add(ctx, 1, a.table)
	o.batchSize.Record(ctx, int64(b.Keys), a.table)
	if rows > 0 {
		o.rows.Add(ctx, rows, a.batch)
	}
	span := trace.SpanFromContext(ctx)
	span.SetAttributes(AttrRows.Int64(rows))
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// Dropped counts rows invalidated and evicted.
func (o *Observer) Dropped(ctx context.Context, invalidations, evictions int64) {
	if invalidations > 0 {
		o.invalidations.Add(ctx, invalidations)
	}
	if evictions > 0 {
		o.evictions.Add(ctx, evictions)
	}
}
