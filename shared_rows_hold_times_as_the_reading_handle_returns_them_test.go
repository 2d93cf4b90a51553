package prefetch_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// SQLite's driver returns times in the location its DSN names (_loc): two
// handles on one file may return one row's times in other locations. A row
// one handle filled must not come back, through the other, in the first
// handle's location.
func TestSharedRowsHoldTimesInTheLocationTheReadingHandleReturns(t *testing.T) {
	forEachDB(t, "sqlite", func(t *testing.T, dialect string) {
		e := openShared(t, dialect, nil)
		require.NoError(t, e.plain.Create(&Customer{Name: "c", CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}).Error)
		dsn := e.dsn
		e.dsn = dsn + "&_loc=Asia%2FTokyo"
		_, tokyo, _ := e.openHandle(t, true)
		_, plainTokyo, _ := e.openHandle(t, false)
		e.dsn = dsn

		var filled Customer
		require.NoError(t, req(e.db).First(&filled, 1).Error) // fills, in UTC
		var want, got Customer
		require.NoError(t, plainTokyo.First(&want, 1).Error)
		require.Equal(t, "Asia/Tokyo", want.CreatedAt.Location().String())
		require.NoError(t, req(tokyo).First(&got, 1).Error)
		require.Equal(t, want.CreatedAt.Location().String(), got.CreatedAt.Location().String())
		require.Equal(t, want, got)
	})
}
