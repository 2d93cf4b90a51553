package prefetch

import (
	"reflect"
	"sync"
	"sync/atomic"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"
)

// copyInto stores served rows into the statement's destination as gorm.Scan
// (called by gorm:query with mode 0) would from the real rows, copying
// each row with the direct copy of assign.go. It reports false, having
// changed nothing, when it cannot prove the copy exact: a destination other
// than the model's struct or a slice of it (or of pointers to it), a
// column or a value the copy does not handle, an error the rows must
// report, or the test switch forcing the replay. The caller then replays.
func copyInto(db *gorm.DB, res *result) bool {
	stmt := db.Statement
	sch := stmt.Schema
	if forceReplay.Load() || res.err != nil || sch == nil || len(stmt.ColumnMapping) > 0 {
		return false
	}
	rv := stmt.ReflectValue
	var elem reflect.Type
	isPtr := false
	switch rv.Kind() {
	case reflect.Struct:
		elem = rv.Type()
	case reflect.Slice:
		elem = rv.Type().Elem()
		if isPtr = elem.Kind() == reflect.Pointer; isPtr {
			elem = elem.Elem()
		}
	default:
		return false
	}
	if elem != sch.ModelType || !rv.CanSet() || len(res.cols) == 1 && sch.ModelType.ConvertibleTo(schema.TimeReflectType) {
		return false // gorm.Scan re-parses the schema, or plucks one column
	}
	f := res.filler
	if f == nil {
		f = fillerFor(sch, res.cols)
	}
	if f == nil {
		return false
	}
	for _, row := range res.rows {
		if !f.fits(row) {
			return false
		}
	}

	db.RowsAffected = 0
	if rv.Kind() == reflect.Struct {
		if len(res.rows) > 0 {
			db.RowsAffected++
			f.fill(rv, res.rows[0])
		}
	} else {
		// As gorm.Scan: a slice with no capacity gets a fresh one of 20,
		// any other is emptied and reused, and rows are appended one by one.
		if rv.Cap() == 0 {
			rv.Set(reflect.MakeSlice(rv.Type(), 0, 20))
		} else {
			rv.SetLen(0)
		}
		s := rv
		for _, row := range res.rows {
			e := reflect.New(elem)
			db.RowsAffected++
			f.fill(e.Elem(), row)
			if !isPtr {
				e = e.Elem()
			}
			s = reflect.Append(s, e)
		}
		rv.Set(s)
	}
	if db.RowsAffected == 0 && stmt.RaiseErrorOnNotFound && db.Error == nil {
		db.AddError(gorm.ErrRecordNotFound)
	}
	if stmt.Result != nil {
		stmt.Result.RowsAffected = db.RowsAffected
	}
	return true
}

// forceReplay, set by tests (export_test.go), sends every served result
// through the replay: the reference the direct copy is compared with.
var forceReplay atomic.Bool

// fillers keeps the row filler of each model and column list; a nil
// filler records that the copy cannot handle them.
var fillers struct {
	mu sync.RWMutex                             // protects m
	m  map[*schema.Schema]map[string]*rowFiller // by schema, then by column names joined with NUL
}

// fillerFor returns the filler of rows with columns cols into sch's model,
// or nil.
func fillerFor(sch *schema.Schema, cols []string) *rowFiller {
	var buf [256]byte
	key := buf[:0]
	for _, c := range cols {
		key = append(append(key, c...), 0)
	}
	fillers.mu.RLock()
	f, ok := fillers.m[sch][string(key)] // no allocation: the compiler looks the bytes up
	fillers.mu.RUnlock()
	if ok {
		return f
	}
	f, _ = newRowFiller(sch, cols)
	fillers.mu.Lock()
	defer fillers.mu.Unlock()
	if fillers.m == nil {
		fillers.m = map[*schema.Schema]map[string]*rowFiller{}
	}
	if fillers.m[sch] == nil {
		fillers.m[sch] = map[string]*rowFiller{}
	}
	fillers.m[sch][string(key)] = f
	return f
}
