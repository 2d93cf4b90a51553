package prefetch

import (
	"reflect"
	"sync"
	"sync/atomic"

	"gorm.io/gorm"
	"gorm.io/gorm/callbacks"
	"gorm.io/gorm/schema"
)

// What Load's fast path (load_fast.go) knows of an association, worked
// out once per model and name, and of the query chain it stands in for.

// fastRel is what the fast path knows of one association of a model,
// worked out once.
type fastRel struct {
	ok      bool
	rel     *schema.Relationship
	related *schema.Schema
	own     *schema.Field // field of the records holding the matched values
	col     *schema.Field // column of the related table they are matched with
	cls     keyClass
	byKey   bool   // col is the related table's primary key
	many    bool   // has-many: the field is a slice
	ptr     bool   // the field (or its slice's elements) holds pointers
	soft    string // the related table's soft-delete column, "" when none
	fill    atomic.Pointer[fastFill]
}

// fastFill is the direct copy for one list of columns.
type fastFill struct {
	cols []string
	f    *rowFiller
	pos  int // index of the matched column in cols; -1 when absent
}

// fastRels caches fastRel by model and association name.
var fastRels struct {
	mu sync.RWMutex
	m  map[*schema.Schema]map[string]*fastRel
}

// fastRelOf returns what the fast path knows of sch's association name.
func fastRelOf(sch *schema.Schema, name string) *fastRel {
	fastRels.mu.RLock()
	fr := fastRels.m[sch][name]
	fastRels.mu.RUnlock()
	if fr != nil {
		return fr
	}
	fr = newFastRel(sch, name)
	fastRels.mu.Lock()
	defer fastRels.mu.Unlock()
	if fastRels.m == nil {
		fastRels.m = map[*schema.Schema]map[string]*fastRel{}
	}
	if fastRels.m[sch] == nil {
		fastRels.m[sch] = map[string]*fastRel{}
	}
	if old := fastRels.m[sch][name]; old != nil {
		return old
	}
	fastRels.m[sch][name] = fr
	return fr
}

// newFastRel works out whether association name of sch can take the fast
// path, and how.
func newFastRel(sch *schema.Schema, name string) *fastRel {
	fr := &fastRel{}
	if sch.Relationships.EmbeddedRelations[name] != nil {
		return fr // preloaded through the embedded struct's relations
	}
	rel := sch.Relationships.Relations[name]
	if rel == nil || rel.JoinTable != nil || rel.Polymorphic != nil || len(rel.References) != 1 ||
		rel.FieldSchema == nil || rel.Field == nil {
		return fr
	}
	ref := rel.References[0]
	if ref.PrimaryValue != "" || ref.PrimaryKey == nil || ref.ForeignKey == nil {
		return fr
	}
	fr.rel, fr.related = rel, rel.FieldSchema
	switch rel.Type {
	case schema.BelongsTo:
		if ref.OwnPrimaryKey {
			return fr
		}
		fr.own, fr.col = ref.ForeignKey, ref.PrimaryKey
	case schema.HasOne, schema.HasMany:
		if !ref.OwnPrimaryKey {
			return fr
		}
		fr.own, fr.col = ref.PrimaryKey, ref.ForeignKey
	default:
		return fr
	}
	if fr.col.Schema != fr.related || fr.col.DBName == "" || fr.related.FieldsByDBName[fr.col.DBName] != fr.col ||
		len(fr.related.PrimaryFields) == 0 || fr.related.Table == "" {
		return fr
	}
	fr.cls = classOf(fr.col)
	if fr.cls == classOther || classOf(fr.own) != fr.cls || !plainKeyType(fr.own) || !plainKeyType(fr.col) {
		return fr
	}
	fr.byKey = len(fr.related.PrimaryFields) == 1 && fr.related.PrimaryFields[0] == fr.col
	if !directPath(rel.Field) {
		return fr
	}
	model := fr.related.ModelType
	ft := rel.Field.FieldType
	if rel.Type == schema.HasMany {
		if ft.Kind() != reflect.Slice {
			return fr
		}
		fr.many = true
		ft = ft.Elem()
	}
	switch {
	case ft == model:
	case ft.Kind() == reflect.Pointer && ft.Elem() == model:
		fr.ptr = true
	default:
		return fr
	}
	for _, c := range fr.related.QueryClauses {
		sd, ok := c.(gorm.SoftDeleteQueryClause)
		if !ok || sd.ZeroValue.Valid || sd.Field == nil || fr.soft != "" {
			return fr
		}
		fr.soft = sd.Field.DBName
	}
	fr.ok = true
	return fr
}

// plainKeyType reports whether a key field holds a builtin integer or
// string, or a pointer to one: types whose values GORM's preload matches
// by their decimal or literal form, as the cache's keys are.
func plainKeyType(f *schema.Field) bool {
	t := f.FieldType
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.PkgPath() == "" && t.Name() != "" && classOf(f) != classOther
}

