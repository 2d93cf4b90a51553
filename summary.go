package prefetch

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
)

// MiddlewareWith returns a middleware like [Middleware] whose request caches
// are made with opts, and which calls [Finish] when the handler returns:
// with [WithSummary], every request logs one line.
//
//	mux := prefetch.MiddlewareWith(prefetch.WithReport(), prefetch.WithSummary(slog.Default()))(mux)
func MiddlewareWith(opts ...Option) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := NewContext(r.Context(), opts...)
			defer Finish(ctx)
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// Finish ends the request whose cache ctx carries, for code that makes its
// own contexts with [NewContext]: it logs the request's summary line when
// the context was made [WithSummary], then empties the cache like [Clear].
func Finish(ctx context.Context) {
	ctx = nonNil(ctx)
	v := valOf(ctx)
	if v.in != nil && v.in.summary != nil {
		logSummary(ctx, v.in.summary, StatsOf(ctx), ReportOf(ctx), v.in.report)
	}
	Clear(ctx)
}

// logSummary writes the summary line of a request.
func logSummary(ctx context.Context, l *slog.Logger, s Stats, r Report, report bool) {
	attrs := []slog.Attr{
		slog.Int64("statements", s.Hits+s.Misses),
		slog.Int64("queries", s.Queries),
		slog.Int64("served", s.Hits),
		slog.Int64("batch_loads", s.BatchLoads),
		slog.Int64("rows_prefetched", s.Prefetched),
		slog.Int64("rows_held", s.Rows),
	}
	if report {
		attrs = append(attrs, slog.Int("n_plus_one", len(r)))
		sites := make([]any, len(r))
		for i, site := range r {
			sites[i] = slog.Any(strconv.Itoa(i+1), site)
		}
		if len(sites) > 0 {
			attrs = append(attrs, slog.Group("sites", sites...))
		}
	}
	l.LogAttrs(ctx, slog.LevelInfo, "prefetch: request", attrs...)
}
