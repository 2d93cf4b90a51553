// Command report shows the N+1 report and the request summary of prefetch.
//
// It seeds an embedded SQLite database, then runs one request whose handler
// has three N+1 loops (each order's customer, each customer's orders, each
// order's lines). The plugin batches them; the report says where they are
// and what to write instead, and the summary line sums the request up.
//
//	go run ./examples/report
package main

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/gorm-prefetch/prefetch"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

type Customer struct {
	ID     uint
	Name   string
	Orders []Order
}

type Order struct {
	ID         uint
	CustomerID uint
	Customer   Customer
	Lines      []Line
}

type Line struct {
	ID      uint
	OrderID uint
	Qty     int
}

// handler is ordinary GORM code with three N+1 loops.
func handler(db *gorm.DB) error {
	var orders []Order
	if err := db.Order("id").Find(&orders).Error; err != nil {
		return err
	}
	for _, o := range orders {
		var c Customer
		if err := db.First(&c, o.CustomerID).Error; err != nil {
			return err
		}
		var lines []Line
		if err := db.Where("order_id = ?", o.ID).Find(&lines).Error; err != nil {
			return err
		}
	}
	var customers []Customer
	if err := db.Order("id").Find(&customers).Error; err != nil {
		return err
	}
	for _, c := range customers {
		var orders []Order
		if err := db.Where("customer_id = ?", c.ID).Find(&orders).Error; err != nil {
			return err
		}
	}
	return nil
}

func main() {
	dir, err := os.MkdirTemp("", "prefetch-report")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := gorm.Open(sqlite.Open(filepath.Join(dir, "shop.db")), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		log.Fatal(err)
	}
	if err := db.Use(prefetch.Plugin{}); err != nil {
		log.Fatal(err)
	}
	if err := seed(db); err != nil {
		log.Fatal(err)
	}

	summary := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // stable output
			}
			return a
		},
	}))
	ctx := prefetch.NewContext(context.Background(), prefetch.WithReport(), prefetch.WithSummary(summary))
	if err := handler(db.WithContext(ctx)); err != nil {
		log.Fatal(err)
	}
	fmt.Print(prefetch.ReportOf(ctx))
	fmt.Println()
	prefetch.Finish(ctx) // logs the summary line and empties the cache
}

// seed creates 50 customers with 2 orders each, and 3 lines per order.
func seed(db *gorm.DB) error {
	if err := db.AutoMigrate(&Customer{}, &Order{}, &Line{}); err != nil {
		return err
	}
	for i := 1; i <= 50; i++ {
		c := Customer{Name: fmt.Sprintf("customer %d", i)}
		for j := 0; j < 2; j++ {
			c.Orders = append(c.Orders, Order{Lines: []Line{{Qty: 1}, {Qty: 2}, {Qty: 3}}})
		}
		if err := db.Create(&c).Error; err != nil {
			return err
		}
	}
	return nil
}
