package prefetch_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// seedProducts creates n products through the plain handle.
func (e *sharedEnv) seedProducts(t *testing.T, n int) {
	t.Helper()
	ps := make([]Product, n)
	for i := range ps {
		ps[i].Name = "product " + string(rune('a'+i%26))
	}
	require.NoError(t, e.plain.Create(&ps).Error)
}

// productName reads product id through h in a fresh request.
func productName(t *testing.T, h *gorm.DB, id uint) string {
	t.Helper()
	var p Product
	require.NoError(t, req(h).First(&p, id).Error)
	return p.Name
}

func TestSharedCacheAnswersKeyLookupsOfLaterRequestsAndOtherHandles(t *testing.T) {
	forEachDB(t, "", func(t *testing.T, dialect string) {
		e := openShared(t, dialect, nil)
		e.seedProducts(t, 3)
		ctx := prefetch.NewContext(context.Background())
		require.EqualValues(t, 1, queriesOf(t, e.count, func() {
			var p Product
			require.NoError(t, e.db.WithContext(ctx).First(&p, 2).Error)
			require.Equal(t, "product b", p.Name)
		}))
		st := prefetch.StatsOf(ctx)
		require.EqualValues(t, 1, st.SharedMisses)
		require.EqualValues(t, 1, st.SharedFills)
		require.EqualValues(t, 2, st.SharedRoundTrips) // the read and the fill

		ctx = prefetch.NewContext(context.Background())
		require.Zero(t, queriesOf(t, e.count, func() {
			var p Product
			require.NoError(t, e.db.WithContext(ctx).First(&p, 2).Error)
			require.Equal(t, "product b", p.Name)
		}))
		require.EqualValues(t, 1, prefetch.StatsOf(ctx).SharedHits)
		require.Zero(t, queriesOf(t, e.bCount, func() { require.Equal(t, "product b", productName(t, e.b, 2)) }),
			"the other handle reads the same store")
		// A key with no row is never shared: it goes to the database.
		require.EqualValues(t, 1, queriesOf(t, e.count, func() {
			require.ErrorIs(t, req(e.db).First(&Product{}, 99).Error, gorm.ErrRecordNotFound)
		}))
	})
}

func TestModelsNotListedNeverReachTheSharedCache(t *testing.T) {
	forEachDB(t, "", func(t *testing.T, dialect string) {
		e := openShared(t, dialect, nil)
		require.NoError(t, e.plain.Create(&Region{Name: "north"}).Error)
		for range 2 {
			require.EqualValues(t, 1, queriesOf(t, e.count, func() {
				require.NoError(t, req(e.db).First(&Region{}, 1).Error)
			}))
		}
		require.NoError(t, req(e.db).Model(&Region{}).Where("id = ?", 1).Update("name", "south").Error)
		require.NoError(t, req(e.db).Exec("UPDATE regions SET name = 'west'").Error)
		require.Zero(t, e.store.reads.Load()+e.store.invalidates.Load()+e.store.fills.Load())
	})
}

