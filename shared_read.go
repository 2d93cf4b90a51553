package prefetch

import (
	"context"
	"slices"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"
)

// Reads and fills of the shared cache. The request cache stays the first
// level: the shared cache is read for the keys a by-key statement misses
// (sharedServe) and for the keys of a scope's batch load (sharedBatchRead),
// one store round trip each; hits go into the request cache as if loaded
// from the database when the read began (so that a write stamped since
// makes them stale there), and the database is asked only for the misses.
// The rows it returns are filled under the lease of that read: whole rows
// (SELECT *) only.
//
// The shared cache is used only for statements on the handle's own pool:
// never inside a transaction (its reads must see its own writes, and its
// snapshot may be older than the shared rows), on a connection taken with
// db.Connection, or once the session state of the pool's connections
// changed (the space would no longer say what they read).

// sharedGate returns the shared table and the partition a statement on
// table, read through model sch, may use; nil when it may not.
func (st *state) sharedGate(db *gorm.DB, table string, sch *schema.Schema) (*sharedTable, string) {
	sh := st.shared
	if sh == nil {
		return nil, ""
	}
	t := sh.tableFor(table, identOfSchema(sch))
	if t == nil || sh.off.Load() || !st.ownsPool(db.Statement.ConnPool) {
		return nil, ""
	}
	part, ok := sh.partition(db.Statement.Context, t)
	if !ok {
		return nil, ""
	}
	return t, part
}

// sharedOff turns the shared cache off for the handle, for good: the
// session state of its connections changed.
func (st *state) sharedOff(db *gorm.DB) {
	if st.shared == nil || !st.shared.off.CompareAndSwap(false, true) {
		return
	}
	db.Logger.Warn(db.Statement.Context, "prefetch: shared cache turned off for this handle: session state changed (%.80q)", db.Statement.SQL.String())
}

// sharedLeaseKey holds, in a statement's settings, the lease of the shared
// read that missed, for fetch to fill with.
type sharedLeaseKey struct{}

// sharedFill is what a fill needs of the read that missed.
type sharedFill struct {
	t     *sharedTable
	part  string
	lease SharedLease
}

