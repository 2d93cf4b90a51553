package prefetch_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/gorm-prefetch/prefetch"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
)

// Cost of the N+1 report, strict-log mode and an Observer, against a
// request with none (whose cost must be that of the code before them: run
// BenchmarkInsightOff on both builds and compare with benchstat).
//
//	go test -run '^$' -bench Insight -benchmem -count 6

var insightSeq atomic.Int64

// insightDB opens an in-memory SQLite database with plugin p, 1000
// customers and 1000 orders (order i belongs to customer i).
func insightDB(b *testing.B, p prefetch.Plugin) *gorm.DB {
	b.Helper()
	dsn := fmt.Sprintf("file:insight%d?mode=memory&cache=shared", insightSeq.Add(1))
	db, err := gorm.Open(sqlite.Open(dsn), &gorm.Config{Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	sqlDB, _ := db.DB()
	sqlDB.SetMaxOpenConns(1)
	b.Cleanup(func() { sqlDB.Close() })
	if err := db.Use(p); err != nil {
		b.Fatal(err)
	}
	if err := db.AutoMigrate(&Customer{}, &Order{}); err != nil {
		b.Fatal(err)
	}
	cs := make([]Customer, 1000)
	for i := range cs {
		cs[i].Name = fmt.Sprint("customer ", i+1)
	}
	db.CreateInBatches(&cs, 500)
	os := make([]Order, 1000)
	for i := range os {
		os[i] = Order{CustomerID: cs[i].ID, Amount: i}
	}
	db.CreateInBatches(&os, 500)
	return db
}

// insightWork is one request's work: a primary-key lookup served from the
// cache, or the N+1 loop (1000 orders, then each order's customer).
var insightWork = []struct {
	name string
	run  func(b *testing.B, db *gorm.DB, ctx func() context.Context)
}{
	{"first-served", func(b *testing.B, db *gorm.DB, ctx func() context.Context) {
		tx := db.WithContext(ctx())
		var all []Customer
		tx.Find(&all)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			var c Customer
			if err := tx.First(&c, 1+i%1000).Error; err != nil {
				b.Fatal(err)
			}
		}
	}},
	{"n+1-loop", func(b *testing.B, db *gorm.DB, ctx func() context.Context) {
		for i := 0; i < b.N; i++ {
			tx := db.WithContext(ctx())
			var os []Order
			tx.Find(&os)
			for _, o := range os {
				var c Customer
				if err := tx.First(&c, o.CustomerID).Error; err != nil {
					b.Fatal(err)
				}
			}
		}
	}},
}

func BenchmarkInsightOff(b *testing.B) {
	db := insightDB(b, prefetch.Plugin{})
	for _, w := range insightWork {
		b.Run(w.name, func(b *testing.B) {
			b.ReportAllocs()
			w.run(b, db, func() context.Context { return prefetch.NewContext(context.Background()) })
		})
	}
}