func TestAWriteThroughOneHandleIsNeverFollowedByAStaleReadThroughAnother(t *testing.T) {
	writes := []struct {
		name  string
		write func(h *gorm.DB) error
	}{
		{"by key", func(h *gorm.DB) error {
			return h.Model(&Product{ID: 1}).Update("name", "new").Error
		}},
		{"Save", func(h *gorm.DB) error { return h.Save(&Product{ID: 1, Name: "new"}).Error }},
		{"by table", func(h *gorm.DB) error {
			return h.Model(&Product{}).Where("name <> ?", "x").Update("name", "new").Error
		}},
		{"raw SQL", func(h *gorm.DB) error { return h.Exec("UPDATE products SET name = ?", "new").Error }},
		{"delete", func(h *gorm.DB) error { return h.Delete(&Product{}, 1).Error }},
		{"committed transaction", func(h *gorm.DB) error {
			return h.Transaction(func(tx *gorm.DB) error {
				return tx.Model(&Product{ID: 1}).Update("name", "new").Error
			})
		}},
		{"raw SQL in a committed transaction", func(h *gorm.DB) error {
			return h.Transaction(func(tx *gorm.DB) error {
				return tx.Exec("UPDATE products SET name = 'new' WHERE id = 1").Error
			})
		}},
		{"unreadable raw SQL", func(h *gorm.DB) error {
			return h.Exec("UPDATE products SET name = 'new' WHERE id = (SELECT 1)").Error
		}},
	}
	forEachDB(t, "", func(t *testing.T, dialect string) {
		for _, w := range writes {
			t.Run(w.name, func(t *testing.T) {
				e := openShared(t, dialect, nil)
				e.seedProducts(t, 2)
				require.Equal(t, "product a", productName(t, e.db, 1))
				require.Equal(t, "product a", productName(t, e.b, 1)) // served from the store
				require.NoError(t, w.write(req(e.a())))
				var want []Product
				require.NoError(t, e.plain.Order("id").Find(&want).Error)
				for _, h := range []*gorm.DB{e.db, e.b} {
					var got Product
					err := req(h).First(&got, 1).Error
					if len(want) == 0 || want[0].ID != 1 {
						require.ErrorIs(t, err, gorm.ErrRecordNotFound)
						continue
					}
					require.NoError(t, err)
					require.Equal(t, want[0], got)
				}
			})
		}
	})
}

// a is the handle writes go through in the tests: handle a.
func (e *sharedEnv) a() *gorm.DB { return e.db }

func TestARolledBackTransactionInvalidatesNothingShared(t *testing.T) {
	forEachDB(t, "", func(t *testing.T, dialect string) {
		e := openShared(t, dialect, nil)
		e.seedProducts(t, 2)
		require.Equal(t, "product a", productName(t, e.db, 1))
		before := e.store.invalidates.Load()
		err := req(e.b).Transaction(func(tx *gorm.DB) error {
			if err := tx.Model(&Product{ID: 1}).Update("name", "new").Error; err != nil {
				return err
			}
			return errors.New("roll back")
		})
		require.EqualError(t, err, "roll back")
		require.Equal(t, before, e.store.invalidates.Load())
		require.Zero(t, queriesOf(t, e.count, func() { require.Equal(t, "product a", productName(t, e.db, 1)) }))
	})
}

// The stale-set race, forced: a read misses the store and reads the row
// from the database; before it fills, another handle writes the row and
// invalidates it. The fill, under the lease of the read, must store
// nothing.
func TestAFillOfARowReadBeforeAWriteIsRefused(t *testing.T) {
	forEachDB(t, "", func(t *testing.T, dialect string) {
		e := openShared(t, dialect, nil)
		e.seedProducts(t, 2)
		hook := func() {
			require.NoError(t, req(e.b).Model(&Product{ID: 1}).Update("name", "new").Error)
		}
		prefetch.SharedBeforeFill.Store(&hook)
		require.Equal(t, "product a", productName(t, e.db, 1)) // read before the write: its answer is the old row
		require.EqualValues(t, 1, e.store.refused.Load())
		require.Zero(t, e.store.held())
		require.Equal(t, "new", productName(t, e.db, 1))
		require.Equal(t, "new", productName(t, e.b, 1))
	})
}

