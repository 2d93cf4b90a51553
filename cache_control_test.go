package prefetch_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
)

func TestInvalidateRefusesMistakes(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		e.seed(t, 3, 0)
		ctx, db := e.request()
		require.NoError(t, db.Find(&[]Customer{}).Error)
		customers := tableOf(db, &Customer{})
		cases := []struct {
			name  string
			model any
			ids   []any
			want  error
			text  string
		}{
			{"a typo of a table", customers[:len(customers)-1], []any{2}, prefetch.ErrUnknownTable, fmt.Sprintf("did you mean %q", customers)},
			{"a table nobody named", "nothing_here_at_all", nil, prefetch.ErrUnknownTable, ""},
			{"nil", nil, nil, prefetch.ErrUnknownTable, ""},
			{"text for an integer key", customers, []any{"two"}, prefetch.ErrInvalidKey, ""},
			{"a float for an integer key", &Customer{}, []any{1.5}, prefetch.ErrInvalidKey, ""},
			{"NULL", &Customer{}, []any{nil}, prefetch.ErrInvalidKey, ""},
			{"not a model", 42, nil, prefetch.ErrNotModel, ""},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				err := prefetch.Invalidate(ctx, tc.model, tc.ids...)
				require.ErrorIs(t, err, tc.want)
				require.Contains(t, err.Error(), tc.text)
				// Nothing was dropped.
				e.requireQueries(t, 0, func() { require.NoError(t, db.First(&Customer{}, 2).Error) })
			})
		}
		require.NoError(t, prefetch.Invalidate(ctx, customers, 2))
		e.requireQueries(t, 1, func() { require.NoError(t, db.First(&Customer{}, 2).Error) })
	})
}

type Pairing struct {
	A, B  int `gorm:"primaryKey;autoIncrement:false"`
	Label string
}

func TestInvalidateCompositeKeys(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		require.NoError(t, e.plain.AutoMigrate(&Pairing{}))
		t.Cleanup(func() { _ = e.plain.Migrator().DropTable(&Pairing{}) })
		require.NoError(t, e.plain.Create(&[]Pairing{{1, 1, "a"}, {1, 2, "b"}}).Error)
		ctx, db := e.request()
		require.NoError(t, db.Find(&[]Pairing{}).Error)
		require.ErrorIs(t, prefetch.Invalidate(ctx, &Pairing{}, 1), prefetch.ErrInvalidKey)
		require.ErrorIs(t, prefetch.Invalidate(ctx, &Pairing{}, []int{1, 2, 3}), prefetch.ErrInvalidKey)
		require.NoError(t, prefetch.Invalidate(ctx, &Pairing{}, []int{1, 2}))
		e.requireQueries(t, 0, func() { require.NoError(t, db.First(&Pairing{}, "a = ? AND b = ?", 1, 1).Error) })
		e.requireQueries(t, 1, func() { require.NoError(t, db.First(&Pairing{}, "a = ? AND b = ?", 1, 2).Error) })
	})
}

// Two handles on one in-memory SQLite database opened with DSNs the plugin
// cannot tell are the same: invalidation is shared only when Plugin.Database
// names them alike.
func TestPluginDatabaseGroupsHandles(t *testing.T) {
	for _, named := range []bool{false, true} {
		t.Run(fmt.Sprintf("named=%v", named), func(t *testing.T) {
			mem := fmt.Sprintf("grouped%d", tableSeq.Add(1))
			open := func(dsn string) *gorm.DB {
				db, err := gorm.Open(sqlite.Open(dsn), &gorm.Config{Logger: quiet})
				require.NoError(t, err)
				sqlDB, err := db.DB()
				require.NoError(t, err)
				t.Cleanup(func() { sqlDB.Close() })
				p := prefetch.Plugin{}
				if named {
					p.Database = mem
				}
				require.NoError(t, db.Use(p))
				return db
			}
			read := open("file:" + mem + "?mode=memory&cache=shared")
			write := open("file:" + mem + "?cache=shared&mode=memory")
			require.NoError(t, read.AutoMigrate(&Region{}))
			require.NoError(t, write.Create(&Region{ID: 1, Name: "before"}).Error)

			ctx := prefetch.NewContext(t.Context())
			var r Region
			require.NoError(t, read.WithContext(ctx).First(&r, 1).Error)
			require.NoError(t, write.Model(&Region{ID: 1}).Update("name", "after").Error)
			require.NoError(t, read.WithContext(ctx).First(&r, 1).Error)
			if named {
				require.Equal(t, "after", r.Name)
			} else {
				require.Equal(t, "before", r.Name, "handles the plugin cannot match do not share invalidation")
			}
		})
	}
}

func TestInvalidateWithoutARequestCacheOnlyChecks(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		require.NoError(t, prefetch.Invalidate(t.Context(), &Customer{}, 1))
		require.True(t, errors.Is(prefetch.Invalidate(t.Context(), &Customer{}, "x"), prefetch.ErrInvalidKey))
	})
}
