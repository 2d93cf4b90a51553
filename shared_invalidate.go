package prefetch

import (
	"context"
	"reflect"
	"slices"
	"sync"
	"time"

	"gorm.io/gorm"
)

// Invalidations of the shared cache. Every write the plugin sees is
// delivered to the store, synchronously, before the local stamp that ends
// it (commitChange stamps once before, as without the shared cache, and
// once more after the delivery): a read of the shared cache that began
// before the delivery landed is older than that stamp, so what it put in
// a request cache is stale there. Inside a transaction the plugin tracks,
// writes are delivered at Commit, after the database committed and before
// Commit returns; a rollback delivers nothing.
//
// A delivery that fails (the store is down, slow or refused it) fences the
// space in this process: nothing is read from the shared cache until a
// whole-space invalidation, retried in the background, has landed.

// sharedChanged delivers the change a statement made, or leaves it to the
// transaction it ran in. It is called after the change was stamped.
func (st *state) sharedChanged(db *gorm.DB, c *change) {
	if !st.gens.namesShared(c) {
		return
	}
	sh := st.gens.sharedOf(st)
	cp := db.Statement.ConnPool
	if tx := trackedTx(cp); tx != nil && !tx.rawEnded() {
		tx.noteSharedStats(storeOf(db.Statement.Context))
		return // delivered at Commit (txPool.Commit)
	} else if _, inTx := cp.(gorm.TxCommitter); inTx && tx == nil && sh.untracked.CompareAndSwap(false, true) {
		db.Logger.Warn(db.Statement.Context, "prefetch: a write to a shared table ran in a transaction the plugin does not track "+
			"(begun on db.Connection or given to GORM): it is delivered to the shared cache before its commit; "+
			"see docs/shared-cache.md")
	}
	st.sharedDeliver(db.Statement.Context, storeOf(db.Statement.Context), c)
}

// sharedDeliver sends c to the stores of every shared cache on the
// database that it concerns (see targets) and stamps it again. s, when not
// nil, is the request cache whose statistics count the calls.
func (st *state) sharedDeliver(ctx context.Context, s *store, c *change) {
	targets := st.gens.targets(st, c)
	if len(targets) == 0 {
		return
	}
	if ctx == nil {
		ctx = context.Background() // Invalidate accepts a nil context, as lookups do
	}
	calls, errs := 0, 0
	for _, sh := range targets {
		n, e := sh.deliver(context.WithoutCancel(ctx), c, st.sharedObserver())
		calls, errs = calls+n, errs+e
	}
	if s != nil {
		s.mu.Lock()
		s.c.SharedInvalidations += int64(calls)
		s.c.SharedRoundTrips += int64(calls)
		s.c.SharedErrors += int64(errs)
		s.mu.Unlock()
	}
	st.gens.apply(c)
}

// A write through any handle of the process reaches the shared caches of
// every handle on the same database, whatever its own configuration: a
// handle without a shared cache (a job runner, an admin handle) or with
// another store still changes the rows the others share. Each store and
// space is told once.

// addShared registers the shared cache of a handle on the database.
func (g *gens) addShared(sh *shared) {
	g.sharedMu.Lock()
	defer g.sharedMu.Unlock()
	var list []*shared
	if p := g.shareds.Load(); p != nil {
		list = *p
	}
	list = append(slices.Clip(list), sh)
	g.shareds.Store(&list)
}

// hasShared reports whether any handle on the database has a shared cache.
func (g *gens) hasShared() bool {
	p := g.shareds.Load()
	return p != nil && len(*p) > 0
}

// namesShared reports whether c concerns a table of any shared cache on
// the database.
func (g *gens) namesShared(c *change) bool {
	p := g.shareds.Load()
	if p == nil {
		return false
	}
	for _, sh := range *p {
		if sh.names(c) {
			return true
		}
	}
	return false
}

// sharedOf returns st's own shared cache, or the first of the database's
// (for the warning on untracked transactions).
func (g *gens) sharedOf(st *state) *shared {
	if st.shared != nil {
		return st.shared
	}
	if p := g.shareds.Load(); p != nil && len(*p) > 0 {
		return (*p)[0]
	}
	return nil
}

// targets returns the shared caches c must be delivered to: st's own
// first, then the database's others, one per store and space.
func (g *gens) targets(st *state, c *change) []*shared {
	p := g.shareds.Load()
	if p == nil {
		return nil
	}
	var out []*shared
	seen := func(sh *shared) bool {
		for _, o := range out {
			if o.cfg.Store == sh.cfg.Store && o.space == sh.space {
				return true
			}
		}
		return false
	}
	if st.shared != nil && st.shared.names(c) {
		out = append(out, st.shared)
	}
	for _, sh := range *p {
		if sh != st.shared && sh.names(c) && !seen(sh) {
			out = append(out, sh)
		}
	}
	return out
}

// names reports whether c concerns a table of the shared cache.
func (sh *shared) names(c *change) bool {
	if c.all {
		return true
	}
	for _, t := range c.tables {
		if sh.byNorm[normTable(t)] != nil {
			return true
		}
	}
	for _, r := range c.rows {
		if sh.byNorm[normTable(r.table)] != nil {
			return true
		}
	}
	return false
}

