package prefetch_test

import (
	"errors"
	"testing"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// Behaviour 1 (transparency) and 2 (identity cache).

func TestRepeatedLookupIsServed(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		e.seed(t, 5, 1)
		_, db := e.request()
		var first, second Customer
		e.requireQueries(t, 1, func() { require.NoError(t, db.First(&first, 1).Error) })
		e.requireQueries(t, 0, func() { require.NoError(t, db.First(&second, 1).Error) })
		require.Equal(t, first, second)
		// Customer 1 has a NULL email: a loaded NULL is cached, not re-queried.
		require.Nil(t, second.Email)

		var want Customer
		require.NoError(t, e.plain.First(&want, 1).Error)
		require.Equal(t, want, second)
	})
}

func TestPrimaryKeyForms(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		e.seed(t, 10, 0)
		cases := []struct {
			name string
			run  func(db *gorm.DB) (any, error)
		}{
			{"First(&c, 5)", func(db *gorm.DB) (any, error) { var c Customer; return c, db.First(&c, 5).Error }},
			{"First(&c, \"5\")", func(db *gorm.DB) (any, error) { var c Customer; return c, db.First(&c, "5").Error }},
			{"First(&c, id = ?)", func(db *gorm.DB) (any, error) { var c Customer; return c, db.First(&c, "id = ?", 5).Error }},
			{"Take(&c, id = ?)", func(db *gorm.DB) (any, error) { var c Customer; return c, db.Take(&c, "id = ?", 5).Error }},
			{"Last(&c, 5)", func(db *gorm.DB) (any, error) { var c Customer; return c, db.Last(&c, 5).Error }},
			{"Find(&cs, []int)", func(db *gorm.DB) (any, error) { var cs []Customer; return cs, db.Find(&cs, []int{5, 2, 7}).Error }},
			{"Where(id IN ?)", func(db *gorm.DB) (any, error) {
				var cs []Customer
				return cs, db.Where("id IN ?", []int{5, 2, 7}).Find(&cs).Error
			}},
			{"Where(&Customer{ID})", func(db *gorm.DB) (any, error) {
				var c Customer
				return c, db.Where(&Customer{ID: 5}).First(&c).Error
			}},
			{"Where(map)", func(db *gorm.DB) (any, error) {
				var c Customer
				return c, db.Where(map[string]any{"id": 5}).Take(&c).Error
			}},
			{"key in destination", func(db *gorm.DB) (any, error) { c := Customer{ID: 5}; return c, db.First(&c).Error }},
			{"Select", func(db *gorm.DB) (any, error) { var c Customer; return c, db.Select("id", "name").First(&c, 5).Error }},
			{"[]*T", func(db *gorm.DB) (any, error) { var cs []*Customer; return cs, db.Find(&cs, []int{2, 5}).Error }},
			{"qualified column", func(db *gorm.DB) (any, error) {
				var cs []Customer
				return cs, db.Where(db.Statement.Quote("id")+" = ?", 3).Find(&cs).Error
			}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				want, wantErr := tc.run(e.plain)
				_, db := e.request()
				// Warm the cache with every customer: one query.
				var all []Customer
				require.NoError(t, db.Find(&all).Error)
				var got any
				var err error
				e.requireQueries(t, 0, func() { got, err = tc.run(db) })
				require.Equal(t, wantErr, err)
				require.Equal(t, want, got)
			})
		}
	})
}

func TestNotFoundIsTransparent(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		e.seed(t, 3, 0)
		_, db := e.request()
		var r Region
		e.requireQueries(t, 1, func() {
			require.True(t, errors.Is(db.First(&r, 99).Error, gorm.ErrRecordNotFound))
		})
		// The absence is cached too.
		e.requireQueries(t, 0, func() {
			res := db.First(&r, 99)
			require.True(t, errors.Is(res.Error, gorm.ErrRecordNotFound))
			require.Zero(t, res.RowsAffected)
		})
		// Find of a missing key returns no error and no rows, like GORM.
		var rs []Region
		e.requireQueries(t, 0, func() {
			res := db.Find(&rs, 99)
			require.NoError(t, res.Error)
			require.Empty(t, rs)
		})
		// An insert makes the absence stale.
		require.NoError(t, db.Create(&Region{ID: 99, Name: "new"}).Error)
		e.requireQueries(t, 1, func() { require.NoError(t, db.First(&r, 99).Error) })
		require.Equal(t, "new", r.Name)

		// With soft delete, "no row came back" may mean "deleted": each
		// lookup asks the database.
		var c Customer
		for range 2 {
			e.requireQueries(t, 1, func() {
				require.True(t, errors.Is(db.First(&c, 99).Error, gorm.ErrRecordNotFound))
			})
		}
	})
}

func TestRowsAffectedAndHooks(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		require.NoError(t, e.plain.AutoMigrate(&HookedCustomer{}))
		require.NoError(t, e.plain.Create(&[]HookedCustomer{{Name: "a"}, {Name: "b"}, {Name: "c"}, {Name: "d"}}).Error)
		var want []HookedCustomer
		plainRes := e.plain.Find(&want, []int{1, 2, 3})
		require.NoError(t, plainRes.Error)

		_, db := e.request()
		require.NoError(t, db.Find(&[]HookedCustomer{}).Error)
		var got []HookedCustomer
		var res *gorm.DB
		e.requireQueries(t, 0, func() { res = db.Find(&got, []int{1, 2, 3}) })
		require.NoError(t, res.Error)
		require.Equal(t, plainRes.RowsAffected, res.RowsAffected)
		require.Equal(t, want, got)
		for _, c := range got {
			require.Equal(t, 1, c.Found, "AfterFind runs once on each served row")
		}
	})
}

