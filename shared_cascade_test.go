package prefetch_test

import (
	"testing"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

type Rack struct {
	ID      uint
	Name    string
	Volumes []Volume `gorm:"constraint:OnDelete:CASCADE"`
}

type Volume struct {
	ID     uint
	RackID uint
	Title  string
}

// Rows the database deletes in cascade leave the shared cache too.
func TestACascadedDeleteReachesTheSharedCache(t *testing.T) {
	forEachDB(t, "", func(t *testing.T, dialect string) {
		e := openShared(t, dialect, func(c *prefetch.SharedCache) { c.Models = []any{&Volume{}} })
		require.NoError(t, e.plain.AutoMigrate(&Rack{}, &Volume{}))
		require.NoError(t, e.plain.Create(&Rack{Name: "s", Volumes: []Volume{{Title: "a"}, {Title: "b"}}}).Error)
		for _, h := range []*gorm.DB{e.db, e.b} {
			var b Volume
			require.NoError(t, req(h).First(&b, 1).Error)
		}
		require.NoError(t, req(e.db).Delete(&Rack{}, 1).Error)
		for _, h := range []*gorm.DB{e.db, e.b} {
			require.ErrorIs(t, req(h).First(&Volume{}, 1).Error, gorm.ErrRecordNotFound)
		}
	})
}
