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

// pgx returns timestamptz in the session's time zone with a fixed offset
// when the handle uses the simple protocol (text results), in time.Local
// otherwise: handles on one database that differ so return one row's times
// in other locations.
func TestSharedRowsHoldTimesAsAHandleOnTheSimpleProtocolReturnsThem(t *testing.T) {
	forEachDB(t, "postgres", func(t *testing.T, dialect string) {
		e := openShared(t, dialect, nil)
		require.NoError(t, e.plain.Create(&Customer{Name: "c", CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}).Error)
		dsn := e.dsn
		e.dsn = dsn + " default_query_exec_mode=simple_protocol timezone=Asia/Tokyo"
		_, simple, _ := e.openHandle(t, true)
		_, plainSimple, _ := e.openHandle(t, false)
		e.dsn = dsn

		var filled Customer
		require.NoError(t, req(e.db).First(&filled, 1).Error) // fills
		var want, got Customer
		require.NoError(t, plainSimple.First(&want, 1).Error)
		require.NoError(t, req(simple).First(&got, 1).Error)
		_, wantOff := want.CreatedAt.Zone()
		_, gotOff := got.CreatedAt.Zone()
		require.Equal(t, wantOff, gotOff, "plain %v, plugin %v", want.CreatedAt, got.CreatedAt)
		require.Equal(t, want, got)
	})
}
