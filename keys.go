package prefetch

import (
	"database/sql/driver"
	"hash/maphash"
	"math"
	"reflect"
	"strconv"
	"strings"

	"gorm.io/gorm/schema"
)

// Keys of cached rows and of collections are normalized values: int64 for
// integer columns, string for text columns. A composite key is a string that
// joins its typed parts. Anything else (floats, blobs, times) is not a key:
// statements that would need one go to the database.

// keyClass is how a column's values compare in SQL, as far as the cache needs
// to know: integers compare as integers, strings byte by byte. Other classes
// are never used as keys.
type keyClass uint8

const (
	classOther keyClass = iota
	classInt
	classString
)

// classOf tells the key class of a schema field from its Go type.
func classOf(f *schema.Field) keyClass {
	t := f.IndirectFieldType
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return classInt
	case reflect.String:
		return classString
	}
	return classOther
}

// normValue turns a value from a condition or from a scanned row into its key
// form for a column of class c. ok is false when the value cannot be compared
// without the database's help (NULL, slices, floats, non-canonical numbers).
func normValue(v any, c keyClass) (any, bool) {
	for i := 0; i < 3; i++ {
		valuer, isValuer := v.(driver.Valuer)
		if !isValuer {
			break
		}
		if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && rv.IsNil() {
			return nil, false
		}
		var err error
		if v, err = valuer.Value(); err != nil {
			return nil, false
		}
	}
	switch x := v.(type) {
	case int64:
		return intKey(x, c)
	case string:
		return stringKey(x, c)
	case int:
		return intKey(int64(x), c)
	case nil:
		return nil, false
	}
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return nil, false
		}
		rv = rv.Elem()
	}
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return intKey(rv.Int(), c)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u := rv.Uint()
		if u > math.MaxInt64 {
			return nil, false
		}
		return intKey(int64(u), c)
	case reflect.String:
		return stringKey(rv.String(), c)
	}
	return nil, false
}

func intKey(i int64, c keyClass) (any, bool) {
	if c == classString {
		// The database would compare a number with a text column by its own
		// rules (SQLite converts, PostgreSQL refuses): let it.
		return nil, false
	}
	return i, true
}

func stringKey(s string, c keyClass) (any, bool) {
	if c != classInt {
		return s, true
	}
	// A string compared with an integer column: only its canonical decimal
	// form is certain to mean the same number on every database.
	i, err := strconv.ParseInt(s, 10, 64)
	if err != nil || strconv.FormatInt(i, 10) != s {
		return nil, false
	}
	return i, true
}

// compositeKey joins normalized parts into one comparable key whose byte
// order is the order of its parts, part by part: integers are written as
// 16 hex digits with the sign bit flipped, strings with their zero bytes
// escaped and a terminator, so that no part's encoding is a prefix of
// another's.
func compositeKey(parts []any) any {
	if len(parts) == 1 {
		return parts[0]
	}
	var b strings.Builder
	for _, p := range parts {
		switch x := p.(type) {
		case int64:
			var buf [17]byte
			buf[0] = 'i'
			u := uint64(x) ^ 1<<63
			for i := 16; i > 0; i-- {
				buf[i] = "0123456789abcdef"[u&15]
				u >>= 4
			}
			b.Write(buf[:])
		case string:
			b.WriteByte('s')
			for i := 0; i < len(x); i++ {
				b.WriteByte(x[i])
				if x[i] == 0 {
					b.WriteByte(0xff)
				}
			}
			b.WriteString("\x00\x01")
		}
	}
	return b.String()
}

var hashSeed = maphash.MakeSeed()

// hashKey spreads a key over the generation buckets of its table. Text
// keys are folded first (case, trailing blanks, the punctuation of a uuid)
// so that spellings a database may hold equal (a case-insensitive
// collation, char(n) padding, uuid in upper case) share a bucket: a write
// by one spelling stamps rows cached under another.
func hashKey(k any) uint64 {
	switch x := k.(type) {
	case int64:
		h := uint64(x) * 0x9E3779B97F4A7C15
		return h ^ (h >> 29)
	case string:
		return maphash.String(hashSeed, foldKey(x))
	}
	return 0
}

func foldKey(s string) string {
	s = strings.TrimRight(strings.ToLower(s), " ")
	if strings.ContainsAny(s, "-{}") {
		s = strings.Map(func(r rune) rune {
			if r == '-' || r == '{' || r == '}' {
				return -1
			}
			return r
		}, s)
	}
	return s
}
