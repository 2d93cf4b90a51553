package prefetch

import (
	"bytes"
	"database/sql"
	"math"
	"reflect"
	"strconv"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"
)

// The direct copy (the shared assigner of served reads and Load): cached
// rows are copied into the fields of a model without the replay through
// database/sql that replay.go does. It is used only where the copy is
// provably what gorm.Scan would have stored.
//
// What gorm.Scan does for a field, in GORM v1.31.2: it scans the driver
// value into a **T (T the field's type with pointers removed, from the
// field's NewValuePool) with database/sql's convertAssign, then calls
// field.Set with that **T. So:
//   - NULL never fails the scan (it sets the *T to nil); field.Set then
//     leaves an integer, float, string, bool, time.Time, sql.Null* or
//     *time.Time field as it was, and sets a []byte or other pointer field
//     to nil;
//   - a value is converted into a fresh T by convertAssign: the copy below
//     accepts only driver values whose conversion is exact and cannot fail
//     (an int64 in the range of the field's integer type, a float64 a
//     float32 holds exactly, ...); any other value (a string in an integer
//     column, an out-of-range number) makes fits false, and the caller
//     replays the whole statement so that database/sql reports the error
//     or does the conversion itself;
//   - []byte values are copied, so a result never shares memory with the
//     cache (strings and time.Time values are immutable and shared).
//
// Only exact builtin types are handled (int, int8..int64, uint,
// uint8..uint64, float32, float64, string, bool, []byte, time.Time, the
// sql.Null* types, gorm.DeletedAt, and pointers to the builtin scalars and
// time.Time): field.Set takes other paths for named types (type ID uint),
// serializers, Scanners and fields reached through embedded pointers, and
// those are left to the replay.

// rowFiller copies cached rows, whose columns are named by the cols it was
// made for, into values of one model type.
type rowFiller struct {
	cols []fillCol // one per column, in the order of the row's cells
}

// fillCol is where one column goes and how its values are converted.
type fillCol struct {
	index []int    // struct field index path (no embedded pointers)
	kind  fillKind // the field's type with pointers and sql.Null* removed
	wrap  fillWrap // plain, pointer, or sql.Null*
	typ   reflect.Type
	min   int64 // integer kinds: the range of the type
	max   uint64
}

type fillKind uint8

const (
	fillInt fillKind = iota + 1
	fillUint
	fillFloat64
	fillFloat32
	fillString
	fillBool
	fillTime
	fillBytes
)

type fillWrap uint8

const (
	wrapNone    fillWrap = iota // the field holds T
	wrapPtr                     // the field holds *T
	wrapNull                    // the field is a sql.Null* (or gorm.DeletedAt)
	wrapPtrTime                 // the field is *time.Time: field.Set leaves it on NULL
)

// fillTypes are the builtin types the copy handles, with their kind and,
// for integers, their bit size.
var fillTypes = map[reflect.Type]struct {
	kind fillKind
	bits int
}{
	reflect.TypeFor[int]():       {fillInt, strconv.IntSize},
	reflect.TypeFor[int8]():      {fillInt, 8},
	reflect.TypeFor[int16]():     {fillInt, 16},
	reflect.TypeFor[int32]():     {fillInt, 32},
	reflect.TypeFor[int64]():     {fillInt, 64},
	reflect.TypeFor[uint]():      {fillUint, strconv.IntSize},
	reflect.TypeFor[uint8]():     {fillUint, 8},
	reflect.TypeFor[uint16]():    {fillUint, 16},
	reflect.TypeFor[uint32]():    {fillUint, 32},
	reflect.TypeFor[uint64]():    {fillUint, 64},
	reflect.TypeFor[float32]():   {fillFloat32, 32},
	reflect.TypeFor[float64]():   {fillFloat64, 64},
	reflect.TypeFor[string]():    {fillString, 0},
	reflect.TypeFor[bool]():      {fillBool, 0},
	reflect.TypeFor[time.Time](): {fillTime, 0},
}

// nullTypes are the sql.Null* types (and gorm.DeletedAt, a sql.NullTime
// with its own Scan that calls sql.NullTime's) with the type of their value.
var nullTypes = map[reflect.Type]reflect.Type{
	reflect.TypeFor[sql.NullInt64]():   reflect.TypeFor[int64](),
	reflect.TypeFor[sql.NullInt32]():   reflect.TypeFor[int32](),
	reflect.TypeFor[sql.NullInt16]():   reflect.TypeFor[int16](),
	reflect.TypeFor[sql.NullByte]():    reflect.TypeFor[uint8](),
	reflect.TypeFor[sql.NullFloat64](): reflect.TypeFor[float64](),
	reflect.TypeFor[sql.NullString]():  reflect.TypeFor[string](),
	reflect.TypeFor[sql.NullBool]():    reflect.TypeFor[bool](),
	reflect.TypeFor[sql.NullTime]():    reflect.TypeFor[time.Time](),
	reflect.TypeFor[gorm.DeletedAt]():  reflect.TypeFor[time.Time](),
}

var bytesType = reflect.TypeFor[[]byte]()

// newRowFiller returns the filler of rows with columns cols into values of
// sch.ModelType, or false when some column cannot be copied exactly: it
// names no readable field, names one twice, or its field has a type, a
// serializer or a path the copy does not handle.
func newRowFiller(sch *schema.Schema, cols []string) (*rowFiller, bool) {
	if sch == nil {
		return nil, false
	}
	f := &rowFiller{cols: make([]fillCol, len(cols))}
	for i, name := range cols {
		field := sch.LookUpField(name)
		if field == nil || !field.Readable || field.Serializer != nil || field.DBName != name {
			return nil, false
		}
		for _, prev := range cols[:i] {
			if prev == name {
				return nil, false // gorm.Scan pairs duplicates with fields of the same name
			}
		}
		for _, x := range field.StructField.Index {
			if x < 0 {
				return nil, false // reached through an embedded pointer
			}
		}
		c, ok := fillColOf(field.FieldType)
		if !ok {
			return nil, false
		}
		c.index = field.StructField.Index
		f.cols[i] = c
	}
	return f, true
}