// deliver sends the invalidations c calls for: the whole space for
// "everything", tables, keys of tables (by table when they are keys of
// another row identity). It returns the calls made and how many failed;
// any failure fences the space.
func (sh *shared) deliver(ctx context.Context, c *change, o SharedObserver) (calls, errs int) {
	send := func(table string, keys []string) {
		cctx, cancel := sh.timeout(ctx)
		defer cancel()
		calls++
		err := sh.cfg.Store.Invalidate(cctx, sh.space, table, keys)
		if err != nil {
			errs++
			sh.fence.fail(sh.cfg.Store, sh.space, sh.cfg.Timeout)
		}
		if o != nil {
			o.SharedInvalidated(ctx, table, len(keys), err)
		}
	}
	if c.all {
		send("", nil)
		return calls, errs
	}
	whole := map[string]bool{}
	for _, t := range c.tables {
		if n := normTable(t); sh.byNorm[n] != nil && !whole[n] {
			whole[n] = true
			send(n, nil)
		}
	}
	byTable := map[string][]string{}
	var order []string
	for _, r := range c.rows {
		n := normTable(r.table)
		t := sh.byNorm[n]
		if t == nil || whole[n] {
			continue
		}
		if r.ident != t.ident {
			whole[n] = true
			delete(byTable, n)
			send(n, nil)
			continue
		}
		if _, ok := byTable[n]; !ok {
			order = append(order, n)
		}
		for _, k := range r.keys {
			name := sharedKey(k, len(t.pk))
			if name == "" {
				whole[n] = true // a key the store cannot name: the whole table
				break
			}
			byTable[n] = append(byTable[n], name)
		}
		if whole[n] {
			delete(byTable, n)
			send(n, nil)
		}
	}
	for _, n := range order {
		if keys, ok := byTable[n]; ok && !whole[n] {
			send(n, keys)
		}
	}
	return calls, errs
}

// fence stops the shared cache's reads in this process while an
// invalidation of its space could not be delivered. One per store and
// space in the process, so that every handle on the space stops.
type fence struct {
	mu       sync.Mutex
	down     bool   // protected by mu; read by up() too
	gen      uint64 // failures so far; protected by mu
	retrying bool   // a retry loop runs; protected by mu
}

// up reports whether the shared cache may be read.
func (f *fence) up() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return !f.down
}

// fail fences the space and makes sure a retry loop runs: it invalidates
// the whole space until that succeeds with no failure made meanwhile
// (whose write might be later than the invalidation), then lifts the
// fence.
func (f *fence) fail(store SharedStore, space string, timeout time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gen++
	f.down = true
	if f.retrying {
		return
	}
	f.retrying = true
	go f.retry(store, space, timeout)
}

// fenceRetryPause is the first pause between retries; it doubles up to a
// second.
var fenceRetryPause = 10 * time.Millisecond

func (f *fence) retry(store SharedStore, space string, timeout time.Duration) {
	pause := fenceRetryPause
	for {
		time.Sleep(pause)
		pause = min(2*pause, time.Second)
		f.mu.Lock()
		gen := f.gen
		f.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), max(timeout, time.Second))
		err := store.Invalidate(ctx, space, "", nil)
		cancel()
		f.mu.Lock()
		if err == nil && gen == f.gen {
			f.down, f.retrying = false, false
			f.mu.Unlock()
			return
		}
		f.mu.Unlock()
	}
}

var fences = struct {
	mu sync.Mutex
	m  map[fenceKey]*fence // protected by mu
}{m: map[fenceKey]*fence{}}

type fenceKey struct {
	store any
	space string
}

// fenceOf returns the fence of a store's space, shared by every handle of
// the process on it (a store whose type cannot be a map key gets one of
// its own).
func fenceOf(store SharedStore, space string) *fence {
	if !reflect.TypeOf(store).Comparable() {
		return &fence{}
	}
	fences.mu.Lock()
	defer fences.mu.Unlock()
	k := fenceKey{store, space}
	f := fences.m[k]
	if f == nil {
		f = &fence{}
		fences.m[k] = f
	}
	return f
}

// sharedCommitted delivers what a transaction wrote, once it committed.
func (tx *txPool) sharedCommitted() {
	st := tx.parent.st
	if !st.gens.hasShared() {
		return
	}
	tx.mu.Lock()
	c, s, raw := tx.written, tx.sharedReq, tx.rawEnd
	tx.mu.Unlock()
	if raw {
		return // delivered as they ran, once raw SQL ended the transaction
	}
	st.sharedDeliver(context.Background(), s, &c)
}

// noteSharedStats records the request cache whose statistics count the
// transaction's deliveries.
func (tx *txPool) noteSharedStats(s *store) {
	tx.mu.Lock()
	if tx.sharedReq == nil {
		tx.sharedReq = s
	}
	tx.mu.Unlock()
}

// rawEnded reports whether raw SQL (COMMIT, ROLLBACK) ended the
// transaction: later statements of it run outside any transaction.
func (tx *txPool) rawEnded() bool {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	return tx.rawEnd
}

// endedByRaw records that raw SQL ended the transaction.
func (tx *txPool) endedByRaw() {
	tx.fail()
	tx.mu.Lock()
	tx.rawEnd = true
	tx.mu.Unlock()
}

// sharedInvalidate delivers an [Invalidate] to the shared cache of every
// database registered in the process, for the tables it shares.
func sharedInvalidate(ctx context.Context, model any, ids []any) {
	done := map[*gens]bool{} // a delivery reaches every shared cache on its database
	for _, st := range liveStates() {
		sh := st.shared
		if sh == nil || done[st.gens] {
			continue
		}
		tg, err := st.resolveTarget(model, ids)
		if err != nil || sh.byNorm[tg.table] == nil {
			continue
		}
		var c change
		if len(tg.keys) > 0 && tg.ident != "" {
			c.addRows(tg.table, tg.ident, tg.keys)
		} else {
			c.addTable(tg.table)
		}
		st.sharedDeliver(ctx, storeOf(ctx), &c)
		done[st.gens] = true
	}
}
