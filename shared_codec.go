package prefetch

import (
	"encoding/binary"
	"errors"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Shared rows are encoded compactly and versioned: a version byte, the
// number of columns, then each column's name and value as the driver
// returned it (see capture in replay.go). A value of a type the encoding
// does not know is not filled; a value that does not decode is a miss.
//
// Times keep their location as the driver returned it: UTC, Local (the
// reading process's, as its driver would return it), a fixed offset with
// its name, or a named location loaded by name.

const codecVersion = 1

const (
	tagNil = iota
	tagInt
	tagFloat
	tagFalse
	tagTrue
	tagBytes
	tagString
	tagTimeUTC
	tagTimeLocal
	tagTimeFixed
	tagTimeNamed
)

var errCodec = errors.New("prefetch: shared row does not decode")

// encodeRow encodes one row, or reports false for a value it cannot encode.
func encodeRow(cols []string, row []any) ([]byte, bool) {
	b := make([]byte, 0, 16+len(cols)*12)
	b = append(b, codecVersion)
	b = binary.AppendUvarint(b, uint64(len(cols)))
	for i, c := range cols {
		b = appendString(b, c)
		switch v := row[i].(type) {
		case nil:
			b = append(b, tagNil)
		case int64:
			b = binary.AppendVarint(append(b, tagInt), v)
		case float64:
			b = binary.LittleEndian.AppendUint64(append(b, tagFloat), math.Float64bits(v))
		case bool:
			if v {
				b = append(b, tagTrue)
			} else {
				b = append(b, tagFalse)
			}
		case []byte:
			b = appendBytes(append(b, tagBytes), v)
		case string:
			b = appendString(append(b, tagString), v)
		case time.Time:
			var ok bool
			if b, ok = appendTime(b, v); !ok {
				return nil, false
			}
		default:
			return nil, false
		}
	}
	return b, true
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func appendBytes(b, s []byte) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func appendTime(b []byte, t time.Time) ([]byte, bool) {
	loc := t.Location()
	name, off := t.Zone()
	switch {
	case loc == time.UTC:
		b = append(b, tagTimeUTC)
	case loc == time.Local:
		b = append(b, tagTimeLocal)
	case loc.String() == name || loc.String() == "":
		// A fixed zone (time.FixedZone names its location after its
		// only zone; an unnamed one has no name at all).
		b = appendString(append(b, tagTimeFixed), name)
		b = binary.AppendVarint(b, int64(off))
	default:
		if _, err := loadLocation(loc.String()); err != nil {
			return nil, false
		}
		b = appendString(append(b, tagTimeNamed), loc.String())
	}
	b = binary.AppendVarint(b, t.Unix())
	return binary.AppendUvarint(b, uint64(t.Nanosecond())), true
}

var locations sync.Map // name -> *time.Location

func loadLocation(name string) (*time.Location, error) {
	if l, ok := locations.Load(name); ok {
		return l.(*time.Location), nil
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	locations.Store(name, l)
	return l, nil
}

// decoder reads an encoded row.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) byte() byte {
	if d.err != nil || len(d.b) == 0 {
		d.err = errCodec
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errCodec
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errCodec
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) raw() []byte {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)) {
		d.err = errCodec
		return nil
	}
	s := d.b[:n:n]
	d.b = d.b[n:]
	return s
}

// decodeRow decodes a row encoded by encodeRow. Values never share memory
// with b.
func decodeRow(b []byte) (cols []string, row []any, err error) {
	d := &decoder{b: b}
	if d.byte() != codecVersion {
		return nil, nil, errCodec
	}
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)) {
		return nil, nil, errCodec
	}
	cols, row = make([]string, n), make([]any, n)
	for i := range cols {
		cols[i] = string(d.raw())
		switch tag := d.byte(); tag {
		case tagNil:
		case tagInt:
			row[i] = d.varint()
		case tagFloat:
			if len(d.b) < 8 {
				return nil, nil, errCodec
			}
			row[i] = math.Float64frombits(binary.LittleEndian.Uint64(d.b))
			d.b = d.b[8:]
		case tagFalse, tagTrue:
			row[i] = tag == tagTrue
		case tagBytes:
			row[i] = append([]byte{}, d.raw()...)
		case tagString:
			row[i] = string(d.raw())
		case tagTimeUTC, tagTimeLocal, tagTimeFixed, tagTimeNamed:
			row[i] = d.time(tag)
		default:
			return nil, nil, errCodec
		}
		if d.err != nil {
			return nil, nil, d.err
		}
	}
	if len(d.b) != 0 {
		return nil, nil, errCodec
	}
	return cols, row, nil
}

func (d *decoder) time(tag byte) time.Time {
	var loc *time.Location
	switch tag {
	case tagTimeFixed:
		name := string(d.raw())
		loc = time.FixedZone(name, int(d.varint()))
	case tagTimeNamed:
		l, err := loadLocation(string(d.raw()))
		if err != nil {
			d.err = errCodec
			return time.Time{}
		}
		loc = l
	}
	sec, nsec := d.varint(), d.uvarint()
	if d.err != nil || nsec >= 1e9 {
		d.err = errCodec
		return time.Time{}
	}
	t := time.Unix(sec, int64(nsec))
	switch tag {
	case tagTimeUTC:
		return t.UTC()
	case tagTimeLocal:
		return t
	}
	return t.In(loc)
}

// sharedKey is a normalized key of a table with parts key columns as the
// store names it. Text keys are folded (see foldKey), the text parts of a
// composite key each on its own, so that an invalidation by one spelling
// reaches the row filled under another; a read checks the row's own key.
func sharedKey(k any, parts int) string {
	switch x := k.(type) {
	case int64:
		return "i" + strconv.FormatInt(x, 10)
	case string:
		if parts > 1 {
			if f, ok := foldComposite(x); ok {
				return "c" + f
			}
			return ""
		}
		return "s" + foldKey(x)
	}
	return ""
}

// foldComposite folds the text parts of a composite key (compositeKey's
// encoding); ok is false for a string that is not one.
func foldComposite(k string) (string, bool) {
	var b strings.Builder
	for len(k) > 0 {
		switch k[0] {
		case 'i':
			if len(k) < 17 {
				return "", false
			}
			b.WriteString(k[:17])
			k = k[17:]
		case 's':
			var part []byte
			i := 1
			for ; i < len(k); i++ {
				if k[i] != 0 {
					part = append(part, k[i])
					continue
				}
				if i+1 < len(k) && k[i+1] == 0xff {
					part = append(part, 0)
					i++
					continue
				}
				break
			}
			if i+1 >= len(k) || k[i+1] != 1 {
				return "", false
			}
			f := foldKey(string(part))
			b.WriteByte('s')
			for j := 0; j < len(f); j++ {
				b.WriteByte(f[j])
				if f[j] == 0 {
					b.WriteByte(0xff)
				}
			}
			b.WriteString("\x00\x01")
			k = k[i+2:]
		default:
			return "", false
		}
	}
	return b.String(), true
}
