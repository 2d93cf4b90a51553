package prefetch_test

import (
	"testing"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
)

func TestLoadNamesTheWholePathOfAnUnknownName(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		e.seed(t, 3, 1)
		_, db := e.request()
		var orders []Order
		require.NoError(t, db.Find(&orders).Error)
		cases := []struct{ name, text string }{
			{"Custmer", `"Custmer": Order has no association or column "Custmer" (did you mean "Customer"?)`},
			{"Customer.Emial", `"Customer.Emial": Customer has no association or column "Emial" (did you mean "Email"?)`},
			{"Customer.Email", `"Customer.Email": Email is a column of Customer, not an association`},
			{"Lines.Product.Nope", `"Lines.Product.Nope": Product has no association or column "Nope"`},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				err := prefetch.Load(db, &orders, tc.name)
				require.ErrorIs(t, err, prefetch.ErrUnknownName)
				require.Contains(t, err.Error(), tc.text)
			})
		}
		require.NoError(t, prefetch.Load(db, &orders, "Lines.Product"))
	})
}

// Columns load by primary key, composite keys too.
func TestLoadColumnsOfACompositeKey(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		require.NoError(t, e.plain.AutoMigrate(&Pairing{}))
		t.Cleanup(func() { _ = e.plain.Migrator().DropTable(&Pairing{}) })
		require.NoError(t, e.plain.Create(&[]Pairing{{1, 1, "a"}, {1, 2, "b"}, {2, 1, "c"}}).Error)
		_, db := e.request()
		var ps []Pairing
		require.NoError(t, db.Select("a", "b").Order("a, b").Find(&ps).Error)
		e.requireQueries(t, 1, func() { require.NoError(t, prefetch.Load(db, &ps, "Label")) })
		require.Equal(t, []Pairing{{1, 1, "a"}, {1, 2, "b"}, {2, 1, "c"}}, ps)
	})
}
