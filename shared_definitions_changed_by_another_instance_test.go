package prefetch_test

import (
	"os"
	"strings"
	"testing"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// Instances are separate processes: each read the catalog (views, foreign
// keys with actions) when its plugin was registered. A migration run by a
// new instance through the plugin (DDL: a whole-space invalidation) does
// not tell the running ones what the new definitions mean for later
// writes. A handle on the unix socket shares no process state with the
// side's handles (the plugin keys that by the server address) but reaches
// the same shared space (PostgreSQL's system identifier): it stands for an
// instance in another process.
func (e *sharedEnv) otherInstance(t *testing.T) *gorm.DB {
	t.Helper()
	state := os.Getenv("PREFETCH_PG_STATE")
	if state == "" || !strings.Contains(e.dsn, "host=127.0.0.1") {
		t.Skip("needs the PostgreSQL of .ci/start-postgres.sh (PREFETCH_PG_STATE: its unix socket)")
	}
	dsn := e.dsn
	e.dsn = strings.Replace(dsn, "host=127.0.0.1", "host="+state, 1)
	_, db, _ := e.openHandle(t, true)
	e.dsn = dsn
	return db
}

func TestAViewCreatedThroughAnotherInstanceIsNeverServedStale(t *testing.T) {
	t.Skip("documented limitation: definitions created through another process after this one registered (docs/shared-cache.md, What the shared cache cannot see); see the test after it")
	forEachDB(t, "postgres", func(t *testing.T, dialect string) {
		e := openShared(t, dialect, func(sc *prefetch.SharedCache) { sc.Models = []any{&Ledger{}, &RichLedger{}} })
		require.NoError(t, e.plain.AutoMigrate(&Ledger{}))
		require.NoError(t, e.plain.Create(&[]Ledger{{Balance: 150, Name: "a"}, {Balance: 250, Name: "b"}}).Error)
		running := e.otherInstance(t) // registered before the view exists
		require.NoError(t, req(e.b).Exec(richView).Error)

		var r RichLedger
		require.NoError(t, req(running).First(&r, 1).Error)
		require.NoError(t, req(running).Model(&Ledger{ID: 1}).Update("balance", 10).Error)

		require.ErrorIs(t, e.plain.First(&RichLedger{}, 1).Error, gorm.ErrRecordNotFound)
		var got RichLedger
		require.ErrorIs(t, req(running).First(&got, 1).Error, gorm.ErrRecordNotFound, "served %+v", got)
	})
}

func TestACascadeDeclaredThroughAnotherInstanceIsNeverServedStale(t *testing.T) {
	t.Skip("documented limitation: definitions created through another process after this one registered (docs/shared-cache.md, What the shared cache cannot see); see the test after it")
	forEachDB(t, "postgres", func(t *testing.T, dialect string) {
		e := openShared(t, dialect, func(sc *prefetch.SharedCache) { sc.Models = []any{&Customer{}, &Region{}} })
		require.NoError(t, e.plain.Create(&Region{Name: "north"}).Error)
		region := uint(1)
		require.NoError(t, e.plain.Create(&Customer{Name: "c", RegionID: &region}).Error)
		running := e.otherInstance(t) // registered before the cascade exists
		require.NoError(t, req(e.b).Exec("ALTER TABLE customers DROP CONSTRAINT IF EXISTS fk_customers_region").Error)
		require.NoError(t, req(e.b).Exec("ALTER TABLE customers ADD CONSTRAINT fk_region_set_null FOREIGN KEY (region_id) REFERENCES regions (id) ON DELETE SET NULL").Error)

		var c Customer
		require.NoError(t, req(e.b).First(&c, 1).Error) // fills, region 1
		require.NoError(t, req(running).Delete(&Region{ID: 1}).Error)

		var plain Customer
		require.NoError(t, e.plain.First(&plain, 1).Error)
		require.Nil(t, plain.RegionID)
		for name, h := range map[string]*gorm.DB{"the instance that declared it": e.b, "the running instance": running} {
			var got Customer
			require.NoError(t, req(h).First(&got, 1).Error)
			require.Nil(t, got.RegionID, "%s served a region the cascade set to NULL", name)
		}
	})
}

// The documented remedy: a process whose plugin is registered after the
// migration that created the view, or declared the cascade, reads them from
// the catalog and is never served stale.
func TestAViewCreatedBeforeAnInstanceStartedIsNeverServedStale(t *testing.T) {
	forEachDB(t, "postgres", func(t *testing.T, dialect string) {
		e := openShared(t, dialect, func(sc *prefetch.SharedCache) { sc.Models = []any{&Ledger{}, &RichLedger{}} })
		require.NoError(t, e.plain.AutoMigrate(&Ledger{}))
		require.NoError(t, e.plain.Create(&[]Ledger{{Balance: 150, Name: "a"}, {Balance: 250, Name: "b"}}).Error)
		require.NoError(t, req(e.b).Exec(richView).Error)
		started := e.otherInstance(t)

		var r RichLedger
		require.NoError(t, req(started).First(&r, 1).Error)
		require.NoError(t, req(started).Model(&Ledger{ID: 1}).Update("balance", 10).Error)

		require.ErrorIs(t, e.plain.First(&RichLedger{}, 1).Error, gorm.ErrRecordNotFound)
		var got RichLedger
		require.ErrorIs(t, req(started).First(&got, 1).Error, gorm.ErrRecordNotFound, "served %+v", got)
	})
}

func TestACascadeDeclaredBeforeAnInstanceStartedIsNeverServedStale(t *testing.T) {
	forEachDB(t, "postgres", func(t *testing.T, dialect string) {
		e := openShared(t, dialect, func(sc *prefetch.SharedCache) { sc.Models = []any{&Customer{}, &Region{}} })
		require.NoError(t, e.plain.Create(&Region{Name: "north"}).Error)
		region := uint(1)
		require.NoError(t, e.plain.Create(&Customer{Name: "c", RegionID: &region}).Error)
		require.NoError(t, req(e.b).Exec("ALTER TABLE customers DROP CONSTRAINT IF EXISTS fk_customers_region").Error)
		require.NoError(t, req(e.b).Exec("ALTER TABLE customers ADD CONSTRAINT fk_region_set_null FOREIGN KEY (region_id) REFERENCES regions (id) ON DELETE SET NULL").Error)
		started := e.otherInstance(t)

		var c Customer
		require.NoError(t, req(e.b).First(&c, 1).Error) // fills, region 1
		require.NoError(t, req(started).Delete(&Region{ID: 1}).Error)

		var plain Customer
		require.NoError(t, e.plain.First(&plain, 1).Error)
		require.Nil(t, plain.RegionID)
		for name, h := range map[string]*gorm.DB{"the instance that declared it": e.b, "the instance started after": started} {
			var got Customer
			require.NoError(t, req(h).First(&got, 1).Error)
			require.Nil(t, got.RegionID, "%s served a region the cascade set to NULL", name)
		}
	})
}
