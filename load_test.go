package prefetch_test

import (
	"errors"
	"testing"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// Behaviour 4: lazy loading with Load.

func TestLoadFillsWhatPreloadFills(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		e.seed(t, 12, 2)
		cases := []struct {
			name  string
			model string // "customers" or "orders"
			assoc string
		}{
			{"belongs-to", "orders", "Customer"},
			{"nested", "orders", "Lines.Product"},
			{"has-many", "customers", "Orders"},
			{"has-one", "customers", "Profile"},
			{"pointer belongs-to with NULL keys", "customers", "Region"},
			{"many2many", "customers", "Tags"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				_, db := e.request()
				if tc.model == "orders" {
					var want, got []Order
					require.NoError(t, e.plain.Preload(tc.assoc).Order("id").Find(&want).Error)
					require.NoError(t, db.Order("id").Find(&got).Error)
					require.NoError(t, prefetch.Load(db, &got, tc.assoc))
					require.Equal(t, want, got)
					return
				}
				var want, got []Customer
				require.NoError(t, e.plain.Preload(tc.assoc).Order("id").Find(&want).Error)
				require.NoError(t, db.Order("id").Find(&got).Error)
				require.NoError(t, prefetch.Load(db, &got, tc.assoc))
				require.Equal(t, want, got)
			})
		}
	})
}

func TestLoadOneRecordLoadsTheScope(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		e.seed(t, 25, 2)
		_, db := e.request()
		var customers []Customer
		require.NoError(t, db.Find(&customers).Error)
		e.requireQueries(t, 1, func() {
			for i := range customers {
				require.NoError(t, prefetch.Load(db, &customers[i], "Orders"))
			}
		})
		for _, c := range customers {
			var want []Order
			require.NoError(t, e.plain.Where("customer_id = ?", c.ID).Order("id").Find(&want).Error)
			if len(want) == 0 {
				require.NotNil(t, c.Orders, "owners with no children get an empty slice")
			}
			require.ElementsMatch(t, want, c.Orders)
		}
		// Two levels: the lines of every order, one query for all.
		var orders []Order
		require.NoError(t, db.Find(&orders).Error)
		e.requireQueries(t, 2, func() {
			for i := range orders {
				require.NoError(t, prefetch.Load(db, &orders[i], "Lines"))
				for j := range orders[i].Lines {
					require.NoError(t, prefetch.Load(db, &orders[i].Lines[j], "Product"))
				}
			}
		})
	})
}

func TestSelectThenLoadTheRest(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		e.seed(t, 20, 0)
		_, db := e.request()
		var cs []Customer
		require.NoError(t, db.Select("id", "name").Find(&cs).Error)
		// Loading one column loads every missing column of the scope.
		e.requireQueries(t, 1, func() {
			for i := range cs {
				require.NoError(t, prefetch.Load(db, &cs[i], "Email", "notes"))
			}
		})
		var want []Customer
		require.NoError(t, e.plain.Select("id", "name", "email", "notes").Find(&want).Error)
		require.Equal(t, want, cs)
		// Every column is now cached: a full read is free.
		var full Customer
		e.requireQueries(t, 0, func() { require.NoError(t, db.First(&full, cs[3].ID).Error) })
	})
}

func TestLoadWithoutRequestCache(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		e.seed(t, 5, 2)
		var orders []Order
		require.NoError(t, e.db.Find(&orders).Error)
		e.requireQueries(t, 1, func() { require.NoError(t, prefetch.Load(e.db, &orders, "Customer")) })
		for _, o := range orders {
			require.Equal(t, o.CustomerID, o.Customer.ID)
		}
	})
}

func TestLoadRejectsBadInput(t *testing.T) {
	e := openSQLite(t, prefetch.Plugin{})
	e.seed(t, 2, 1)
	var c Customer
	var n int
	var nilPtr *Customer
	cases := []struct {
		name string
		dest any
		what []string
		err  error
	}{
		{"nil", nil, []string{"Orders"}, prefetch.ErrInvalidDest},
		{"nil pointer", nilPtr, []string{"Orders"}, prefetch.ErrInvalidDest},
		{"struct value", c, []string{"Orders"}, prefetch.ErrInvalidDest},
		{"pointer to int", &n, []string{"Orders"}, prefetch.ErrInvalidDest},
		{"slice of ints", []int{1}, []string{"Orders"}, prefetch.ErrInvalidDest},
		{"not a model", &struct{ C chan int }{}, []string{"C"}, prefetch.ErrNotModel},
		{"unknown name", &c, []string{"Nope"}, prefetch.ErrUnknownName},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, db := e.request()
			var err error
			require.NotPanics(t, func() { err = prefetch.Load(db, tc.dest, tc.what...) })
			require.True(t, errors.Is(err, tc.err), "got %v, want %v", err, tc.err)
		})
	}
	require.ErrorIs(t, prefetch.Load(nil, &c, "Orders"), prefetch.ErrInvalidDest)
	var none *gorm.DB
	require.ErrorIs(t, prefetch.Load(none, &c), prefetch.ErrInvalidDest)
}

func TestLoadWithoutPrefetchLoadsOnlyTheAskedRecords(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		e.seed(t, 10, 2)
		ctx, _ := e.request()
		db := e.db.WithContext(prefetch.WithoutPrefetch(ctx))
		var cs []Customer
		require.NoError(t, db.Select("id").Order("id").Find(&cs).Error)
		e.requireQueries(t, 1, func() { require.NoError(t, prefetch.Load(db, &cs[0], "Name")) })
		e.requireQueries(t, 1, func() { require.NoError(t, prefetch.Load(db, &cs[1], "Name")) })
		e.requireQueries(t, 0, func() { require.NoError(t, prefetch.Load(db, &cs[0], "Name")) })
		require.Equal(t, "customer 2", cs[1].Name)
		require.Empty(t, cs[2].Name)
		e.requireQueries(t, 1, func() { require.NoError(t, prefetch.Load(db, &cs[2], "Orders")) })
		e.requireQueries(t, 1, func() { require.NoError(t, prefetch.Load(db, &cs[3], "Orders")) })
	})
}
