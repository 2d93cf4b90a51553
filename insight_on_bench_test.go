package prefetch_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/gorm-prefetch/prefetch"
)

// nopObserver is the cheapest Observer: what remains is the plugin's cost
// of calling one.
type nopObserver struct{}

func (nopObserver) Served(context.Context, string)                                 {}
func (nopObserver) Queried(context.Context, string, int64, error)                  {}
func (nopObserver) Dropped(context.Context, int64, int64)                          {}
func (nopObserver) BatchLoadEnd(context.Context, prefetch.BatchLoad, int64, error) {}
func (nopObserver) BatchLoadStart(ctx context.Context, _ prefetch.BatchLoad) context.Context {
	return ctx
}

func BenchmarkInsightOn(b *testing.B) {
	quietLog := slog.New(slog.NewTextHandler(io.Discard, nil))
	modes := []struct {
		name string
		p    prefetch.Plugin
		opts []prefetch.Option
	}{
		{"report", prefetch.Plugin{}, []prefetch.Option{prefetch.WithReport()}},
		{"strict-log", prefetch.Plugin{}, []prefetch.Option{prefetch.WithStrictLog(quietLog)}},
		{"observer", prefetch.Plugin{Observer: nopObserver{}}, nil},
	}
	for _, m := range modes {
		db := insightDB(b, m.p)
		for _, w := range insightWork {
			b.Run(m.name+"/"+w.name, func(b *testing.B) {
				b.ReportAllocs()
				w.run(b, db, func() context.Context { return prefetch.NewContext(context.Background(), m.opts...) })
			})
		}
	}
}
