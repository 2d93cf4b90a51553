// Package benchmarks compares prefetch with what a Go developer would write
// instead: the plain N+1 loop, hand-written Preload and Joins, go-gorm/caches
// and a dataloader. It is a module of its own, so that none of these peers
// enters the library's go.mod.
//
//	./run.sh              # SQLite, and PostgreSQL when a DSN is set
package benchmarks

import (
	"fmt"

	"gorm.io/gorm"
)

// Customer has many orders.
type Customer struct {
	ID     uint
	Name   string
	Email  string
	City   string
	Orders []Order
}

// Order belongs to a customer and has many lines.
type Order struct {
	ID         uint
	CustomerID uint
	Customer   Customer
	Total      int
	Status     string
	Lines      []Line
}

// Line belongs to an order and a product.
type Line struct {
	ID        uint
	OrderID   uint
	ProductID uint
	Product   Product
	Qty       int
}

// Product has many tags through product_tags.
type Product struct {
	ID    uint
	Name  string
	Price int
	Tags  []Tag `gorm:"many2many:product_tags"`
}

// Tag is a product label.
type Tag struct {
	ID   uint
	Name string
}

// Sizes says how much data Seed writes.
type Sizes struct {
	Customers     int
	Orders        int
	LinesPerOrder int
	Products      int
}

// Models lists the tables, for migrations.
func Models() []any { return []any{&Customer{}, &Order{}, &Line{}, &Product{}, &Tag{}} }

// Seed creates the tables and writes deterministic data: order i belongs to
// customer (7i mod Customers)+1, so consecutive orders spread over customers.
func Seed(db *gorm.DB, s Sizes) error {
	if err := db.Migrator().DropTable(append(Models(), db.NamingStrategy.JoinTableName("product_tags"))...); err != nil {
		return err
	}
	if err := db.AutoMigrate(Models()...); err != nil {
		return err
	}
	tags := []Tag{{Name: "new"}, {Name: "sale"}, {Name: "eco"}}
	if err := db.Create(&tags).Error; err != nil {
		return err
	}
	products := make([]Product, s.Products)
	for i := range products {
		products[i] = Product{Name: fmt.Sprintf("product %d", i+1), Price: 100 + i, Tags: []Tag{tags[i%3]}}
	}
	if err := db.CreateInBatches(&products, 500).Error; err != nil {
		return err
	}
	customers := make([]Customer, s.Customers)
	for i := range customers {
		customers[i] = Customer{Name: fmt.Sprintf("customer %d", i+1), Email: fmt.Sprintf("c%d@example.com", i+1), City: []string{"Lyon", "Oslo", "Lima"}[i%3]}
	}
	if err := db.CreateInBatches(&customers, 1000).Error; err != nil {
		return err
	}
	orders := make([]Order, s.Orders)
	for i := range orders {
		orders[i] = Order{CustomerID: customers[(i*7)%s.Customers].ID, Total: i % 500, Status: []string{"open", "paid"}[i%2]}
	}
	if err := db.CreateInBatches(&orders, 1000).Error; err != nil {
		return err
	}
	lines := make([]Line, 0, s.Orders*s.LinesPerOrder)
	for i, o := range orders {
		for j := 0; j < s.LinesPerOrder; j++ {
			lines = append(lines, Line{OrderID: o.ID, ProductID: products[(i*3+j)%s.Products].ID, Qty: j + 1})
		}
	}
	return db.CreateInBatches(&lines, 1000).Error
}
