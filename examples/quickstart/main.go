// Command quickstart shows prefetch removing the N+1 queries of a handler.
//
// It seeds an embedded SQLite database with customers and orders, then runs
// the same handler code twice: on plain GORM, and with the plugin and a
// request context. The handler lists orders with their customers the naive
// way, one First per order, and counts the statements that reach SQLite
// with prefetchtest, the helper for asserting query counts in tests.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/gorm-prefetch/prefetch"
	"github.com/gorm-prefetch/prefetch/prefetchtest"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

type Customer struct {
	ID    uint
	Name  string
	Email string
}

type Order struct {
	ID         uint
	CustomerID uint
	Customer   Customer
	Amount     int
}

// handler is ordinary GORM code with an N+1 loop.
func handler(db *gorm.DB) (int, error) {
	var orders []Order
	if err := db.Order("id").Find(&orders).Error; err != nil {
		return 0, err
	}
	total := 0
	for _, o := range orders {
		var c Customer
		if err := db.First(&c, o.CustomerID).Error; err != nil {
			return 0, err
		}
		total += len(c.Name) + o.Amount
	}
	return total, nil
}

func main() {
	dir, err := os.MkdirTemp("", "prefetch-quickstart")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	cfg := &gorm.Config{Logger: logger.Discard}
	plain, err := gorm.Open(sqlite.Open(filepath.Join(dir, "shop.db")+"?_journal_mode=WAL"), cfg)
	if err != nil {
		log.Fatal(err)
	}
	sqlDB, err := plain.DB()
	if err != nil {
		log.Fatal(err)
	}
	defer sqlDB.Close()
	withPlugin, err := gorm.Open(sqlite.New(sqlite.Config{Conn: sqlDB}), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		log.Fatal(err)
	}
	if err := withPlugin.Use(prefetch.Plugin{}); err != nil {
		log.Fatal(err)
	}
	if err := seed(plain, 1000, 1000); err != nil {
		log.Fatal(err)
	}

	run := func(name string, db *gorm.DB) int {
		counter := prefetchtest.Count(db) // installed on first use
		counter.Reset()
		start := time.Now()
		total, err := handler(db)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%-12s %5d queries, %8.2f ms\n", name+":", counter.Queries(), float64(time.Since(start).Microseconds())/1000)
		return total
	}
	fmt.Println("1000 orders, then each order's customer with db.First (an N+1 loop):")
	a := run("plain GORM", plain)
	ctx := prefetch.NewContext(context.Background())
	b := run("prefetch", withPlugin.WithContext(ctx))
	if a != b {
		log.Fatalf("results differ: %d vs %d", a, b)
	}
	s := prefetch.StatsOf(ctx)
	fmt.Printf("same results; the plugin served %d statements from its request cache after %d batch load(s).\n", s.Hits, s.BatchLoads)
}

func seed(db *gorm.DB, customers, orders int) error {
	if err := db.AutoMigrate(&Customer{}, &Order{}); err != nil {
		return err
	}
	cs := make([]Customer, customers)
	for i := range cs {
		cs[i] = Customer{Name: fmt.Sprintf("customer %d", i+1), Email: fmt.Sprintf("c%d@example.com", i+1)}
	}
	if err := db.CreateInBatches(&cs, 500).Error; err != nil {
		return err
	}
	os := make([]Order, orders)
	for i := range os {
		os[i] = Order{CustomerID: cs[(i*7)%customers].ID, Amount: i % 100}
	}
	return db.CreateInBatches(&os, 500).Error
}
