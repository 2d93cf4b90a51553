package prefetch_test

import (
	"testing"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
)

// PaddedPair has a composite key whose text part is char(n): PostgreSQL
// returns it padded and compares it without its padding.
type PaddedPair struct {
	Code string `gorm:"primaryKey;type:char(4)"`
	N    int64  `gorm:"primaryKey;autoIncrement:false"`
	Name string
}

// A write naming a row of a composite key by another spelling of its text
// part (without the char(n) padding the database returns) must reach the
// row the shared cache holds under the padded spelling. Single keys fold
// trailing blanks (key_spellings_test.go); composite keys keep them inside.
func TestAWriteByAnotherSpellingOfACompositeKeyReachesTheSharedRow(t *testing.T) {
	forEachDB(t, "postgres", func(t *testing.T, dialect string) {
		e := openShared(t, dialect, func(sc *prefetch.SharedCache) { sc.Models = []any{&PaddedPair{}} })
		require.NoError(t, e.plain.AutoMigrate(&PaddedPair{}))
		require.NoError(t, e.plain.Create(&PaddedPair{Code: "ab", N: 1, Name: "old"}).Error)
		var p PaddedPair
		require.NoError(t, e.plain.First(&p).Error)
		require.Equal(t, "ab  ", p.Code, "the database returns it padded")

		first := func(t *testing.T, which string) string {
			h := e.db
			if which == "b" {
				h = e.b
			}
			var got PaddedPair
			require.NoError(t, req(h).First(&got, "code = ? AND n = ?", "ab  ", 1).Error)
			return got.Name
		}
		require.Equal(t, "old", first(t, "a"))
		require.Equal(t, "old", first(t, "a"))
		require.NoError(t, req(e.b).Model(&PaddedPair{Code: "ab", N: 1}).Update("name", "new").Error)
		var plain PaddedPair
		require.NoError(t, e.plain.First(&plain, "code = ? AND n = ?", "ab  ", 1).Error)
		require.Equal(t, "new", plain.Name)
		require.Equal(t, "new", first(t, "a"), "stale row served after a committed write")
	})
}
