package prefetch

import (
	"log/slog"
	"sync"
	"time"

	"gorm.io/gorm"
)

// Request options. By default a request cache works silently; options given
// to [NewContext] (or [MiddlewareWith]) make it tell where the code loads
// records one at a time: a report of those places ([WithReport]), an error
// or a warning at the first one ([WithStrict], [WithStrictLog]), a log line
// per request ([WithSummary]). With no option, none of this costs anything.

// Option configures the request cache made by [NewContext] or
// [MiddlewareWith]. The zero value does nothing.
type Option struct {
	apply func(*insight) // request insight (report, strict mode, summary)
	store func(*store)   // cache settings (WithMaxAge)
}

// WithMaxAge makes rows and collections older than d stale in the request
// cache: read again from the database the next time they are asked for.
// For contexts that live long (a worker holding one for hours), where
// writes the plugin cannot see (other processes) would otherwise stay
// unseen for the context's life. Ages count from when a load stored them.
// d <= 0 means no limit, the default.
func WithMaxAge(d time.Duration) Option {
	return Option{store: func(s *store) { s.maxAge = d }}
}

// WithReport records, for the request, each place where the code loaded
// records one at a time and the plugin batched the load: see [ReportOf].
// It costs a stack capture (runtime.Callers) for each query whose result
// forms a scope and for each statement answered by a batch load.
func WithReport() Option { return Option{apply: func(in *insight) { in.report = true }} }

// WithStrict makes every statement the plugin would widen to a scope (an N+1
// in the code: a record's association, collection or columns loaded one
// record at a time) fail with an error matching [ErrLazyLoad], which names
// the call site and the fix, instead of being batched. Statements made by
// GORM's Preload or by [Load], and statements answered from the cache, are
// not affected. Use it in tests, to fail when a new N+1 appears.
func WithStrict() Option { return Option{apply: func(in *insight) { in.strict = true }} }

// WithStrictLog is the log-only variant of [WithStrict]: lazy loads are
// batched as usual, and the first one of each call site in the request is
// logged at level Warn through l (slog.Default() when nil), with the same
// text as the error.
func WithStrictLog(l *slog.Logger) Option {
	return Option{apply: func(in *insight) { in.strictLog = orDefault(l) }}
}

// WithSummary makes [Finish] (which [MiddlewareWith] calls when the request
// ends) log one line through l (slog.Default() when nil) at level Info: the
// request's statements, queries, batch loads, rows, and, with [WithReport],
// its N+1 sites.
func WithSummary(l *slog.Logger) Option {
	return Option{apply: func(in *insight) { in.summary = orDefault(l) }}
}

func orDefault(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.Default()
	}
	return l
}

// insight is the state of a request's options: nil when it has none.
type insight struct {
	report    bool
	strict    bool
	strictLog *slog.Logger
	summary   *slog.Logger

	mu      sync.Mutex                // protects the maps and sites
	origins map[*scope]pcs            // stack of the query whose result formed each scope
	pending map[*gorm.Statement]*Site // lazy statements whose batch loads are under way
	lazy    map[lazyKey]*Site         // rows and collections lazy batch loads loaded, and the site that asked
	sites   map[siteKey]*Site         // by call site and what is loaded
	order   []*Site                   // sites in order of first sight
	warned  map[siteKey]bool          // sites WithStrictLog has logged
}

// newInsight returns the state of a request's options, or nil when none
// asks for anything.
func newInsight(opts []Option) *insight {
	if len(opts) == 0 {
		return nil
	}
	in := &insight{}
	for _, o := range opts {
		if o.apply != nil {
			o.apply(in)
		}
	}
	if !in.report && !in.strict && in.strictLog == nil && in.summary == nil {
		return nil
	}
	in.origins = map[*scope]pcs{}
	in.pending = map[*gorm.Statement]*Site{}
	in.lazy = map[lazyKey]*Site{}
	in.sites = map[siteKey]*Site{}
	in.warned = map[siteKey]bool{}
	return in
}

// watches reports whether lazy loads are looked for: call sites are then
// captured.
func (in *insight) watches() bool {
	return in != nil && (in.report || in.strict || in.strictLog != nil)
}

// lazyKey names a row (col is the primary key) or a collection (col holds
// the value) that a lazy batch load loaded.
type lazyKey struct {
	t   *tableCache
	col string
	v   any
}

// siteKey identifies a site of the report.
type siteKey struct {
	file        string
	line        int
	table, what string
}