// HookedCustomer counts its AfterFind calls.
type HookedCustomer struct {
	ID    uint
	Name  string
	Found int `gorm:"-"`
}

func (c *HookedCustomer) AfterFind(*gorm.DB) error {
	c.Found++
	return nil
}

func TestUncacheableStatementsGoToTheDatabase(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		e.seed(t, 5, 2)
		cases := []struct {
			name string
			run  func(db *gorm.DB) error
		}{
			{"joins", func(db *gorm.DB) error { var os []Order; return db.Joins("Customer").Find(&os, []int{1, 2}).Error }},
			{"group by", func(db *gorm.DB) error {
				var cs []Customer
				return db.Select("id", "name").Group("id").Group("name").Find(&cs, []int{1, 2}).Error
			}},
			{"distinct", func(db *gorm.DB) error { var cs []Customer; return db.Distinct("id").Find(&cs, []int{1, 2}).Error }},
			{"order by name", func(db *gorm.DB) error { var cs []Customer; return db.Order("name").Find(&cs, []int{1, 2}).Error }},
			{"offset", func(db *gorm.DB) error { var cs []Customer; return db.Offset(1).Limit(1).Find(&cs, []int{1, 2}).Error }},
			{"raw", func(db *gorm.DB) error {
				var cs []Customer
				return db.Raw("SELECT * FROM "+tableOf(db, &Customer{})+" WHERE id = ?", 1).Scan(&cs).Error
			}},
			{"pluck", func(db *gorm.DB) error {
				var names []string
				return db.Model(&Customer{}).Where("id = ?", 1).Pluck("name", &names).Error
			}},
			// Count(&n) alone is served from cached rows (shapes_count.go);
			// a count of one column's non-NULL values is not.
			{"count of a column", func(db *gorm.DB) error {
				var n int64
				return db.Model(&Customer{}).Select("email").Where("id = ?", 1).Count(&n).Error
			}},
			{"map", func(db *gorm.DB) error {
				m := map[string]any{}
				return db.Model(&Customer{}).Where("id = ?", 1).Take(&m).Error
			}},
			{"dto", func(db *gorm.DB) error {
				var d struct {
					ID   uint
					Name string
				}
				return db.Model(&Customer{}).Where("id = ?", 1).Take(&d).Error
			}},
			{"table expression", func(db *gorm.DB) error {
				var cs []Customer
				return db.Table(tableOf(db, &Customer{})+" AS c").Where("c.id = ?", 1).Find(&cs).Error
			}},
			{"non-key condition", func(db *gorm.DB) error { var cs []Customer; return db.Where("name = ?", "customer 1").Find(&cs).Error }},
			{"or condition", func(db *gorm.DB) error {
				var cs []Customer
				return db.Where("id = ?", 1).Or("id = ?", 2).Find(&cs).Error
			}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				_, db := e.request()
				var all []Customer
				require.NoError(t, db.Find(&all).Error)
				require.NoError(t, tc.run(e.plain))
				e.requireQueries(t, 1, func() { require.NoError(t, tc.run(db)) })
			})
		}
	})
}

func tableOf(db *gorm.DB, model any) string {
	stmt := &gorm.Statement{DB: db}
	if err := stmt.Parse(model); err != nil {
		panic(err)
	}
	return stmt.Schema.Table
}

func TestSoftDeleteAndUnscoped(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		e.seed(t, 5, 0)
		require.NoError(t, e.plain.Delete(&Customer{}, 2).Error)
		_, db := e.request()
		var all []Customer
		require.NoError(t, db.Unscoped().Find(&all).Error)
		require.Len(t, all, 5)
		var c Customer
		e.requireQueries(t, 0, func() {
			require.ErrorIs(t, db.First(&c, 2).Error, gorm.ErrRecordNotFound)
			require.NoError(t, db.Unscoped().First(&c, 2).Error)
			require.Equal(t, uint(2), c.ID)
		})
		var cs []Customer
		e.requireQueries(t, 0, func() { require.NoError(t, db.Find(&cs, []int{1, 2, 3}).Error) })
		require.Len(t, cs, 2)

		// A soft delete through the plugin hides the row from scoped reads.
		require.NoError(t, db.Delete(&Customer{}, 3).Error)
		require.ErrorIs(t, db.First(&c, 3).Error, gorm.ErrRecordNotFound)
		c = Customer{}
		require.NoError(t, db.Unscoped().First(&c, 3).Error)
		require.True(t, c.DeletedAt.Valid)
	})
}

func TestTwoDatabasesNeverMix(t *testing.T) {
	a := openSQLite(t, prefetch.Plugin{})
	b := openSQLite(t, prefetch.Plugin{})
	a.seed(t, 2, 0)
	b.seed(t, 2, 0)
	require.NoError(t, b.plain.Model(&Customer{}).Where("id = ?", 1).Update("name", "in b").Error)
	ctx, _ := a.request()
	var ca, cb Customer
	require.NoError(t, a.db.WithContext(ctx).First(&ca, 1).Error)
	require.NoError(t, b.db.WithContext(ctx).First(&cb, 1).Error)
	require.Equal(t, "customer 1", ca.Name)
	require.Equal(t, "in b", cb.Name)
}