// directPath reports whether a field is reached without embedded pointers,
// so that it can be set in place.
func directPath(f *schema.Field) bool {
	for _, i := range f.StructField.Index {
		if i < 0 {
			return false
		}
	}
	return true
}

// fillFor returns the direct copy of rows with columns cols into the
// related model, or nil when some column cannot be copied exactly.
func (fr *fastRel) fillFor(cols []string) *fastFill {
	if ff := fr.fill.Load(); ff != nil && sameCols(ff.cols, cols) {
		return ff
	}
	f, ok := newRowFiller(fr.related, cols)
	if !ok {
		return nil
	}
	ff := &fastFill{cols: cols, f: f, pos: -1}
	for i, c := range cols {
		if c == fr.col.DBName {
			ff.pos = i
		}
	}
	fr.fill.Store(ff)
	return ff
}

func sameCols(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) > 0 && &a[0] == &b[0] {
		return true
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// chains caches, by query processor, whether its compiled chain is exactly
// GORM's own query callbacks and the plugin's: then a statement the plugin
// serves runs nothing else, and the fast path may stand in for it.
var chains sync.Map // *processor -> *chainCheck

type chainCheck struct {
	fns uintptr // the compiled chain checked (its backing array)
	n   int
	ok  bool
}

// plainQueryFns is set by init: a variable's initializer cannot refer to
// the callbacks that read it.
var plainQueryFns map[uintptr]bool

func init() {
	var st *state
	plainQueryFns = map[uintptr]bool{
		reflect.ValueOf(st.queryCallback).Pointer():     true,
		reflect.ValueOf(callbacks.Preload).Pointer():    true,
		reflect.ValueOf(callbacks.AfterQuery).Pointer(): true,
		reflect.ValueOf(noteFailure).Pointer():          true,
		reflect.ValueOf(st.markServed).Pointer():        true,
	}
}

// fnsIndex is the index path of the fns field (the chain's compiled
// callbacks) in GORM's processor type, looked up by name once: FieldByName
// walks the struct's fields on every call, and the served path reads the
// chain on every statement.
var fnsIndex struct {
	once sync.Once
	idx  []int // nil when the processor has no fns field
}

// processorFns returns the fns field of a GORM callback processor, or the
// zero Value when the processor has none.
func processorFns(proc any) reflect.Value {
	v := reflect.ValueOf(proc).Elem()
	fnsIndex.once.Do(func() {
		if f, ok := v.Type().FieldByName("fns"); ok {
			fnsIndex.idx = f.Index
		}
	})
	if fnsIndex.idx == nil {
		return reflect.Value{}
	}
	return v.FieldByIndex(fnsIndex.idx)
}

// plainQueryChain reports whether db's query chain runs only GORM's own
// callbacks (gorm:query as the plugin wraps it, gorm:preload,
// gorm:after_query) and the plugin's.
func plainQueryChain(db *gorm.DB) bool {
	proc := db.Callback().Query()
	fv := processorFns(proc)
	if !fv.IsValid() || fv.Kind() != reflect.Slice {
		return false
	}
	ptr, n := fv.Pointer(), fv.Len()
	if c, ok := chains.Load(proc); ok {
		if c := c.(*chainCheck); c.fns == ptr && c.n == n {
			return c.ok
		}
	}
	ok := n == len(plainQueryFns)
	seen := map[uintptr]bool{}
	for i := 0; ok && i < n; i++ {
		p := fv.Index(i).Pointer()
		ok = plainQueryFns[p] && !seen[p]
		seen[p] = true
	}
	chains.Store(proc, &chainCheck{fns: ptr, n: n, ok: ok})
	return ok
}

// ownKey returns the key a record's own field asks for, as records does:
// zero when the field is zero (it asks for nothing), ok false when GORM
// would match the value in a form the cache's keys do not follow. A plain
// integer field is read without boxing its value twice.
func (fr *fastRel) ownKey(db *gorm.DB, rec reflect.Value) (k any, zero, ok bool) {
	if idx := fr.own.StructField.Index; len(idx) == 1 && fr.cls == classInt {
		switch f := rec.Field(idx[0]); f.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			if n := f.Int(); n != 0 {
				return n, false, true
			}
			return nil, true, false
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			if n := f.Uint(); n != 0 {
				return int64(n), false, n <= 1<<63-1
			}
			return nil, true, false
		}
	}
	raw, zero := fr.own.ValueOf(db.Statement.Context, rec)
	if zero {
		return nil, true, false
	}
	k, ok = normValue(raw, fr.cls)
	return k, false, ok && k != int64(0) && k != ""
}
