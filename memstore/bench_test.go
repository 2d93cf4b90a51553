package memstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/gorm-prefetch/prefetch"
	"github.com/gorm-prefetch/prefetch/memstore"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
	"gorm.io/gorm/schema"
)

// Customer is not listed in the shared cache: the overhead on models that
// are not opted in.
type Customer struct {
	ID   uint
	Name string
}

// benchDBs opens the benchmark's database (SQLite in a temporary file, or
// PostgreSQL from PREFETCH_BENCH_POSTGRES_DSN) three times: plain, with the
// plugin, with the plugin and a warm shared cache of Product.
func benchDBs(b *testing.B, dialect string) (plain, plugin, shared *gorm.DB) {
	b.Helper()
	var dial func() gorm.Dialector
	naming := schema.NamingStrategy{}
	switch dialect {
	case "sqlite":
		dsn := filepath.Join(b.TempDir(), "bench.db") + "?_journal_mode=WAL&_busy_timeout=5000"
		dial = func() gorm.Dialector { return sqlite.Open(dsn) }
	case "postgres":
		dsn := os.Getenv("PREFETCH_BENCH_POSTGRES_DSN")
		if dsn == "" {
			b.Skip("PREFETCH_BENCH_POSTGRES_DSN not set")
		}
		dial = func() gorm.Dialector { return postgres.Open(dsn) }
		naming.TablePrefix = fmt.Sprintf("mbench%d_", os.Getpid())
	}
	open := func(p *prefetch.Plugin) *gorm.DB {
		db, err := gorm.Open(dial(), &gorm.Config{Logger: logger.Discard, NamingStrategy: naming})
		if err != nil {
			b.Fatal(err)
		}
		if p != nil {
			if err := db.Use(*p); err != nil {
				b.Fatal(err)
			}
		}
		return db
	}
	store := memstore.New(memstore.Options{})
	b.Cleanup(store.Close)
	plain = open(nil)
	if err := plain.AutoMigrate(&Product{}, &Customer{}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = plain.Migrator().DropTable(&Product{}, &Customer{}) })
	ps, cs := make([]Product, 100), make([]Customer, 100)
	for i := range ps {
		ps[i].Name, cs[i].Name = fmt.Sprint("p", i), fmt.Sprint("c", i)
	}
	plain.Create(&ps)
	plain.Create(&cs)
	plugin = open(&prefetch.Plugin{})
	shared = open(&prefetch.Plugin{Shared: &prefetch.SharedCache{Store: store, Models: []any{&Product{}}, Unpartitioned: true}})
	if _, err := prefetch.Warm(context.Background(), shared, &Product{}); err != nil {
		b.Fatal(err)
	}
	return plain, plugin, shared
}

// BenchmarkKeyLookup compares a key lookup in a fresh request: plain
// GORM, the plugin (a query: the request cache is cold), and the plugin
// with a warm in-process shared cache (no query).
func BenchmarkKeyLookup(b *testing.B) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		b.Run(dialect, func(b *testing.B) {
			plain, plugin, shared := benchDBs(b, dialect)
			run := func(db *gorm.DB, model func() any) func(b *testing.B) {
				return func(b *testing.B) {
					b.ReportAllocs()
					for i := 0; b.Loop(); i++ {
						ctx := prefetch.NewContext(context.Background())
						if err := db.WithContext(ctx).First(model(), i%100+1).Error; err != nil {
							b.Fatal(err)
						}
					}
				}
			}
			product := func() any { return &Product{} }
			customer := func() any { return &Customer{} }
			b.Run("plain", run(plain, product))
			b.Run("plugin", run(plugin, product))
			b.Run("shared-warm", run(shared, product))
			// A model not listed, on a handle with a shared cache: the
			// same cost as on a handle without one.
			b.Run("not-listed/plugin", run(plugin, customer))
			b.Run("not-listed/shared", run(shared, customer))
		})
	}
}
