package prefetch_test

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// Robustness: Load skips nil elements; the cache's row count stays within
// [0, MaxRows] under any interleaving with Clear; served rows come in
// ascending primary-key order. (SQL after comments, whitespace and case is
// covered where each statement is: session_state_test.go,
// sql_transactions_test.go.)

func TestLoadSkipsNilElements(t *testing.T) {
	cases := []struct {
		name string
		// load fills the non-nil records of recs with the plugin; the plain
		// side's reference is GORM's Preload of the same records.
		load func(db *gorm.DB, recs []*DOrder) error
	}{
		{"[]*T", func(db *gorm.DB, recs []*DOrder) error { return prefetch.Load(db, recs, "DCustomer") }},
		{"*[]*T", func(db *gorm.DB, recs []*DOrder) error { return prefetch.Load(db, &recs, "DCustomer") }},
		{"column and association", func(db *gorm.DB, recs []*DOrder) error {
			return prefetch.Load(db, recs, "Amount", "DCustomer")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			compare(t, compareOpts{}, setupDCustomers, func(t *testing.T, s *side) {
				var os []DOrder
				s.see("orders", s.q().Order("id").Find(&os, []int{1, 2, 3}), len(os))
				recs := []*DOrder{nil, &os[0], nil, &os[1], &os[2], nil}
				if s.plugin {
					s.seeErr("load", loadNoPanic(func() error { return tc.load(s.q(), recs) }), nil)
				} else {
					var ref []DOrder
					err := s.q().Preload("DCustomer").Order("id").Find(&ref, []int{1, 2, 3}).Error
					copy(os, ref)
					s.seeErr("load", err, nil)
				}
				s.note("records", recs)
			})
		})
	}
}

// loadNoPanic turns a panic into an error, so that a panic is reported as a
// difference rather than ending the test binary.
func loadNoPanic(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return fn()
}

func TestStatsRowsStayWithinBoundsUnderConcurrentClear(t *testing.T) {
	const maxRows = 40
	each(t, prefetch.Plugin{MaxRows: maxRows, BatchSize: 8}, func(t *testing.T, e *env) {
		e.seed(t, 120, 1)
		ctx, db := e.request()
		var stop atomic.Bool
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; !stop.Load(); i++ {
					var orders []Order
					if err := db.Where("id > ?", (i*7+g)%60).Find(&orders).Error; err != nil {
						t.Error(err)
						return
					}
					for _, o := range orders {
						var c Customer
						if err := db.First(&c, o.CustomerID).Error; err != nil {
							t.Error(err)
							return
						}
					}
				}
			}()
		}
		wg.Add(2)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				prefetch.Clear(ctx)
				time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
			}
		}()
		go func() {
			// Writes make cached rows stale, so that reads drop them.
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				if err := e.db.Model(&Customer{ID: uint(i%120 + 1)}).Update("name", fmt.Sprint(i)).Error; err != nil {
					t.Error(err)
					return
				}
			}
		}()
		deadline := time.Now().Add(1500 * time.Millisecond)
		var worst []int64
		for time.Now().Before(deadline) {
			if rows := prefetch.StatsOf(ctx).Rows; (rows < 0 || rows > maxRows) && len(worst) < 10 {
				worst = append(worst, rows)
			}
		}
		stop.Store(true)
		wg.Wait()
		require.Empty(t, worst, "Stats.Rows left [0, MaxRows=%d]", maxRows)
		rows := prefetch.StatsOf(ctx).Rows
		require.GreaterOrEqual(t, rows, int64(0))
		require.LessOrEqual(t, rows, int64(maxRows))
	})
}

// Pair has an integer composite key.
type Pair struct {
	A     int `gorm:"primaryKey;autoIncrement:false"`
	B     int `gorm:"primaryKey;autoIncrement:false"`
	Label string
}

func TestServedRowsComeInPrimaryKeyOrder(t *testing.T) {
	forEachDB(t, "", func(t *testing.T, dialect string) {
		s := openSide(t, dialect, true, compareOpts{})
		require.NoError(t, s.db.AutoMigrate(&Pair{}))
		require.NoError(t, s.db.Create(&[]Pair{{1, 23, "1-23"}, {1, 3, "1-3"}, {1, 100, "1-100"}, {12, 3, "12-3"}, {2, 1, "2-1"}}).Error)
		seedAccounts(t, s)
		byPair := func(a, b Pair) int { return cmp.Or(cmp.Compare(a.A, b.A), cmp.Compare(a.B, b.B)) }
		cases := []struct {
			name string
			read func(db *gorm.DB) (any, any, error) // rows, rows in ascending key order
		}{
			{"integer key, asked in descending order", func(db *gorm.DB) (any, any, error) {
				var as []Account
				err := db.Find(&as, []int{9, 4, 7, 1}).Error
				return as, sorted(slices.Clone(as), byAccountID), err
			}},
			{"composite integer key, a collection", func(db *gorm.DB) (any, any, error) {
				var ps []Pair
				err := db.Where("a = ?", 1).Find(&ps).Error
				return ps, sorted(slices.Clone(ps), byPair), err
			}},
			{"composite integer key, by keys", func(db *gorm.DB) (any, any, error) {
				var ps []Pair
				err := db.Where("a IN ? AND b IN ?", []int{1}, []int{100, 23, 3}).Find(&ps).Error
				return ps, sorted(slices.Clone(ps), byPair), err
			}},
			{"the key of a second model on the table", func(db *gorm.DB) (any, any, error) {
				var bs []AccountByNumber
				err := db.Find(&bs, []int{9, 4, 7, 1}).Error
				return bs, sorted(slices.Clone(bs), byAccountNumber), err
			}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				db := s.db.WithContext(prefetch.NewContext(context.Background()))
				first, _, err := tc.read(db)
				require.NoError(t, err)
				for range 2 {
					var got, want any
					s.count.Reset()
					got, want, err = tc.read(db)
					require.Zero(t, s.count.Total(), "served: %v", s.count.Log())
					require.NoError(t, err)
					require.Equal(t, want, got, "served rows in ascending primary-key order")
					require.ElementsMatch(t, first, got, "the same rows as the database returned")
				}
			})
		}
	})
}
