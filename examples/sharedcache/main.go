// Command sharedcache shows prefetch's shared cache: two handles on one
// database, each with its own plugin (as two instances of an application
// would have), sharing one store. Rows one reads are served to the other
// without a query; a write through one is never followed by a stale read
// through the other.
//
//	go run .
//
// It runs on the in-process store (memstore), which shares rows between
// the handles of one process, or on Redis, which shares them between
// processes too:
//
//	go run . -redis 127.0.0.1:6379
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/gorm-prefetch/prefetch"
	"github.com/gorm-prefetch/prefetch/memstore"
	"github.com/gorm-prefetch/prefetch/redisstore"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Product is shared, for five minutes at most.
type Product struct {
	ID    uint
	Name  string
	Price int
}

// SharedCacheTTL opts Product's rows into a TTL of their own.
func (Product) SharedCacheTTL() time.Duration { return 5 * time.Minute }

// Order is not listed in SharedCache.Models: it behaves as without the
// shared cache.
type Order struct {
	ID        uint
	ProductID uint
	Qty       int
}

// redisAddr is the Redis to share rows through; empty means the in-process
// store.
var redisAddr = flag.String("redis", "", "address (host:port) of a Redis to share rows through; empty: the in-process store")

func main() {
	flag.Parse()
	dir, err := os.MkdirTemp("", "sharedcache")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	dsn := filepath.Join(dir, "shop.db") + "?_journal_mode=WAL&_busy_timeout=5000"

	store, closeStore := newStore()
	defer closeStore()
	open := func() *gorm.DB {
		db, err := gorm.Open(sqlite.Open(dsn), &gorm.Config{Logger: logger.Discard})
		if err != nil {
			log.Fatal(err)
		}
		err = db.Use(prefetch.Plugin{Shared: &prefetch.SharedCache{
			Store:         store,
			Models:        []any{&Product{}},
			Unpartitioned: true, // a shop's catalogue is the same for every request
		}})
		if err != nil {
			log.Fatal(err)
		}
		return db
	}
	a, b := open(), open()
	if err := a.AutoMigrate(&Product{}, &Order{}); err != nil {
		log.Fatal(err)
	}
	products := make([]Product, 100)
	for i := range products {
		products[i] = Product{Name: fmt.Sprintf("product %d", i+1), Price: 10 * (i + 1)}
	}
	a.Create(&products)
	orders := make([]Order, 300)
	for i := range orders {
		orders[i] = Order{ProductID: uint(i%100 + 1), Qty: i%3 + 1}
	}
	a.Create(&orders)

	// Warm the shared cache at startup: one query per BatchSize rows.
	n, err := prefetch.Warm(context.Background(), a, &Product{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("warmed %d products\n", n)

	// A request on instance b: its orders come from the database, their
	// products from the shared cache.
	request(b, "b, warm shared cache")

	// A write through instance a reaches b's next read.
	a.WithContext(prefetch.NewContext(context.Background())).Model(&Product{ID: 1}).Update("price", 999)
	ctx := prefetch.NewContext(context.Background())
	var p Product
	b.WithContext(ctx).First(&p, 1)
	st := prefetch.StatsOf(ctx)
	fmt.Printf("after a's write, b reads product 1 at price %d (shared hits %d, misses %d)\n", p.Price, st.SharedHits, st.SharedMisses)
	request(b, "b, again")
}

// request reads orders and each order's product, as a handler would, and
// prints what it cost.
func request(db *gorm.DB, name string) {
	ctx := prefetch.NewContext(context.Background())
	q := db.WithContext(ctx)
	var orders []Order
	q.Find(&orders)
	total := 0
	for _, o := range orders {
		var p Product
		q.First(&p, o.ProductID)
		total += p.Price * o.Qty
	}
	st := prefetch.StatsOf(ctx)
	fmt.Printf("%s: total %d; queries %d, shared hits %d, misses %d, round trips %d\n",
		name, total, st.Queries, st.SharedHits, st.SharedMisses, st.SharedRoundTrips)
}

// newStore returns the shared store, the in-process one or Redis, and what
// closes it.
func newStore() (prefetch.SharedStore, func()) {
	if *redisAddr == "" {
		fmt.Println("store: in-process (memstore)")
		return memstore.New(memstore.Options{MaxEntries: 10_000}), func() {}
	}
	fmt.Printf("store: Redis at %s\n", *redisAddr)
	// The keys of one run are kept apart from any other run's by a prefix
	// of their own (a real application keeps the default).
	s, err := redisstore.Dial(*redisAddr, redisstore.Options{Prefix: fmt.Sprintf("sharedcache-example:%d", time.Now().UnixNano())})
	if err != nil {
		log.Fatal(err)
	}
	return s, func() { _ = s.Close() }
}
