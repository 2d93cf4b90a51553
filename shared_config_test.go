package prefetch_test

import (
	"context"
	"testing"
	"time"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
)

type keyless struct{ Name string }

type badTTL struct{ ID uint }

func (badTTL) SharedCacheTTL() time.Duration { return 0 }

type Tinted struct {
	ID   uint
	Name string
}

func (Tinted) SharedCacheTTL() time.Duration { return time.Minute }

type otherProducts struct {
	Code string `gorm:"primaryKey"`
}

func (otherProducts) TableName() string { return "products" }

func TestInvalidSharedCacheSettingsAreRejectedWhenThePluginIsRegistered(t *testing.T) {
	store := newTestStore()
	ok := func() prefetch.SharedCache {
		return prefetch.SharedCache{Store: store, Models: []any{&Product{}}, Unpartitioned: true}
	}
	cases := map[string]func(*prefetch.SharedCache){
		"no store":              func(c *prefetch.SharedCache) { c.Store = nil },
		"no models":             func(c *prefetch.SharedCache) { c.Models = nil },
		"no partition":          func(c *prefetch.SharedCache) { c.Unpartitioned = false },
		"negative TTL":          func(c *prefetch.SharedCache) { c.TTL = -time.Second },
		"negative timeout":      func(c *prefetch.SharedCache) { c.Timeout = -time.Second },
		"negative lifetime":     func(c *prefetch.SharedCache) { c.LeaseLifetime = -time.Second },
		"model without a key":   func(c *prefetch.SharedCache) { c.Models = []any{&keyless{}} },
		"model TTL of zero":     func(c *prefetch.SharedCache) { c.Models = []any{&badTTL{}} },
		"not a model":           func(c *prefetch.SharedCache) { c.Models = []any{42} },
		"one table, other keys": func(c *prefetch.SharedCache) { c.Models = []any{&Product{}, &otherProducts{}} },
	}
	dsn := t.TempDir() + "/db.sqlite"
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			db, err := gorm.Open(sqlite.Open(dsn), &gorm.Config{Logger: quiet})
			require.NoError(t, err)
			c := ok()
			edit(&c)
			require.ErrorIs(t, db.Use(prefetch.Plugin{Shared: &c}), prefetch.ErrInvalidConfig)
		})
	}
	t.Run("valid", func(t *testing.T) {
		db, err := gorm.Open(sqlite.Open(dsn), &gorm.Config{Logger: quiet})
		require.NoError(t, err)
		c := ok()
		c.Models = append(c.Models, Tinted{})
		require.NoError(t, db.Use(prefetch.Plugin{Shared: &c}))
	})
	t.Run("in-memory database without a name", func(t *testing.T) {
		db, err := gorm.Open(sqlite.Open(":memory:"), &gorm.Config{Logger: quiet})
		require.NoError(t, err)
		c := ok()
		require.ErrorIs(t, db.Use(prefetch.Plugin{Shared: &c}), prefetch.ErrInvalidConfig)
		db, err = gorm.Open(sqlite.Open(":memory:"), &gorm.Config{Logger: quiet})
		require.NoError(t, err)
		require.NoError(t, db.Use(prefetch.Plugin{Shared: &c, Database: "scratch"}))
	})
}

func TestInvalidateReachesTheSharedCache(t *testing.T) {
	forEachDB(t, "", func(t *testing.T, dialect string) {
		e := openShared(t, dialect, nil)
		e.seedProducts(t, 3)
		for _, id := range []uint{1, 2, 3} {
			productName(t, e.db, id)
		}
		// A change the plugin cannot see, then Invalidate.
		require.NoError(t, e.plain.Model(&Product{ID: 1}).Update("name", "new 1").Error)
		require.NoError(t, e.plain.Model(&Product{}).Where("id > 1").Update("name", "new").Error)
		require.NoError(t, prefetch.Invalidate(context.Background(), &Product{}, 1))
		require.Equal(t, "new 1", productName(t, e.b, 1))
		require.Equal(t, "product b", productName(t, e.b, 2), "only key 1 was invalidated")
		require.NoError(t, prefetch.Invalidate(prefetch.NewContext(context.Background()), "products"))
		require.Equal(t, "new", productName(t, e.b, 2))
		require.Equal(t, "new", productName(t, e.b, 3))
		// Clear empties a request cache, never the shared cache.
		ctx := prefetch.NewContext(context.Background())
		productName(t, e.db, 2)
		prefetch.Clear(ctx)
		require.Zero(t, queriesOf(t, e.count, func() { require.Equal(t, "new", productName(t, e.db, 2)) }))
	})
}