// sharedServe reads the keys a by-key statement misses from the shared
// cache and, when they are all there, answers the statement from the
// request cache they were put in. It returns nil when the statement must
// go on to the database.
func (st *state) sharedServe(db *gorm.DB, s *store, p *plan) (*result, *tableCache) {
	if st.shared == nil || !p.byKey || !p.answerableOnceLoaded() || s.maxAge > 0 {
		// WithMaxAge asks for rows younger than shared ones may be.
		return nil, nil
	}
	sht, part := st.sharedGate(db, p.table, p.sch)
	if sht == nil {
		return nil, nil
	}
	s.mu.Lock()
	dc := s.db(st)
	t := dc.table(p.table, p.sch)
	res, missing, ok := dc.lookup(t, p)
	mark := s.mark(st) // before the read: see sharedChanged
	may := t.mayHold(p)
	star := slices.Clone(t.starNames)
	s.mu.Unlock()
	if res != nil {
		return res, t
	}
	if !ok || len(missing) == 0 || !may || !st.shared.fence.up() {
		return nil, nil
	}
	ctx := db.Statement.Context
	f, hits := st.sharedRead(ctx, s, sht, part, missing, star)
	if f == nil {
		return nil, nil
	}
	db.Statement.Settings.Store(sharedLeaseKey{}, f)
	if len(hits) == 0 || len(hits[0].rows) != len(missing) {
		return nil, nil // the statement goes to the database anyway
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.storable(db, st, mark) {
		return nil, nil
	}
	dc = s.db(st)
	t = dc.table(p.table, p.sch)
	h := hits[0]
	var sc *scope
	if len(h.rows) > 1 {
		sc = &scope{t: t}
	}
	if keys := dc.storeResult(t, h, mark.at, true, sc, nil); sc != nil && keys != nil {
		sc.keys = keys
		dc.addScope(t, sc)
	}
	if res, _, ok = dc.lookup(t, p); !ok {
		return nil, nil
	}
	return res, t
}

// sharedRead reads keys (normalized, as the request cache names them) of
// table t in partition part. It returns the lease to fill the misses with
// (nil when the store did not answer) and the hits: rows whose key is the
// one asked and whose columns are the table's (star, when known), as one
// result (hits with other columns count as misses).
func (st *state) sharedRead(ctx context.Context, s *store, t *sharedTable, part string, keys []any, star []string) (*sharedFill, []*result) {
	sh := st.shared
	names := make([]string, len(keys))
	for i, k := range keys {
		if names[i] = sharedKey(k, len(t.pk)); names[i] == "" {
			return nil, nil
		}
	}
	cctx, cancel := sh.timeout(ctx)
	vals, lease, err := sh.cfg.Store.Read(cctx, sh.space, part, t.norm, names)
	cancel()
	if o := st.sharedObserver(); o != nil {
		defer func() { o.SharedRead(ctx, t.name, hitsOf(vals), len(keys)-hitsOf(vals), err) }()
	}
	if err != nil || len(vals) != len(keys) {
		s.mu.Lock()
		s.c.SharedRoundTrips++
		s.c.SharedErrors++
		s.mu.Unlock()
		return nil, nil
	}
	var hit *result
	for i, v := range vals {
		if v == nil {
			continue
		}
		cols, row, err := decodeRow(v)
		if err != nil || star != nil && !slices.Equal(cols, star) || hit != nil && !slices.Equal(cols, hit.cols) {
			continue
		}
		if k, ok := t.keyOf(cols, row); !ok || k != keys[i] {
			continue // another spelling of a text key, or a mismatch
		}
		if hit == nil {
			hit = &result{cols: cols}
		}
		hit.rows = append(hit.rows, row)
	}
	s.mu.Lock()
	s.c.SharedRoundTrips++
	var hits []*result
	if hit != nil {
		hits = []*result{hit}
		s.c.SharedHits += int64(len(hit.rows))
	}
	s.c.SharedMisses += int64(len(keys))
	if hit != nil {
		s.c.SharedMisses -= int64(len(hit.rows))
	}
	s.mu.Unlock()
	return &sharedFill{t: t, part: part, lease: lease}, hits
}

// hitsOf counts the values a read found.
func hitsOf(vals [][]byte) int {
	n := 0
	for _, v := range vals {
		if v != nil {
			n++
		}
	}
	return n
}

// keyOf returns the normalized key of a row with columns cols.
func (t *sharedTable) keyOf(cols []string, row []any) (any, bool) {
	parts := make([]any, len(t.pk))
	for i, name := range t.pk {
		pos := slices.Index(cols, name)
		if pos < 0 || !sameKind(row[pos], t.pkCls[i]) {
			return nil, false
		}
		v, ok := normValue(row[pos], t.pkCls[i])
		if !ok {
			return nil, false
		}
		parts[i] = v
	}
	return compositeKey(parts), true
}

// sharedFetched fills the rows a by-key statement read from the database
// after its shared read missed (fetch in serve.go).
func (st *state) sharedFetched(db *gorm.DB, s *store, p *plan, res *result) {
	if st.shared == nil {
		return
	}
	v, ok := db.Statement.Settings.LoadAndDelete(sharedLeaseKey{})
	if !ok || p.cols != nil || res.err != nil {
		return
	}
	// The statement's own read, not one a reused statement carried over.
	f := v.(*sharedFill)
	if sht, part := st.sharedGate(db, p.table, p.sch); sht != f.t || part != f.part {
		return
	}
	st.fill(db.Statement.Context, s, f, res)
}

// fill stores the rows of res (whole rows: SELECT *) under the lease of
// the read that missed them.
func (st *state) fill(ctx context.Context, s *store, f *sharedFill, res *result) {
	sh := st.shared
	if f == nil || res == nil || len(res.rows) == 0 {
		return
	}
	if hook := sharedBeforeFill.Swap(nil); hook != nil {
		(*hook)()
	}
	if time.Since(f.lease.At) > sh.cfg.LeaseLifetime {
		return
	}
	if _, unkeyed := st.unkeyed.Load(f.t.name + "\x00" + f.t.ident); unkeyed {
		return // the model's key does not name the table's rows
	}
	keys := make([]string, 0, len(res.rows))
	vals := make([][]byte, 0, len(res.rows))
	seen := make(map[any]bool, len(res.rows))
	for _, row := range res.rows {
		k, ok := f.t.keyOf(res.cols, row)
		if !ok {
			continue
		}
		if seen[k] {
			return // a key repeated: rows cannot be named by it
		}
		seen[k] = true
		b, ok := encodeRow(res.cols, row)
		if !ok {
			continue
		}
		name := sharedKey(k, len(f.t.pk))
		if name == "" {
			continue
		}
		keys, vals = append(keys, name), append(vals, b)
	}
	if len(keys) == 0 {
		return
	}
	cctx, cancel := sh.timeout(context.WithoutCancel(ctx))
	err := sh.cfg.Store.Fill(cctx, f.lease, sh.space, f.part, f.t.norm, keys, vals, f.t.ttl)
	cancel()
	if s == nil {
		return // Warm
	}
	s.mu.Lock()
	s.c.SharedRoundTrips++
	if err != nil {
		s.c.SharedErrors++
	} else {
		s.c.SharedFills += int64(len(keys))
	}
	s.mu.Unlock()
}

// sharedBeforeFill is a test hook: see export_test.go.
var sharedBeforeFill atomic.Pointer[func()]

// sharedBatch is what the shared read of a batch load found.
type sharedBatch struct {
	st   *state
	s    *store
	f    *sharedFill
	hit  *result // rows found, in the columns of their first
	vals []any   // their keys
}

// sharedBatchRead reads the keys of a by-key batch load from the shared
// cache, puts the hits in the request cache and returns the keys still to
// load (batchLoad in scope.go).
func (st *state) sharedBatchRead(db *gorm.DB, ctx context.Context, s *store, b *batch, vals []any, mark loadMark) ([]any, *sharedBatch) {
	if st.shared == nil || !b.byKey || len(vals) == 0 || s.maxAge > 0 {
		return vals, nil
	}
	sht, part := st.sharedGate(db, b.table, b.sch)
	if sht == nil || !st.shared.fence.up() {
		return vals, nil
	}
	s.mu.Lock()
	star := slices.Clone(s.db(st).table(b.table, b.sch).starNames)
	s.mu.Unlock()
	f, hits := st.sharedRead(ctx, s, sht, part, vals, star)
	if f == nil {
		return vals, nil
	}
	sb := &sharedBatch{st: st, s: s, f: f}
	if len(hits) == 0 {
		return vals, sb
	}
	sb.hit = hits[0]
	found := make(map[any]bool, len(sb.hit.rows))
	for _, row := range sb.hit.rows {
		k, _ := sht.keyOf(sb.hit.cols, row)
		found[k] = true
		sb.vals = append(sb.vals, k)
	}
	var rest []any
	for _, v := range vals {
		if !found[v] {
			rest = append(rest, v)
		}
	}
	s.mu.Lock()
	if s.storable(db, st, mark) {
		dc := s.db(st)
		dc.record(dc.table(b.table, b.sch), b, sb.hit, sb.vals, mark.at, nil)
	}
	s.mu.Unlock()
	return rest, sb
}

// loaded is the batch when the shared cache held every key: no query.
func (sb *sharedBatch) loaded(b *batch, at uint64) *loadedBatch {
	if sb == nil || sb.hit == nil {
		return nil
	}
	return &loadedBatch{b: b, res: sb.hit, vals: sb.vals, at: at}
}

// fill stores what the batch's query read.
func (sb *sharedBatch) fill(ctx context.Context, res *result) {
	if sb != nil {
		sb.st.fill(ctx, sb.s, sb.f, res)
	}
}

// merge adds the shared hits to what the batch's query read, for a
// statement answered from the batch itself (answerFrom).
func (sb *sharedBatch) merge(l *loadedBatch) *loadedBatch {
	if sb == nil || sb.hit == nil || l.res == nil || !slices.Equal(l.res.cols, sb.hit.cols) {
		return l
	}
	l.res = &result{cols: l.res.cols, rows: slices.Concat(l.res.rows, sb.hit.rows)}
	l.vals = slices.Concat(l.vals, sb.vals)
	return l
}