// fillColOf tells how values are copied into a field of type t.
func fillColOf(t reflect.Type) (fillCol, bool) {
	c := fillCol{typ: t}
	switch {
	case t == bytesType:
		c.kind = fillBytes
		return c, true
	case nullTypes[t] != nil:
		c.wrap, t = wrapNull, nullTypes[t]
	case t.Kind() == reflect.Pointer:
		c.wrap, t = wrapPtr, t.Elem()
	}
	ft, ok := fillTypes[t]
	if !ok {
		return c, false
	}
	c.kind = ft.kind
	if c.wrap == wrapPtr && ft.kind == fillTime {
		c.wrap = wrapPtrTime
	}
	switch ft.kind {
	case fillInt:
		c.min, c.max = -1<<(ft.bits-1), 1<<(ft.bits-1)-1
	case fillUint:
		c.max = math.MaxUint64 >> (64 - ft.bits)
	}
	return c, true
}

// fits reports whether every cell of row converts into its field exactly
// and without error, as convertAssign would.
func (f *rowFiller) fits(row []any) bool {
	if len(row) != len(f.cols) {
		return false
	}
	for i := range f.cols {
		if row[i] != nil && !f.cols[i].fits(row[i]) {
			return false
		}
	}
	return true
}

func (c *fillCol) fits(v any) bool {
	switch c.kind {
	case fillInt:
		x, ok := v.(int64)
		return ok && x >= c.min && (x < 0 || uint64(x) <= c.max)
	case fillUint:
		x, ok := v.(int64)
		return ok && x >= 0 && uint64(x) <= c.max
	case fillFloat64:
		switch x := v.(type) {
		case float64:
			return true
		case int64:
			return x >= -1<<53 && x <= 1<<53 // exact as a float64 either way
		}
	case fillFloat32:
		switch x := v.(type) {
		case float64:
			return float64(float32(x)) == x // ParseFloat(…, 32) gives the same float32
		case int64:
			return x >= -1<<24 && x <= 1<<24
		}
	case fillString, fillBytes:
		switch v.(type) {
		case string, []byte:
			return true
		case int64:
			return c.kind == fillString
		}
	case fillBool:
		switch x := v.(type) {
		case bool:
			return true
		case int64:
			return x == 0 || x == 1 // driver.Bool refuses other integers
		}
	case fillTime:
		_, ok := v.(time.Time)
		return ok
	}
	return false
}

// fill copies row into rv, an addressable struct of the filler's model
// type, as gorm.Scan would have. The row must fit.
func (f *rowFiller) fill(rv reflect.Value, row []any) {
	for i := range f.cols {
		c := &f.cols[i]
		var fv reflect.Value
		if len(c.index) == 1 {
			fv = rv.Field(c.index[0])
		} else {
			fv = rv.FieldByIndex(c.index)
		}
		c.set(fv, row[i])
	}
}

// set stores v into the field fv.
func (c *fillCol) set(fv reflect.Value, v any) {
	if v == nil {
		switch {
		case c.kind == fillBytes, c.wrap == wrapPtr:
			fv.SetZero()
		}
		return // field.Set leaves every other field as it was
	}
	switch c.wrap {
	case wrapNone:
		setValue(fv, c.kind, v)
	case wrapPtr, wrapPtrTime:
		p := reflect.New(c.typ.Elem())
		setValue(p.Elem(), c.kind, v)
		fv.Set(p)
	case wrapNull:
		setNull(fv, c.kind, v)
	}
}

// setValue stores v, converted, into fv, a field of a builtin type of kind k.
func setValue(fv reflect.Value, k fillKind, v any) {
	switch k {
	case fillInt:
		fv.SetInt(v.(int64))
	case fillUint:
		fv.SetUint(uint64(v.(int64)))
	case fillFloat64, fillFloat32:
		if x, ok := v.(int64); ok {
			fv.SetFloat(float64(x))
		} else {
			fv.SetFloat(v.(float64))
		}
	case fillString:
		switch x := v.(type) {
		case string:
			fv.SetString(x)
		case []byte:
			fv.SetString(string(x))
		case int64:
			fv.SetString(strconv.FormatInt(x, 10))
		}
	case fillBool:
		if x, ok := v.(int64); ok {
			fv.SetBool(x == 1)
		} else {
			fv.SetBool(v.(bool))
		}
	case fillTime:
		*fv.Addr().Interface().(*time.Time) = v.(time.Time)
	case fillBytes:
		switch x := v.(type) {
		case []byte:
			fv.SetBytes(bytes.Clone(x)) // an empty value stays empty, not nil
		case string:
			fv.SetBytes([]byte(x))
		}
	}
}

// setNull stores v into fv, a sql.Null* field (or gorm.DeletedAt), as its
// Scan method does: the value, and Valid.
func setNull(fv reflect.Value, k fillKind, v any) {
	switch p := fv.Addr().Interface().(type) {
	case *sql.NullTime:
		*p = sql.NullTime{Time: v.(time.Time), Valid: true}
	case *gorm.DeletedAt:
		*p = gorm.DeletedAt{Time: v.(time.Time), Valid: true}
	default:
		// NullInt64{Int64, Valid}, NullString{String, Valid}...: the
		// value is the first field, Valid the second.
		setValue(fv.Field(0), k, v)
		fv.Field(1).SetBool(true)
	}
}
