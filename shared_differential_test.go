package prefetch_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// Times come back from the shared cache as the driver returned them:
// instant, location and zone.
func TestSharedRowsHoldTimesAsTheDriverReturnsThem(t *testing.T) {
	forEachDB(t, "", func(t *testing.T, dialect string) {
		e := openShared(t, dialect, nil)
		at := time.Date(2026, 5, 6, 7, 8, 9, 123456000, time.UTC)
		cs := []Customer{
			{Name: "utc", CreatedAt: at},
			{Name: "east", CreatedAt: at.In(time.FixedZone("", 2*3600))},
			{Name: "west", CreatedAt: at.In(time.FixedZone("X", -5*3600-1800))},
			{Name: "local", CreatedAt: at.Local()},
		}
		require.NoError(t, e.plain.Omit("Region", "Tags").Create(&cs).Error)
		for _, c := range cs {
			var want, first, second Customer
			require.NoError(t, e.plain.First(&want, c.ID).Error)
			require.NoError(t, req(e.db).First(&first, c.ID).Error)
			require.Zero(t, queriesOf(t, e.bCount, func() { require.NoError(t, req(e.b).First(&second, c.ID).Error) }))
			require.Equal(t, want, first, c.Name)
			require.Equal(t, want, second, c.Name)
			require.Equal(t, want.CreatedAt.Location().String(), second.CreatedAt.Location().String())
		}
	})
}

// A randomized run: reads and writes spread over three handles with their
// own plugin instances on one store, fresh and long-lived requests,
// transactions that commit and roll back, compared read by read with plain
// GORM on the same database.
func TestRandomStepsOverThreeHandlesReadWhatPlainGORMReads(t *testing.T) {
	forEachDB(t, "", func(t *testing.T, dialect string) {
		e := openShared(t, dialect, nil)
		e.seed(t, 20, 2)
		seed := uint64(time.Now().UnixNano())
		t.Logf("seed %d", seed)
		rng := rand.New(rand.NewPCG(seed, 7))
		_, c, _ := e.openHandle(t, true)
		handles := []*gorm.DB{e.db, e.b, c}
		ctxs := make([]context.Context, len(handles))
		for i := range ctxs {
			ctxs[i] = prefetch.NewContext(context.Background())
		}
		h := func() *gorm.DB {
			i := rng.IntN(len(handles))
			if rng.IntN(3) == 0 {
				ctxs[i] = prefetch.NewContext(context.Background())
			}
			return handles[i].WithContext(ctxs[i])
		}
		id := func() uint { return uint(rng.IntN(24) + 1) }
		steps := 600
		if testing.Short() {
			steps = 150
		}
		for step := range steps {
			switch op := rng.IntN(12); op {
			case 0, 1, 2:
				k := id()
				var got, want Product
				gerr := h().First(&got, k).Error
				werr := e.plain.First(&want, k).Error
				require.Equal(t, errors.Is(werr, gorm.ErrRecordNotFound), errors.Is(gerr, gorm.ErrRecordNotFound), "step %d", step)
				require.Equal(t, want, got, "step %d: product %d", step, k)
			case 3, 4:
				var got, want []Customer
				ids := []uint{id(), id(), id()}
				require.NoError(t, h().Find(&got, ids).Error)
				require.NoError(t, e.plain.Find(&want, ids).Error)
				require.ElementsMatch(t, want, got, "step %d", step)
			case 5:
				db := h()
				var orders []Order
				require.NoError(t, db.Order("id").Limit(10).Offset(rng.IntN(30)).Find(&orders).Error)
				for _, o := range orders {
					var got, want Customer
					gerr := db.First(&got, o.CustomerID).Error
					werr := e.plain.First(&want, o.CustomerID).Error
					require.Equal(t, werr == nil, gerr == nil, "step %d", step)
					require.Equal(t, want, got, "step %d", step)
				}
			case 6:
				require.NoError(t, h().Model(&Product{ID: id()}).Update("name", fmt.Sprint("p", step)).Error)
			case 7:
				require.NoError(t, h().Exec("UPDATE customers SET name = ? WHERE id IN (?, ?)", fmt.Sprint("c", step), id(), id()).Error)
			case 8:
				require.NoError(t, h().Create(&Product{Name: fmt.Sprint("new", step)}).Error)
			case 9:
				commit := rng.IntN(2) == 0
				err := h().Transaction(func(tx *gorm.DB) error {
					if err := tx.Model(&Product{ID: id()}).Update("name", fmt.Sprint("tx", step)).Error; err != nil {
						return err
					}
					var p Product
					_ = tx.First(&p, id()).Error
					if err := tx.Model(&Customer{}).Where("id = ?", id()).Update("name", fmt.Sprint("txc", step)).Error; err != nil {
						return err
					}
					if !commit {
						return errors.New("roll back")
					}
					return nil
				})
				require.Equal(t, commit, err == nil, "step %d", step)
			case 10:
				require.NoError(t, h().Delete(&Customer{}, id()).Error)
			case 11:
				require.NoError(t, h().Unscoped().Model(&Customer{}).Where("id = ?", id()).Update("deleted_at", nil).Error)
			}
		}
		require.NotZero(t, e.store.fills.Load(), "the run used the shared cache")
	})
}

// Concurrent writers and readers over two handles: a read that starts
// after a write returned never sees an older version of the row.
func TestConcurrentReadsNeverSeeARowOlderThanACompletedWrite(t *testing.T) {
	forEachDB(t, "", func(t *testing.T, dialect string) {
		e := openShared(t, dialect, nil)
		const rows = 4
		ps := make([]Product, rows)
		for i := range ps {
			ps[i].Name = "0"
		}
		require.NoError(t, e.plain.Create(&ps).Error)
		var settled [rows]atomic.Int64 // versions whose write returned
		var next [rows]atomic.Int64
		var mu [rows]sync.Mutex // one writer per row at a time: versions land in order
		deadline := time.Now().Add(2 * time.Second)
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for w := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := 0; time.Now().Before(deadline); n++ {
					r := (w + n) % rows
					db := req([]*gorm.DB{e.db, e.b}[n%2])
					mu[r].Lock()
					v := next[r].Add(1)
					var err error
					if n%3 == 2 {
						err = db.Transaction(func(tx *gorm.DB) error {
							return tx.Model(&Product{ID: ps[r].ID}).Update("name", fmt.Sprint(v)).Error
						})
					} else {
						err = db.Model(&Product{ID: ps[r].ID}).Update("name", fmt.Sprint(v)).Error
					}
					mu[r].Unlock()
					if err != nil {
						errs <- err
						return
					}
					settled[r].Store(v)
				}
			}()
		}
		for rd := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := 0; time.Now().Before(deadline); n++ {
					r := (rd + n) % rows
					floor := settled[r].Load()
					var p Product
					if err := req([]*gorm.DB{e.db, e.b}[(rd+n)%2]).First(&p, ps[r].ID).Error; err != nil {
						errs <- err
						return
					}
					var v int64
					fmt.Sscan(p.Name, &v)
					if v < floor {
						errs <- fmt.Errorf("row %d: read version %d after the write of version %d returned", r, v, floor)
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		require.NotZero(t, e.store.fills.Load())
	})
}
