package prefetch

import (
	"database/sql"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
	"gorm.io/gorm/schema"
)

// assignModel has a field of every type the direct copy handles.
type assignModel struct {
	ID     int64
	I      int
	I8     int8
	I16    int16
	I32    int32
	U      uint
	U8     uint8
	U16    uint16
	U32    uint32
	U64    uint64
	F32    float32
	F64    float64
	S      string
	B      bool
	T      time.Time
	Bytes  []byte
	PI     *int
	PU8    *uint8
	PF32   *float32
	PS     *string
	PB     *bool
	PT     *time.Time
	NI64   sql.NullInt64
	NI32   sql.NullInt32
	NI16   sql.NullInt16
	NByte  sql.NullByte
	NF     sql.NullFloat64
	NS     sql.NullString
	NB     sql.NullBool
	NT     sql.NullTime
	Gone   gorm.DeletedAt
	Nested assignNested `gorm:"embedded"`
}

type assignNested struct {
	Inner int32
}

// assignCells are driver values of every kind the drivers return, with
// the edges of every integer and float range.
func assignCells() []any {
	t0 := time.Date(2024, 5, 6, 7, 8, 9, 10, time.FixedZone("X", 3600))
	return []any{
		nil, int64(0), int64(1), int64(-1), int64(2), int64(127), int64(128), int64(-128), int64(-129),
		int64(255), int64(256), int64(32767), int64(32768), int64(-32769), int64(65535), int64(65536),
		int64(math.MaxInt32), int64(math.MaxInt32 + 1), int64(math.MinInt32 - 1), int64(math.MaxUint32),
		int64(math.MaxUint32 + 1), int64(math.MaxInt64), int64(math.MinInt64), int64(1 << 24), int64(1<<24 + 1),
		int64(1 << 53), int64(1<<53 + 1),
		float64(0), float64(1.5), float64(0.1), float64(3), float64(-2.25), math.Inf(1), math.NaN(), float64(1e300),
		"", "12", "-3", "abc", "true", "1", "2024-05-06 07:08:09", "0x10",
		[]byte(nil), []byte{}, []byte("12"), []byte("xyz"), []byte("t"),
		true, false, t0, time.Time{},
	}
}

// TestDirectCopyIsWhatTheReplayStores copies every cell into every field
// both ways, into a struct holding earlier values (as First into a used
// struct) and into a fresh one: wherever the copy claims a cell fits, the
// replay through database/sql and gorm.Scan must succeed and store the
// same value; []byte results must not share the cell's memory.
func TestDirectCopyIsWhatTheReplayStores(t *testing.T) {
	db, err := gorm.Open(sqlite.Open("file::memory:"), &gorm.Config{Logger: logger.Discard})
	require.NoError(t, err)
	sch, err := schemaOf(db, &assignModel{})
	require.NoError(t, err)
	seven := 7
	used := func() assignModel {
		s, u8, f, b, tm := "old", uint8(9), float32(2), true, time.Unix(5, 0)
		return assignModel{I: 1, I8: 1, S: "old", B: true, T: tm, Bytes: []byte("old"), PI: &seven, PU8: &u8,
			PF32: &f, PS: &s, PB: &b, PT: &tm, NI64: sql.NullInt64{Int64: 3, Valid: true},
			NS: sql.NullString{String: "old", Valid: true}, NT: sql.NullTime{Time: tm, Valid: true},
			Gone: gorm.DeletedAt{Time: tm, Valid: true}, Nested: assignNested{Inner: 4}}
	}
	fitting := 0
	for _, field := range sch.Fields {
		for _, cell := range assignCells() {
			for _, start := range []assignModel{{}, used()} {
				cols := []string{field.DBName}
				f, ok := newRowFiller(sch, cols)
				require.True(t, ok, field.Name)
				row := []any{cell}
				if !f.fits(row) {
					continue
				}
				fitting++
				want, got := start, start
				tx := db.Session(&gorm.Session{NewDB: true})
				tx.Statement.Dest = &want
				tx.Statement.ReflectValue = reflect.ValueOf(&want).Elem()
				tx.Statement.Schema = sch
				scanInto(tx, &result{cols: cols, rows: [][]any{{cell}}})
				require.NoError(t, tx.Error, "%s <- %#v", field.Name, cell)
				f.fill(reflect.ValueOf(&got).Elem(), row)
				unNaN(&want)
				unNaN(&got)
				require.Equal(t, want, got, "%s <- %#v", field.Name, cell)
				if b, ok := cell.([]byte); ok && len(b) > 0 && got.Bytes != nil {
					require.NotSame(t, &b[0], &got.Bytes[0])
				}
			}
		}
	}
	require.Greater(t, fitting, 300)
}

// TestDirectCopyRefusesWhatItCannotProve: fields whose conversion GORM
// does through other paths are left to the replay.
func TestDirectCopyRefusesWhatItCannotProve(t *testing.T) {
	type id uint
	type other struct {
		ID    id
		Raw   sql.RawBytes
		JSON  []byte `gorm:"serializer:json"`
		Iface any    `gorm:"-"`
		PN    *sql.NullInt64
	}
	db, err := gorm.Open(sqlite.Open("file::memory:"), &gorm.Config{Logger: logger.Discard})
	require.NoError(t, err)
	sch, err := schemaOf(db, &other{})
	require.NoError(t, err)
	for _, col := range []string{"id", "raw", "json", "p_n", "missing"} {
		_, ok := newRowFiller(sch, []string{col})
		require.False(t, ok, col)
	}
	asch, err := schemaOf(db, &assignModel{})
	require.NoError(t, err)
	_, ok := newRowFiller(asch, []string{"i", "i"})
	require.False(t, ok, "a column named twice")
}

func schemaOf(db *gorm.DB, model any) (*schema.Schema, error) {
	stmt := &gorm.Statement{DB: db}
	err := stmt.Parse(model)
	return stmt.Schema, err
}

// unNaN replaces NaN, which equals nothing, itself included, by a number.
func unNaN(m *assignModel) {
	if math.IsNaN(m.F64) {
		m.F64 = 12345.5
	}
	if math.IsNaN(m.NF.Float64) {
		m.NF.Float64 = 12345.5
	}
}
