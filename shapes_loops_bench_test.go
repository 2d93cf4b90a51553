package prefetch_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/gorm-prefetch/prefetch"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/schema"
)

// BenchmarkLoopShapes times a page of 100 customers (5 orders each), then
// per customer its latest order, its orders of one amount, or how many
// orders it has: the plain loop (101 queries), the same loop with the plugin
// (2), and the page written with Preload("Orders") and the answer worked out
// in Go (2).
//
// On PostgreSQL too when PREFETCH_TEST_POSTGRES_DSN is set.
//
//	go test -run '^$' -bench LoopShapes -benchmem
func BenchmarkLoopShapes(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		plugin, plain := benchDBs(b, 100, 5)
		benchLoopShapes(b, plugin, plain)
	})
	b.Run("postgres", func(b *testing.B) {
		dsn := os.Getenv("PREFETCH_TEST_POSTGRES_DSN")
		if dsn == "" {
			b.Skip("PREFETCH_TEST_POSTGRES_DSN not set")
		}
		plugin, plain := benchPostgres(b, dsn, 100, 5)
		benchLoopShapes(b, plugin, plain)
	})
}

// benchPostgres opens PostgreSQL twice, with and without the plugin, on
// tables of the benchmark's own, seeded like benchDBs.
func benchPostgres(b *testing.B, dsn string, customers, ordersPer int) (plugin, plain *gorm.DB) {
	b.Helper()
	naming := schema.NamingStrategy{TablePrefix: fmt.Sprintf("b%d_%d_", os.Getpid(), tableSeq.Add(1))}
	open := func() *gorm.DB {
		db, err := gorm.Open(postgres.Open(dsn), &gorm.Config{Logger: quiet, NamingStrategy: naming})
		if err != nil {
			b.Fatal(err)
		}
		sqlDB, _ := db.DB()
		b.Cleanup(func() { sqlDB.Close() })
		return db
	}
	plain, plugin = open(), open()
	if err := plugin.Use(prefetch.Plugin{}); err != nil {
		b.Fatal(err)
	}
	if err := plain.AutoMigrate(&Customer{}, &Order{}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = plain.Migrator().DropTable(&Order{}, &Customer{}) })
	cs := make([]Customer, customers)
	for i := range cs {
		cs[i].Name = fmt.Sprintf("customer %d", i+1)
	}
	plain.CreateInBatches(&cs, 500)
	var orders []Order
	for i := range cs {
		for j := 0; j < ordersPer; j++ {
			orders = append(orders, Order{CustomerID: cs[i].ID, Amount: j})
		}
	}
	plain.CreateInBatches(&orders, 500)
	return plugin, plain
}

func benchLoopShapes(b *testing.B, plugin, plain *gorm.DB) {
	shapes := []struct {
		name    string
		loop    func(tx *gorm.DB, c Customer) error
		preload func(c Customer) any
	}{
		{"latest", func(tx *gorm.DB, c Customer) error {
			var o Order
			return tx.Where("customer_id = ?", c.ID).Order("id desc").First(&o).Error
		}, func(c Customer) any {
			var latest *Order
			for i := range c.Orders {
				if latest == nil || c.Orders[i].ID > latest.ID {
					latest = &c.Orders[i]
				}
			}
			return latest
		}},
		{"filtered", func(tx *gorm.DB, c Customer) error {
			var os []Order
			return tx.Where("customer_id = ? AND amount = ?", c.ID, 2).Find(&os).Error
		}, func(c Customer) any {
			var out []Order
			for _, o := range c.Orders {
				if o.Amount == 2 {
					out = append(out, o)
				}
			}
			return out
		}},
		{"count", func(tx *gorm.DB, c Customer) error {
			a := tx.Model(&c).Association("Orders")
			a.Count()
			return a.Error
		}, func(c Customer) any { return len(c.Orders) }},
	}
	page := func(tx *gorm.DB) []Customer {
		var cs []Customer
		if err := tx.Order("id").Limit(100).Find(&cs).Error; err != nil {
			b.Fatal(err)
		}
		return cs
	}
	for _, s := range shapes {
		loop := func(b *testing.B, tx func() *gorm.DB) {
			b.ReportAllocs()
			for b.Loop() {
				db := tx()
				for _, c := range page(db) {
					if err := s.loop(db, c); err != nil {
						b.Fatal(err)
					}
				}
			}
		}
		b.Run(s.name+"/plain", func(b *testing.B) { loop(b, func() *gorm.DB { return plain }) })
		b.Run(s.name+"/prefetch", func(b *testing.B) {
			loop(b, func() *gorm.DB { return plugin.WithContext(prefetch.NewContext(context.Background())) })
		})
		b.Run(s.name+"/preload", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var cs []Customer
				if err := plain.Preload("Orders").Order("id").Limit(100).Find(&cs).Error; err != nil {
					b.Fatal(err)
				}
				for _, c := range cs {
					_ = s.preload(c)
				}
			}
		})
	}
}
