package prefetch

import (
	"context"
	"net/http"
	"reflect"

	"gorm.io/gorm/schema"
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
	return context.WithValue(ctx, ctxKey{}, &ctxVal{s: newStore(), in: newInsight(opts)})
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

// Clear empties the request cache in ctx. It does nothing when ctx carries
// none.
func Clear(ctx context.Context) {
	if s := storeOf(ctx); s != nil {
		s.clearAll()
	}
}

// Invalidate drops rows from the request cache in ctx, for changes the
// plugin cannot see: writes by another process, a trigger, or SQL run outside
// GORM. model is a pointer to a model (or a model value) or a table name;
// with no ids the whole table is dropped, otherwise the rows with those
// primary keys (for composite keys, pass each key as a slice of its parts
// in primary-key order). It does nothing when ctx carries no cache.
//
// Writes made through GORM on a database with the plugin need no call: the
// plugin invalidates them itself, for every request.
func Invalidate(ctx context.Context, model any, ids ...any) {
	s := storeOf(ctx)
	if s == nil || model == nil {
		return
	}
	name, typ := "", reflect.Type(nil)
	if n, ok := model.(string); ok {
		name = normTable(n)
	} else {
		typ = reflect.TypeOf(model)
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
			typ = typ.Elem()
		}
		// A fresh value, as GORM does: model may be a typed nil pointer.
		if tn, ok := reflect.New(typ).Interface().(schema.Tabler); ok {
			name, typ = normTable(tn.TableName()), nil
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, dc := range s.dbs {
		for _, t := range dc.tables {
			if name != "" && normTable(t.name) != name {
				continue
			}
			if typ != nil && (t.sch == nil || t.sch.ModelType != typ) {
				continue
			}
			dc.invalidateTable(t, ids)
		}
	}
}

// invalidateTable drops rows of t (all, or those with the given ids) and
// its collections. Callers hold the store's lock.
func (dc *dbCache) invalidateTable(t *tableCache, ids []any) {
	n := len(t.colls)
	t.colls = map[string]map[any]*collection{}
	if len(ids) == 0 {
		for _, e := range t.rows {
			dc.drop(e)
			n++
		}
		dc.s.c.Invalidations += int64(n)
		return
	}
	for _, id := range ids {
		k, ok := keyOf(t, id)
		if !ok {
			// An id the cache cannot read: drop the whole table.
			dc.invalidateTable(t, nil)
			return
		}
		if e := t.rows[k]; e != nil {
			dc.drop(e)
			n++
		}
	}
	dc.s.c.Invalidations += int64(n)
}

// keyOf normalizes a primary key given by a caller: a value, or a slice of
// parts for a composite key.
func keyOf(t *tableCache, id any) (any, bool) {
	if len(t.pk) == 0 {
		return nil, false
	}
	parts := []any{id}
	if len(t.pk) > 1 {
		rv := reflect.ValueOf(id)
		if rv.Kind() != reflect.Slice || rv.Len() != len(t.pk) {
			return nil, false
		}
		parts = make([]any, rv.Len())
		for i := range parts {
			parts[i] = rv.Index(i).Interface()
		}
	}
	for i, p := range parts {
		v, ok := normValue(p, t.pkCls[i])
		if !ok {
			return nil, false
		}
		parts[i] = v
	}
	return compositeKey(parts), true
}