func TestBatchLoadsByKeyReadTheSharedCacheInOneRoundTrip(t *testing.T) {
	forEachDB(t, "", func(t *testing.T, dialect string) {
		e := openShared(t, dialect, nil)
		e.seed(t, 30, 2)
		loop := func(h *gorm.DB) {
			var orders []Order
			require.NoError(t, h.Order("id").Find(&orders).Error)
			for _, o := range orders {
				var c Customer
				require.NoError(t, h.First(&c, o.CustomerID).Error)
			}
		}
		ctx := prefetch.NewContext(context.Background())
		require.EqualValues(t, 2, queriesOf(t, e.count, func() { loop(e.db.WithContext(ctx)) }))
		require.EqualValues(t, 24, prefetch.StatsOf(ctx).SharedFills) // customers with orders
		ctx = prefetch.NewContext(context.Background())
		require.EqualValues(t, 1, queriesOf(t, e.count, func() { loop(e.db.WithContext(ctx)) }), "orders only")
		st := prefetch.StatsOf(ctx)
		require.EqualValues(t, 24, st.SharedHits)
		require.EqualValues(t, 1, st.SharedRoundTrips)
	})
}

// seed fills the database like env.seed, through the plain handle.
func (e *sharedEnv) seed(t *testing.T, customers, ordersPer int) {
	t.Helper()
	(&env{plain: e.plain}).seed(t, customers, ordersPer)
}

// WithMaxAge bounds the age of every row a request serves: shared rows
// may be older, so such a request does not read them.
func TestRequestsWithAMaxAgeDoNotReadTheSharedCache(t *testing.T) {
	forEachDB(t, "", func(t *testing.T, dialect string) {
		e := openShared(t, dialect, nil)
		e.seedProducts(t, 1)
		require.Equal(t, "product a", productName(t, e.db, 1))
		ctx := prefetch.NewContext(context.Background(), prefetch.WithMaxAge(time.Second))
		require.EqualValues(t, 1, queriesOf(t, e.count, func() {
			require.NoError(t, e.db.WithContext(ctx).First(&Product{}, 1).Error)
		}))
		require.Zero(t, prefetch.StatsOf(ctx).SharedRoundTrips)
	})
}

// Dup is a model whose key is not unique in its table (no constraint).
type Dup struct {
	ID   uint
	Name string
}

// A key that names several rows is never filled: the shared cache would
// answer one row where the database has two.
func TestRowsOfARepeatedKeyAreNeverShared(t *testing.T) {
	forEachDB(t, "", func(t *testing.T, dialect string) {
		e := openShared(t, dialect, func(c *prefetch.SharedCache) { c.Models = append(c.Models, &Dup{}) })
		require.NoError(t, e.plain.Exec("CREATE TABLE dups (id integer, name text)").Error)
		require.NoError(t, e.plain.Exec("INSERT INTO dups VALUES (1, 'x'), (1, 'y')").Error)
		for _, h := range []*gorm.DB{e.db, e.b, e.db} {
			var got []Dup
			require.NoError(t, req(h).Find(&got, []uint{1}).Error)
			require.ElementsMatch(t, []Dup{{1, "x"}, {1, "y"}}, got)
		}
		require.Zero(t, e.store.fills.Load())
	})
}

// The stale-set race in a batch load: the chunk's rows are read, another
// handle writes one of them before the fill; that row is not kept.
func TestABatchLoadNeverFillsARowWrittenAfterItsRead(t *testing.T) {
	forEachDB(t, "", func(t *testing.T, dialect string) {
		e := openShared(t, dialect, nil)
		e.seed(t, 10, 1)
		hook := func() {
			require.NoError(t, req(e.b).Model(&Customer{ID: 3}).Update("name", "new").Error)
		}
		prefetch.SharedBeforeFill.Store(&hook)
		db := req(e.db)
		var orders []Order
		require.NoError(t, db.Order("id").Find(&orders).Error)
		for _, o := range orders {
			require.NoError(t, db.First(&Customer{}, o.CustomerID).Error)
		}
		require.Nil(t, prefetch.SharedBeforeFill.Load(), "the hook ran")
		var c Customer
		require.NoError(t, req(e.b).First(&c, 3).Error)
		require.Equal(t, "new", c.Name)
		require.NoError(t, req(e.db).First(&c, 3).Error)
		require.Equal(t, "new", c.Name)
	})
}
