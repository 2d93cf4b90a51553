package prefetch_test

import (
	"context"
	"testing"
	"time"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

func TestIsLoadedTellsWhatWouldCostAQuery(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		e.seed(t, 4, 2)
		_, db := e.request()
		loaded := func(record any, names ...string) bool {
			t.Helper()
			ok, err := prefetch.IsLoaded(db, record, names...)
			require.NoError(t, err)
			return ok
		}
		var cs []Customer
		require.NoError(t, db.Select("id", "name").Find(&cs).Error)
		c := &cs[0]
		require.True(t, loaded(c, "Name"))
		require.False(t, loaded(c, "Email"))
		require.False(t, loaded(c))
		require.False(t, loaded(c, "Orders"))

		var orders []Order
		require.NoError(t, db.Find(&orders).Error)
		require.False(t, loaded(&orders[0], "Customer"))
		require.NoError(t, db.First(&Customer{}, orders[0].CustomerID).Error) // loads the scope's customers
		require.True(t, loaded(&orders[0], "Customer"))
		require.True(t, loaded(&Customer{ID: orders[0].CustomerID}))
		e.requireQueries(t, 0, func() { require.NoError(t, db.First(&Customer{}, orders[0].CustomerID).Error) })

		require.NoError(t, prefetch.Load(db, &cs, "Orders"))
		require.True(t, loaded(c, "Orders"))

		_, err := prefetch.IsLoaded(db, c, "Nope")
		require.ErrorIs(t, err, prefetch.ErrUnknownName)
		ok, err := prefetch.IsLoaded(e.db, c) // no request cache
		require.NoError(t, err)
		require.False(t, ok)
		_, err = prefetch.IsLoaded(e.plain, c)
		require.ErrorIs(t, err, prefetch.ErrInvalidConfig)
	})
}

func TestPrimeServesRowsTheCallerHolds(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		e.seed(t, 2, 1)
		var held []Product
		require.NoError(t, e.plain.Order("id").Find(&held).Error)
		// Prime needs SELECT *'s columns, known once the request read the
		// table whole.
		ctx, db := e.request()
		require.ErrorIs(t, prefetch.Prime(db, &held), prefetch.ErrUnknownColumns)
		require.NoError(t, db.First(&Product{}, held[0].ID).Error)
		require.NoError(t, prefetch.Invalidate(ctx, &Product{}))
		require.NoError(t, prefetch.Prime(db, &held))
		for _, p := range held {
			var got Product
			e.requireQueries(t, 0, func() { require.NoError(t, db.First(&got, p.ID).Error) })
			var want Product
			require.NoError(t, e.plain.First(&want, p.ID).Error)
			require.Equal(t, want, got)
		}
		// A write makes primed rows stale like any other.
		require.NoError(t, db.Model(&held[0]).Update("name", "renamed").Error)
		var got Product
		e.requireQueries(t, 1, func() { require.NoError(t, db.First(&got, held[0].ID).Error) })
		require.Equal(t, "renamed", got.Name)

		// Columns the plugin cannot store exactly (a time) stay unloaded:
		// a read needing them goes to the database.
		var cs []Customer
		require.NoError(t, e.plain.Find(&cs).Error)
		require.NoError(t, db.First(&Customer{}, cs[0].ID).Error)
		require.NoError(t, prefetch.Invalidate(ctx, &Customer{}))
		require.NoError(t, prefetch.Prime(db, cs))
		var c Customer
		e.requireQueries(t, 1, func() { require.NoError(t, db.First(&c, cs[0].ID).Error) })
		var want Customer
		require.NoError(t, e.plain.First(&want, cs[0].ID).Error)
		require.Equal(t, want.CreatedAt.UTC(), c.CreatedAt.UTC())
		e.requireQueries(t, 0, func() { require.NoError(t, db.Select("id", "name").First(&Customer{}, cs[1].ID).Error) })

		require.ErrorIs(t, prefetch.Prime(db, 5), prefetch.ErrInvalidDest)
		require.ErrorIs(t, prefetch.Prime(e.plain, &held), prefetch.ErrInvalidConfig)
	})
}

func TestMaxAgeMakesOldRowsStale(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		e.seed(t, 2, 0)
		ctx := prefetch.NewContext(context.Background(), prefetch.WithMaxAge(100*time.Millisecond))
		db := e.db.WithContext(ctx)
		var c Customer
		require.NoError(t, db.First(&c, 1).Error)
		require.NoError(t, e.plain.Model(&Customer{}).Where("id = ?", 1).Update("name", "elsewhere").Error)
		e.requireQueries(t, 0, func() { require.NoError(t, db.First(&c, 1).Error) })
		require.Equal(t, "customer 1", c.Name, "not seen while young")
		time.Sleep(150 * time.Millisecond)
		e.requireQueries(t, 1, func() { require.NoError(t, db.First(&c, 1).Error) })
		require.Equal(t, "elsewhere", c.Name)

		// Collections age too.
		var os []Order
		require.NoError(t, db.Model(&Customer{ID: 1}).Association("Orders").Find(&os))
		e.requireQueries(t, 0, func() { require.NoError(t, db.Model(&Customer{ID: 1}).Association("Orders").Find(&os)) })
		time.Sleep(150 * time.Millisecond)
		e.requireQueries(t, 1, func() { require.NoError(t, db.Model(&Customer{ID: 1}).Association("Orders").Find(&os)) })
		_ = gorm.ErrRecordNotFound
	})
}
