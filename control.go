package prefetch

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"

	"gorm.io/gorm/schema"
)

// Cache control: Clear and Invalidate, for changes the plugin cannot see.

// Clear empties the request cache in ctx, and the caches of the transactions
// its statements have open. Loads under way when it is called store
// nothing. It does nothing when ctx carries no cache.
func Clear(ctx context.Context) {
	if s := storeOf(ctx); s != nil {
		s.clearAll()
	}
}

// Invalidate drops rows from the request cache in ctx (and from the caches
// of its open transactions), for changes the plugin cannot see: writes by
// another process, a trigger, or SQL run outside GORM.
//
// model is a model (a pointer to one, a value, or a slice of them) or a
// table name. Rows are dropped by table, whichever model read them. With no
// ids the whole table is dropped; otherwise the rows with those primary
// keys of the model (for a table name, of the models registered on it),
// each a value, or a slice of its parts in primary-key order for a
// composite key. Rows of the table read through a model with another key
// are dropped whole.
//
// Errors match [ErrUnknownTable] for a table no model or statement of a
// database with the plugin has named (the message suggests the likely
// name), [ErrInvalidKey] for an id that cannot be a key of the table, and
// [ErrNotModel] for a value GORM cannot parse. Nothing is dropped when it
// returns an error. With no cache in ctx it only checks its arguments.
//
// Invalidate reaches the shared cache too ([Plugin.Shared]), in every
// process that shares its store: the rows of the table (or those keys) are
// dropped from it.
//
// Writes made through GORM on a database with the plugin need no call: the
// plugin invalidates them itself, for every request.
func Invalidate(ctx context.Context, model any, ids ...any) error {
	if model == nil {
		return fmt.Errorf("%w: nil model", ErrUnknownTable)
	}
	s := storeOf(ctx)
	var stores []*store
	var sts []*state
	if s != nil {
		stores = append([]*store{s}, s.kids()...)
		seen := map[*state]bool{}
		for _, c := range stores {
			for _, st := range c.states() {
				if !seen[st] {
					seen[st] = true
					sts = append(sts, st)
				}
			}
		}
	}
	if len(sts) == 0 {
		// Nothing cached: the arguments are still checked.
		sts = liveStates()
		if len(sts) == 0 {
			return fmt.Errorf("%w: %v: no database has the plugin registered", ErrUnknownTable, model)
		}
		sts = sts[:1]
	}
	targets := make(map[*state]target, len(sts))
	for _, st := range sts {
		tg, err := st.resolveTarget(model, ids)
		if err != nil {
			return err
		}
		targets[st] = tg
	}
	// The shared cache first: a read of it made before the delivery must
	// not put the old row back in the request cache after the drop.
	sharedInvalidate(ctx, model, ids) // shared_invalidate.go
	for _, c := range stores {
		c.invalidate(targets)
	}
	return nil
}

// target is a table to invalidate in one database, with the keys given.
type target struct {
	table string // normalized
	ident string // the keys' row identity; "" for a table named by a string with models of several keys
	keys  []any  // normalized; none: the whole table
}

// states returns the databases the store holds rows of.
func (s *store) states() []*state {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*state, 0, len(s.dbs))
	for st := range s.dbs {
		out = append(out, st)
	}
	return out
}

func (s *store) invalidate(targets map[*state]target) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for st, dc := range s.dbs {
		tg, ok := targets[st]
		if !ok {
			continue
		}
		for _, t := range dc.tables {
			if normTable(t.name) != tg.table {
				continue
			}
			if len(tg.keys) > 0 && t.ident == tg.ident {
				dc.invalidateTable(t, tg.keys)
			} else {
				dc.invalidateTable(t, nil)
			}
		}
	}
}

// resolveTarget names the table of model in st's database and normalizes
// the ids as its keys.
func (st *state) resolveTarget(model any, ids []any) (target, error) {
	var tg target
	var pk []string
	var cls []keyClass
	if name, ok := model.(string); ok {
		tg.table = normTable(name)
		known := knownTables()
		if !slices.Contains(known, tg.table) {
			return tg, unknownTable(name, known)
		}
		// Keys as the models on the table name them, when they agree.
		for _, sch := range schemasOf(tg.table) {
			id := identOfSchema(sch)
			switch {
			case pk == nil:
				tg.ident = id
				pk, cls = pkOf(sch)
			case tg.ident != id:
				tg.ident = ""
			}
		}
	} else {
		sch, err := schema.Parse(model, &st.parsed, st.naming)
		if err != nil {
			return tg, fmt.Errorf("%w: %T: %v", ErrNotModel, model, err)
		}
		tg.table, tg.ident = normTable(sch.Table), identOfSchema(sch)
		pk, cls = pkOf(sch)
	}
	if len(ids) > 0 && pk == nil {
		return tg, fmt.Errorf("%w: table %q has no primary key the plugin knows", ErrInvalidKey, tg.table)
	}
	for _, id := range ids {
		k, ok := keyOf(pk, cls, id)
		if !ok {
			return tg, fmt.Errorf("%w: %#v for %s of table %q", ErrInvalidKey, id, strings.Join(pk, ", "), tg.table)
		}
		tg.keys = append(tg.keys, k)
	}
	return tg, nil
}

