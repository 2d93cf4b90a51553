package prefetch

import (
	"fmt"
	"slices"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"
)

// Lazy loads. A statement is a lazy load (an N+1 in the code) when the
// plugin widens it to a scope and the batch would load rows, collections or
// columns the statement did not ask for: the code asked for one record's
// data where a result held many. Statements made by GORM's Preload or by
// [Load] are never lazy: the code asked for those loads. The hooks below are
// called by the core (serve.go, scope.go) and do nothing unless the request
// was made with [WithReport], [WithStrict] or [WithStrictLog].

// scopeMade records the stack of the statement whose result formed sc, to
// name it in fixes. Callers hold the store's lock.
func (st *state) scopeMade(db *gorm.DB, sc *scope) {
	in := valOf(db.Statement.Context).in
	if !in.watches() {
		return
	}
	p := callers()
	in.mu.Lock()
	in.origins[sc] = p
	in.mu.Unlock()
}

// lazyLoad is called before a statement's batch b is loaded (m is the
// missing key or value that found it). In strict mode it returns the
// statement's error; otherwise it records the site, so that the batch's
// query and the statements it answers are counted there.
func (st *state) lazyLoad(db *gorm.DB, s *store, t *tableCache, p *plan, b *batch, m any) error {
	ctx := db.Statement.Context
	in := valOf(ctx).in
	if !in.watches() {
		return nil
	}
	s.mu.Lock()
	dc := s.db(st)
	lazy := beyond(dc, b, p)
	var w what
	if lazy {
		w = st.whatOf(dc, t, p, b, m)
	}
	s.mu.Unlock()
	if !lazy {
		return nil
	}
	at, explicit := callers().site()
	if explicit {
		return nil
	}
	site, key := in.site(at, w)
	if in.strict {
		return fmt.Errorf("%w: %s", ErrLazyLoad, site.lazyText())
	}
	in.mu.Lock()
	if old := in.sites[key]; old != nil {
		site = old
	} else {
		in.sites[key] = site
		in.order = append(in.order, site)
	}
	in.pending[db.Statement] = site
	warn := in.strictLog != nil && !in.warned[key]
	in.warned[key] = true
	text := site.lazyText()
	in.mu.Unlock()
	if warn {
		in.strictLog.WarnContext(ctx, "prefetch: lazy load", "site", text)
	}
	return nil
}

// beyond reports whether batch b would load a row or collection that the
// statement did not ask for and that is not loaded yet. Callers hold the
// store's lock.
func beyond(dc *dbCache, b *batch, p *plan) bool {
	asked := p.collVals
	if p.byKey {
		asked = p.keys
	}
	set := make(map[any]bool, len(asked))
	for _, v := range asked {
		set[v] = true
	}
	for _, v := range b.list[b.lo:b.hi] {
		if !set[v] && !dc.loaded(b, v) {
			return true
		}
	}
	return false
}

// what is what a lazy load loads, worked out under the store's lock.
type what struct {
	table    string
	model    *schema.Schema // the model touched one record at a time
	relation string
	cols     []string
	src      *scope // the scope the batch covers, for its origin
}

// whatOf tells what batch b loads for the statement, from where findBatch
// found its scope: a row's missing columns (its own scope), rows referenced
// by a scope of another table, or collections of a parent scope. Callers
// hold the store's lock.
func (st *state) whatOf(dc *dbCache, t *tableCache, p *plan, b *batch, m any) what {
	w := what{table: t.name}
	switch {
	case b.origin == nil:
	case b.via == "":
		// The rows' own scope: columns they lack.
		w.model, w.src = t.sch, b.src
		if e := t.rows[m]; e != nil {
			w.cols = missingCols(t, e, p)
		}
	default:
		w.model, w.src = b.origin.sch, b.src
		w.relation = relationTo(b.origin.sch, t.name, b.via, !b.byKey)
	}
	return w
}

