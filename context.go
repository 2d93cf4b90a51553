package prefetch

import (
	"context"
	"net/http"
)

// ctxKey is the context key of the request cache and its options.
type ctxKey struct{}

// ctxVal is what a context carries under ctxKey. Options are kept beside the
// store so that a lookup costs one [context.Context.Value] call.
type ctxVal struct {
	s          *store
	disabled   bool
	noPrefetch bool
	in         *insight // request options (insight.go); nil when none
}

func valOf(ctx context.Context) ctxVal {
	if ctx == nil {
		return ctxVal{}
	}
	v, _ := ctx.Value(ctxKey{}).(*ctxVal)
	if v == nil {
		return ctxVal{}
	}
	return *v
}

func storeOf(ctx context.Context) *store { return valOf(ctx).s }

// NewContext returns a copy of ctx that carries a fresh, empty request cache.
// Statements run with it (db.WithContext(ctx)) share that cache; it lives as
// long as the context is referenced. Wrap each request's context once, at the
// start of the request; a cache shared across requests would serve one
// request the rows another one read. When the request ends, call [Clear]
// ([Middleware] does): a driver may keep the last context a pooled
// connection used (pgx does), and with it the rows.
//
// Options make the request report its N+1 sites ([WithReport]), fail or
// warn at them ([WithStrict], [WithStrictLog]), or log a summary
// ([WithSummary]).
func NewContext(ctx context.Context, opts ...Option) context.Context {
	if ctx == nil {
		ctx = context.Background()
	}
	s := newStore()
	for _, o := range opts {
		if o.store != nil {
			o.store(s)
		}
	}
	return context.WithValue(ctx, ctxKey{}, &ctxVal{s: s, in: newInsight(opts)})
}

// Middleware wraps next so that every request's context carries a fresh
// request cache, as if its handler called [NewContext], and empties it when
// the handler returns: a database driver may keep a reference to the last
// context a pooled connection used (pgx does), which would otherwise keep
// the rows alive until the connection is used again.
func Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := NewContext(r.Context())
		defer Clear(ctx)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// Disable returns a copy of ctx whose statements bypass the request cache:
// they are neither served from it nor stored in it. Writes made with it
// still invalidate what they change.
func Disable(ctx context.Context) context.Context {
	v := valOf(ctx)
	v.disabled = true
	return context.WithValue(nonNil(ctx), ctxKey{}, &v)
}

// WithoutPrefetch returns a copy of ctx whose statements still use the
// request cache (repeated lookups are served from it) but never widen a
// load to the rest of a scope: only what the statement asks is loaded.
func WithoutPrefetch(ctx context.Context) context.Context {
	v := valOf(ctx)
	v.noPrefetch = true
	return context.WithValue(nonNil(ctx), ctxKey{}, &v)
}

func nonNil(ctx context.Context) context.Context {
	if ctx == nil {
		return context.Background()
	}
	return ctx
}