func pkOf(sch *schema.Schema) ([]string, []keyClass) {
	if len(sch.PrimaryFields) == 0 {
		return nil, nil
	}
	pk := make([]string, len(sch.PrimaryFields))
	cls := make([]keyClass, len(sch.PrimaryFields))
	for i, f := range sch.PrimaryFields {
		pk[i], cls[i] = f.DBName, classOf(f)
	}
	return pk, cls
}

// unknownTable builds the error for a table nobody named, suggesting the
// known name it is most likely a typo of, when one is closest: a plural or
// singular of it first, then the one fewest edits away (at most 2).
func unknownTable(name string, known []string) error {
	n := normTable(name)
	best, bestScore, tie := "", 3, false
	for _, k := range known {
		score := editDistance(n, k)
		switch {
		case k == n+"s" || k == n+"es" || n == k+"s":
			score = 0
		case strings.HasSuffix(k, "_"+n+"s") || strings.HasSuffix(k, "_"+n):
			score = 1 // a prefixed name (TablePrefix)
		}
		switch {
		case score < bestScore:
			best, bestScore, tie = k, score, false
		case score == bestScore:
			tie = true
		}
	}
	if best != "" && !tie {
		return fmt.Errorf("%w: %q (did you mean %q?)", ErrUnknownTable, name, best)
	}
	return fmt.Errorf("%w: %q", ErrUnknownTable, name)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// keyOf normalizes a primary key given by a caller: a value, or a slice of
// parts for a composite key.
func keyOf(pk []string, cls []keyClass, id any) (any, bool) {
	if len(pk) == 0 {
		return nil, false
	}
	parts := []any{id}
	if len(pk) > 1 {
		rv := reflect.ValueOf(id)
		if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array || rv.Len() != len(pk) {
			return nil, false
		}
		parts = make([]any, rv.Len())
		for i := range parts {
			parts[i] = rv.Index(i).Interface()
		}
	}
	for i, p := range parts {
		v, ok := normValue(p, cls[i])
		if !ok {
			return nil, false
		}
		parts[i] = v
	}
	return compositeKey(parts), true
}

// invalidateTable drops rows of t (all, or those with the given normalized
// keys) and its collections. Callers hold the store's lock.
func (dc *dbCache) invalidateTable(t *tableCache, keys []any) {
	n := len(t.colls)
	t.colls = map[string]map[any]*collection{}
	if len(keys) == 0 {
		for _, e := range t.rows {
			dc.drop(e)
			n++
		}
	}
	folded := map[string]bool{}
	for _, k := range keys {
		if e := t.rows[k]; e != nil {
			dc.drop(e)
			n++
		}
		if s, ok := k.(string); ok {
			folded[foldKey(s)] = true
		}
	}
	if len(folded) > 0 {
		// A text key the database may hold under another spelling (case,
		// padding, uuid punctuation): drop those spellings too.
		for k, e := range t.rows {
			if s, ok := k.(string); ok && folded[foldKey(s)] {
				dc.drop(e)
				n++
			}
		}
	}
	dc.s.c.Invalidations += int64(n)
}

// Every registered plugin state, for Invalidate's look-ups.
var states struct {
	mu   sync.Mutex
	list []*state // protected by mu
}

func addState(st *state) {
	states.mu.Lock()
	defer states.mu.Unlock()
	states.list = append(states.list, st)
}

func liveStates() []*state {
	states.mu.Lock()
	defer states.mu.Unlock()
	return slices.Clone(states.list)
}

// knownTables lists, normalized and sorted, every table a database with the
// plugin has read through a model or written.
func knownTables() []string {
	seen := map[string]bool{}
	for _, st := range liveStates() {
		st.mu.RLock()
		for t := range st.schemas {
			seen[normTable(t)] = true
		}
		st.mu.RUnlock()
		st.gens.mu.RLock()
		for t := range st.gens.tables {
			seen[t] = true
		}
		st.gens.mu.RUnlock()
	}
	out := make([]string, 0, len(seen))
	for t := range seen {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// schemasOf returns the models seen on a table.
func schemasOf(table string) []*schema.Schema {
	var out []*schema.Schema
	for _, st := range liveStates() {
		st.mu.RLock()
		for t, sch := range st.schemas {
			if normTable(t) == table {
				out = append(out, sch)
			}
		}
		st.mu.RUnlock()
	}
	return out
}