// relationTo returns the name of sch's association to table through column
// col: a belongs-to whose foreign key sch holds (own false), or a has-one or
// has-many whose foreign key table holds (own true). GORM's own back
// references ("_Customer_Orders") are not associations a user can name.
func relationTo(sch *schema.Schema, table, col string, own bool) string {
	if sch == nil {
		return ""
	}
	var names []string
	for name, rel := range sch.Relationships.Relations {
		if name[0] == '_' || rel.FieldSchema == nil || rel.FieldSchema.Table != table || rel.JoinTable != nil || len(rel.References) != 1 {
			continue
		}
		ref := rel.References[0]
		if ref.ForeignKey != nil && ref.ForeignKey.DBName == col && ref.OwnPrimaryKey == own {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	if len(names) == 0 {
		return ""
	}
	return names[0]
}

// missingCols returns the Go names of the columns the statement asks that
// row e has not loaded; nil when they are unknown (every column).
func missingCols(t *tableCache, e *entry, p *plan) []string {
	names := p.cols
	if names == nil {
		names = t.starNames
	}
	var out []string
	for _, c := range names {
		if i, ok := t.colIdx[c]; ok && e.val(i) != unloaded {
			continue
		}
		if t.sch != nil {
			if f := t.sch.LookUpField(c); f != nil {
				c = f.Name
			}
		}
		out = append(out, c)
	}
	return out
}

// site returns the site of a lazy load at a call site: the one already
// recorded, or a new one, not yet recorded, with its fix.
func (in *insight) site(at callSite, w what) (s *Site, key siteKey) {
	key = siteKey{file: at.file, line: at.line, table: w.table, what: w.relation + fmt.Sprint(w.cols)}
	in.mu.Lock()
	if old := in.sites[key]; old != nil {
		in.mu.Unlock()
		return old, key
	}
	origin := in.origins[w.src]
	in.mu.Unlock()
	s = &Site{File: at.file, Line: at.line, Function: at.fn, Table: w.table, Relation: w.relation, Columns: w.cols}
	if w.model != nil {
		s.Model = w.model.Name
	}
	o, viaPreload := origin.site()
	s.OriginFile, s.OriginLine = o.file, o.line
	s.Fix = fixFor(s, o, viaPreload)
	return s, key
}

// answered counts a served statement at the site whose lazy batch loads
// loaded its rows: the statement that widened, the next ones of its loop,
// and any later statement those rows answered.
func (in *insight) answered(stmt *gorm.Statement, t *tableCache, p *plan) {
	in.mu.Lock()
	defer in.mu.Unlock()
	site := in.pending[stmt]
	if site != nil {
		delete(in.pending, stmt)
	} else {
		site = in.lazyFrom(t, p)
	}
	if site != nil {
		site.Statements++
	}
}

// lazyFrom returns the site whose lazy batch loads loaded one of the rows or
// collections a plan reads, or nil. Callers hold in.mu.
func (in *insight) lazyFrom(t *tableCache, p *plan) *Site {
	if len(in.lazy) == 0 {
		return nil
	}
	if p.byKey {
		if len(t.pk) != 1 {
			return nil
		}
		for _, k := range p.keys {
			if s := in.lazy[lazyKey{t, t.pk[0], k}]; s != nil {
				return s
			}
		}
		return nil
	}
	for _, v := range p.collVals {
		if s := in.lazy[lazyKey{t, p.collCol, v}]; s != nil {
			return s
		}
	}
	return nil
}

// batchLoaded counts a batch load's query at the site of the lazy statement
// that asked for it, and remembers what it loaded.
func (in *insight) batchLoaded(stmt *gorm.Statement, b *batch, vals []any, err error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	site := in.pending[stmt]
	if site == nil {
		return
	}
	site.Queries++
	if err != nil {
		return
	}
	for _, v := range vals {
		in.lazy[lazyKey{b.t, b.col, v}] = site
	}
}
