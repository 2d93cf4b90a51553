package prefetchtest_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/gorm-prefetch/prefetch"
	"github.com/gorm-prefetch/prefetch/prefetchtest"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// shop opens a SQLite database in a temporary directory with 3 customers
// and 6 orders; done removes it.
func shop() (db *gorm.DB, done func()) {
	dir, err := os.MkdirTemp("", "prefetchtest")
	if err != nil {
		log.Fatal(err)
	}
	db, err = gorm.Open(sqlite.Open(filepath.Join(dir, "shop.db")), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		log.Fatal(err)
	}
	if err := db.AutoMigrate(&Customer{}, &Order{}); err != nil {
		log.Fatal(err)
	}
	cs := []Customer{{Name: "ann"}, {Name: "bob"}, {Name: "cy"}}
	if err := db.Create(&cs).Error; err != nil {
		log.Fatal(err)
	}
	for i := range 6 {
		if err := db.Create(&Order{CustomerID: cs[i%3].ID, Amount: i}).Error; err != nil {
			log.Fatal(err)
		}
	}
	sqlDB, _ := db.DB()
	return db, func() { sqlDB.Close(); os.RemoveAll(dir) }
}

// handler is ordinary GORM code with an N+1 loop.
func handler(db *gorm.DB) {
	var orders []Order
	db.Find(&orders)
	for _, o := range orders {
		var c Customer
		db.First(&c, o.CustomerID)
	}
}

func Example() {
	db, done := shop()
	defer done()
	if err := db.Use(prefetch.Plugin{}); err != nil {
		log.Fatal(err)
	}

	c := prefetchtest.Count(db)
	c.Reset()
	handler(db.WithContext(prefetch.NewContext(context.Background())))
	fmt.Println(c.Queries(), "queries:")
	for _, s := range c.Statements() {
		fmt.Println(s)
	}
	// Output:
	// 2 queries:
	// SELECT * FROM `orders`
	// SELECT * FROM `customers` WHERE `customers`.`id` IN (?,?,?)
}

// printTB prints what an assertion reports; in a test, pass t.
type printTB struct{}

func (printTB) Helper()                           {}
func (printTB) Errorf(format string, args ...any) { fmt.Printf(format+"\n", args...) }

func ExampleAssertMaxQueries() {
	db, done := shop()
	defer done()
	t := printTB{} // in a test: t *testing.T

	// Plain GORM: one query per order.
	prefetchtest.AssertMaxQueries(t, db, 2, func() { handler(db) })
	// Output:
	// prefetchtest: want at most 2 queries, got 7:
	//    1. SELECT * FROM `orders`
	//    2. SELECT * FROM `customers` WHERE `customers`.`id` = ? ORDER BY `customers`.`id` LIMIT 1
	//    3. SELECT * FROM `customers` WHERE `customers`.`id` = ? ORDER BY `customers`.`id` LIMIT 1
	//    4. SELECT * FROM `customers` WHERE `customers`.`id` = ? ORDER BY `customers`.`id` LIMIT 1
	//    5. SELECT * FROM `customers` WHERE `customers`.`id` = ? ORDER BY `customers`.`id` LIMIT 1
	//    6. SELECT * FROM `customers` WHERE `customers`.`id` = ? ORDER BY `customers`.`id` LIMIT 1
	//    7. SELECT * FROM `customers` WHERE `customers`.`id` = ? ORDER BY `customers`.`id` LIMIT 1
}
