package prefetch_test

import (
	"testing"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
)

// LZKItem has a composite key whose first part is 0 for some rows: a
// valid key (tenant 0), not an unsaved record.
type LZKItem struct {
	Tenant int    `gorm:"primaryKey;autoIncrement:false"`
	Code   string `gorm:"primaryKey"`
	Name   string
}

// Load copies columns into records by primary key: a record whose
// composite key has a zero part is a row of the table like any other, and
// gets its column as a read by that key would give it.
func TestLoadFillsColumnsOfCompositeKeysWithAZeroPart(t *testing.T) {
	forEachDB(t, "", func(t *testing.T, dialect string) {
		s := openSide(t, dialect, true, compareOpts{})
		require.NoError(t, s.db.AutoMigrate(&LZKItem{}))
		t.Cleanup(func() { _ = s.db.Migrator().DropTable(&LZKItem{}) })
		for _, it := range []LZKItem{{0, "a", "zero-a"}, {1, "a", "one-a"}, {1, "b", "one-b"}} {
			s.must(t, s.db.Create(&it))
		}
		var want []LZKItem
		s.must(t, s.db.Order("tenant, code").Find(&want))
		for _, c := range []struct {
			name string
			db   func() []LZKItem
		}{
			{"with a request cache", func() []LZKItem {
				var its []LZKItem
				s.must(t, s.q().Select("tenant", "code").Order("tenant, code").Find(&its))
				require.NoError(t, prefetch.Load(s.q(), &its, "Name"))
				return its
			}},
			{"without one", func() []LZKItem {
				var its []LZKItem
				s.must(t, s.db.Select("tenant", "code").Order("tenant, code").Find(&its))
				require.NoError(t, prefetch.Load(s.db, &its, "Name"))
				return its
			}},
		} {
			require.Equal(t, want, c.db(), c.name)
		}
	})
}
