package prefetch

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSharedRowsDecodeToTheDriverValuesTheyWereEncodedFrom(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		paris = time.FixedZone("CET", 3600) // no tzdata: the fixed case again
	}
	at := time.Date(2026, 3, 29, 1, 30, 0, 123456789, time.UTC)
	cols := []string{"nil", "int", "neg", "float", "false", "true", "bytes", "empty", "string", "utc", "local", "fixed", "unnamed", "named"}
	row := []any{nil, int64(1) << 62, int64(-7), 3.25, false, true, []byte{0, 1, 0xff}, []byte{}, "héllo\x00",
		at, at.Local(), at.In(time.FixedZone("+02", 7200)), at.In(time.FixedZone("", -3600)), at.In(paris)}
	b, ok := encodeRow(cols, row)
	require.True(t, ok)
	gotCols, got, err := decodeRow(b)
	require.NoError(t, err)
	require.Equal(t, cols, gotCols)
	require.Equal(t, row, got)
	for i := 9; i < len(row); i++ {
		want, have := row[i].(time.Time), got[i].(time.Time)
		require.True(t, want.Equal(have))
		require.Equal(t, want.Location().String(), have.Location().String(), cols[i])
		wn, wo := want.Zone()
		hn, ho := have.Zone()
		require.Equal(t, [2]any{wn, wo}, [2]any{hn, ho}, cols[i])
	}
	require.True(t, got[9].(time.Time).Location() == time.UTC)
	require.True(t, got[10].(time.Time).Location() == time.Local)
	// Decoded bytes never share the encoded buffer.
	got[6].([]byte)[0] = 9
	_, again, err := decodeRow(b)
	require.NoError(t, err)
	require.Equal(t, []byte{0, 1, 0xff}, again[6])
}

func TestSharedRowsOfUnknownTypesAreNotFilled(t *testing.T) {
	_, ok := encodeRow([]string{"x"}, []any{int32(1)})
	require.False(t, ok)
	_, ok = encodeRow([]string{"x"}, []any{struct{}{}})
	require.False(t, ok)
}

func TestSharedRowsThatDoNotDecodeAreMisses(t *testing.T) {
	b, ok := encodeRow([]string{"id", "name", "at"}, []any{int64(1), "x", time.Unix(5, 6).UTC()})
	require.True(t, ok)
	for n := range len(b) {
		_, _, err := decodeRow(b[:n])
		require.Error(t, err, "truncated at %d", n)
	}
	_, _, err := decodeRow(append(append([]byte{}, b...), 0))
	require.Error(t, err, "trailing byte")
	bad := append([]byte{}, b...)
	bad[0] = 99
	_, _, err = decodeRow(bad)
	require.Error(t, err, "another version")
	_, _, err = decodeRow([]byte{codecVersion, 0xff, 0xff, 0xff, 0xff, 0x0f})
	require.Error(t, err, "a column count past the input")
}

func FuzzSharedRowDecodeNeverPanics(f *testing.F) {
	b, _ := encodeRow([]string{"id", "t"}, []any{int64(1), time.Unix(1, 2).In(time.FixedZone("x", 60))})
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) { _, _, _ = decodeRow(b) })
}

func TestSharedKeysFoldEachTextPartOfACompositeKey(t *testing.T) {
	padded := compositeKey([]any{"AB  ", int64(1), "x\x00y "})
	plain := compositeKey([]any{"ab", int64(1), "x\x00y"})
	require.NotEqual(t, padded, plain)
	require.Equal(t, sharedKey(padded, 3), sharedKey(plain, 3))
	require.NotEqual(t, sharedKey(plain, 3), sharedKey(compositeKey([]any{"ab", int64(2), "x\x00y"}), 3))
	require.Equal(t, "", sharedKey("not a composite key", 2))
}
