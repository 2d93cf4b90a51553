package benchmarks

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"
	"unsafe"

	"github.com/gorm-prefetch/prefetch"
	"github.com/graph-gophers/dataloader/v7"
	"gorm.io/gorm"
)

// Each benchmark runs every alternative side by side on each database, so
// that benchstat can compare them within one run. One iteration is one
// request: a fresh request cache, dataloader, or nothing.

// (a) A primary-key lookup repeated within a request.
func BenchmarkRepeatedLookup(b *testing.B) {
	for _, d := range dialects(b) {
		e := getEnv(b, d, defaultSizes())
		b.Run("db="+d+"/alt=plain", func(b *testing.B) {
			e.measure(b, func() { var c Customer; must(b, e.plain.First(&c, 42).Error) })
		})
		// The floor: GORM's own cost for a First that runs no SQL. A DryRun
		// session runs the whole query callback chain (statement clone,
		// conditions, clauses, the SQL text, the logger) and stops where
		// gorm:query would send it; nothing is scanned. A served lookup
		// runs the same chain and then replays the cached row into the
		// struct, so its ratio to this row is what the plugin itself adds.
		b.Run("db="+d+"/alt=floor-dryrun", func(b *testing.B) {
			db := e.plain.Session(&gorm.Session{DryRun: true})
			e.measure(b, func() { var c Customer; db.First(&c, 42) })
		})
		b.Run("db="+d+"/alt=caches-warm", func(b *testing.B) {
			var c Customer
			must(b, e.caches.First(&c, 42).Error)
			e.measure(b, func() { var c Customer; must(b, e.caches.First(&c, 42).Error) })
		})
		b.Run("db="+d+"/alt=prefetch", func(b *testing.B) {
			db := e.request()
			var c Customer
			must(b, db.First(&c, 42).Error)
			e.measure(b, func() { var c Customer; must(b, db.First(&c, 42).Error) })
		})
	}
}

// ordersThenCustomers is the N+1 loop, unmodified: all orders, then each
// order's customer.
func ordersThenCustomers(b *testing.B, db *gorm.DB) {
	var orders []Order
	must(b, db.Find(&orders).Error)
	for i := range orders {
		must(b, db.First(&orders[i].Customer, orders[i].CustomerID).Error)
	}
}

// (b) 1000 orders, then each order's customer.
func BenchmarkOrdersCustomer(b *testing.B) {
	for _, d := range dialects(b) {
		e := getEnv(b, d, defaultSizes())
		b.Run("db="+d+"/alt=plain-n+1", func(b *testing.B) { e.measure(b, func() { ordersThenCustomers(b, e.plain) }) })
		b.Run("db="+d+"/alt=preload", func(b *testing.B) {
			e.measure(b, func() { var os []Order; must(b, e.plain.Preload("Customer").Find(&os).Error) })
		})
		b.Run("db="+d+"/alt=joins", func(b *testing.B) {
			e.measure(b, func() { var os []Order; must(b, e.plain.Joins("Customer").Find(&os).Error) })
		})
		b.Run("db="+d+"/alt=caches-cold", func(b *testing.B) {
			e.measure(b, func() {
				must(b, e.cacher.Invalidate(context.Background()))
				ordersThenCustomers(b, e.caches)
			})
		})
		b.Run("db="+d+"/alt=caches-warm", func(b *testing.B) {
			ordersThenCustomers(b, e.caches)
			e.measure(b, func() { ordersThenCustomers(b, e.caches) })
		})
		b.Run("db="+d+"/alt=dataloader", func(b *testing.B) {
			e.measure(b, func() { ordersWithDataloader(b, e.plain) })
		})
		b.Run("db="+d+"/alt=prefetch-loop", func(b *testing.B) { e.measure(b, func() { ordersThenCustomers(b, e.request()) }) })
		b.Run("db="+d+"/alt=prefetch-load", func(b *testing.B) {
			e.measure(b, func() {
				db := e.request()
				var os []Order
				must(b, db.Find(&os).Error)
				must(b, prefetch.Load(db, &os, "Customer"))
			})
		})
		b.Run("db="+d+"/alt=prefetch-load-each", func(b *testing.B) {
			e.measure(b, func() {
				db := e.request()
				var os []Order
				must(b, db.Find(&os).Error)
				for i := range os {
					must(b, prefetch.Load(db, &os[i], "Customer"))
				}
			})
		})
	}
}

// customerLoader is what a GraphQL server writes for each relation: a batch
// function and a loader per request.
func customerLoader(db *gorm.DB) *dataloader.Loader[uint, *Customer] {
	return dataloader.NewBatchedLoader(func(ctx context.Context, ids []uint) []*dataloader.Result[*Customer] {
		var cs []*Customer
		err := db.WithContext(ctx).Find(&cs, ids).Error
		byID := make(map[uint]*Customer, len(cs))
		for _, c := range cs {
			byID[c.ID] = c
		}
		out := make([]*dataloader.Result[*Customer], len(ids))
		for i, id := range ids {
			out[i] = &dataloader.Result[*Customer]{Data: byID[id], Error: err}
			if err == nil && byID[id] == nil {
				out[i].Error = fmt.Errorf("customer %d not found", id)
			}
		}
		return out
	}, dataloader.WithWait[uint, *Customer](time.Millisecond), dataloader.WithBatchCapacity[uint, *Customer](1000))
}

func ordersWithDataloader(b *testing.B, db *gorm.DB) {
	loader := customerLoader(db)
	var orders []Order
	must(b, db.Find(&orders).Error)
	thunks := make([]dataloader.Thunk[*Customer], len(orders))
	for i, o := range orders {
		thunks[i] = loader.Load(context.Background(), o.CustomerID)
	}
	for i, th := range thunks {
		c, err := th()
		must(b, err)
		orders[i].Customer = *c
	}
}

// (c) 100 customers, then each customer's orders.
func BenchmarkCustomerOrders(b *testing.B) {
	for _, d := range dialects(b) {
		e := getEnv(b, d, defaultSizes())
		loop := func(db *gorm.DB) {
			var cs []Customer
			must(b, db.Limit(100).Order("id").Find(&cs).Error)
			for i := range cs {
				must(b, db.Model(&cs[i]).Association("Orders").Find(&cs[i].Orders))
			}
		}
		b.Run("db="+d+"/alt=plain-n+1", func(b *testing.B) { e.measure(b, func() { loop(e.plain) }) })
		b.Run("db="+d+"/alt=preload", func(b *testing.B) {
			e.measure(b, func() { var cs []Customer; must(b, e.plain.Preload("Orders").Limit(100).Order("id").Find(&cs).Error) })
		})
		b.Run("db="+d+"/alt=dataloader", func(b *testing.B) {
			e.measure(b, func() {
				loader := dataloader.NewBatchedLoader(func(ctx context.Context, ids []uint) []*dataloader.Result[[]Order] {
					var os []Order
					err := e.plain.WithContext(ctx).Where("customer_id IN ?", ids).Find(&os).Error
					by := map[uint][]Order{}
					for _, o := range os {
						by[o.CustomerID] = append(by[o.CustomerID], o)
					}
					out := make([]*dataloader.Result[[]Order], len(ids))
					for i, id := range ids {
						out[i] = &dataloader.Result[[]Order]{Data: by[id], Error: err}
					}
					return out
				}, dataloader.WithWait[uint, []Order](time.Millisecond))
				var cs []Customer
				must(b, e.plain.Limit(100).Order("id").Find(&cs).Error)
				thunks := make([]dataloader.Thunk[[]Order], len(cs))
				for i := range cs {
					thunks[i] = loader.Load(context.Background(), cs[i].ID)
				}
				for i, th := range thunks {
					os, err := th()
					must(b, err)
					cs[i].Orders = os
				}
			})
		})
		b.Run("db="+d+"/alt=prefetch-loop", func(b *testing.B) { e.measure(b, func() { loop(e.request()) }) })
		b.Run("db="+d+"/alt=prefetch-load", func(b *testing.B) {
			e.measure(b, func() {
				db := e.request()
				var cs []Customer
				must(b, db.Limit(100).Order("id").Find(&cs).Error)
				must(b, prefetch.Load(db, &cs, "Orders"))
			})
		})
		b.Run("db="+d+"/alt=prefetch-load-each", func(b *testing.B) {
			e.measure(b, func() {
				db := e.request()
				var cs []Customer
				must(b, db.Limit(100).Order("id").Find(&cs).Error)
				for i := range cs {
					must(b, prefetch.Load(db, &cs[i], "Orders"))
				}
			})
		})
	}
}

// (d) Three levels: orders, their lines, each line's product.
func BenchmarkThreeLevels(b *testing.B) {
	for _, d := range dialects(b) {
		e := getEnv(b, d, defaultSizes())
		loop := func(db *gorm.DB) {
			var os []Order
			must(b, db.Limit(200).Order("id").Find(&os).Error)
			for i := range os {
				must(b, db.Model(&os[i]).Association("Lines").Find(&os[i].Lines))
				for j := range os[i].Lines {
					l := &os[i].Lines[j]
					must(b, db.First(&l.Product, l.ProductID).Error)
				}
			}
		}
		b.Run("db="+d+"/alt=plain-n+1", func(b *testing.B) { e.measure(b, func() { loop(e.plain) }) })
		b.Run("db="+d+"/alt=preload", func(b *testing.B) {
			e.measure(b, func() {
				var os []Order
				must(b, e.plain.Preload("Lines.Product").Limit(200).Order("id").Find(&os).Error)
			})
		})
		b.Run("db="+d+"/alt=dataloader", func(b *testing.B) { e.measure(b, func() { threeLevelsWithDataloader(b, e.plain) }) })
		b.Run("db="+d+"/alt=prefetch-loop", func(b *testing.B) { e.measure(b, func() { loop(e.request()) }) })
		b.Run("db="+d+"/alt=prefetch-load", func(b *testing.B) {
			e.measure(b, func() {
				db := e.request()
				var os []Order
				must(b, db.Limit(200).Order("id").Find(&os).Error)
				must(b, prefetch.Load(db, &os, "Lines.Product"))
			})
		})
		b.Run("db="+d+"/alt=prefetch-load-each", func(b *testing.B) {
			e.measure(b, func() {
				db := e.request()
				var os []Order
				must(b, db.Limit(200).Order("id").Find(&os).Error)
				for i := range os {
					must(b, prefetch.Load(db, &os[i], "Lines"))
					for j := range os[i].Lines {
						must(b, prefetch.Load(db, &os[i].Lines[j], "Product"))
					}
				}
			})
		})
	}
}

// threeLevelsWithDataloader is (d) as a GraphQL server would batch it: a
// loader per relation (lines by order, products by key), each level's thunks
// collected before any is resolved.
func threeLevelsWithDataloader(b *testing.B, db *gorm.DB) {
	ctx := context.Background()
	linesOf := dataloader.NewBatchedLoader(func(ctx context.Context, ids []uint) []*dataloader.Result[[]Line] {
		var ls []Line
		err := db.WithContext(ctx).Where("order_id IN ?", ids).Order("id").Find(&ls).Error
		by := make(map[uint][]Line, len(ids))
		for _, l := range ls {
			by[l.OrderID] = append(by[l.OrderID], l)
		}
		out := make([]*dataloader.Result[[]Line], len(ids))
		for i, id := range ids {
			out[i] = &dataloader.Result[[]Line]{Data: by[id], Error: err}
		}
		return out
	}, dataloader.WithWait[uint, []Line](time.Millisecond))
	product := dataloader.NewBatchedLoader(func(ctx context.Context, ids []uint) []*dataloader.Result[*Product] {
		var ps []*Product
		err := db.WithContext(ctx).Find(&ps, ids).Error
		by := make(map[uint]*Product, len(ps))
		for _, p := range ps {
			by[p.ID] = p
		}
		out := make([]*dataloader.Result[*Product], len(ids))
		for i, id := range ids {
			out[i] = &dataloader.Result[*Product]{Data: by[id], Error: err}
			if err == nil && by[id] == nil {
				out[i].Error = fmt.Errorf("product %d not found", id)
			}
		}
		return out
	}, dataloader.WithWait[uint, *Product](time.Millisecond))

	var os []Order
	must(b, db.Limit(200).Order("id").Find(&os).Error)
	lineThunks := make([]dataloader.Thunk[[]Line], len(os))
	for i := range os {
		lineThunks[i] = linesOf.Load(ctx, os[i].ID)
	}
	var productThunks []dataloader.Thunk[*Product]
	for i, th := range lineThunks {
		ls, err := th()
		must(b, err)
		os[i].Lines = ls
		for _, l := range ls {
			productThunks = append(productThunks, product.Load(ctx, l.ProductID))
		}
	}
	k := 0
	for i := range os {
		for j := range os[i].Lines {
			p, err := productThunks[k]()
			must(b, err)
			os[i].Lines[j].Product = *p
			k++
		}
	}
}

// Many2many (beyond the scenarios): 100 products, then each
// product's tags through the product_tags join table.
func BenchmarkProductTags(b *testing.B) {
	for _, d := range dialects(b) {
		e := getEnv(b, d, defaultSizes())
		loop := func(db *gorm.DB) {
			var ps []Product
			must(b, db.Limit(100).Order("id").Find(&ps).Error)
			for i := range ps {
				must(b, db.Model(&ps[i]).Association("Tags").Find(&ps[i].Tags))
			}
		}
		b.Run("db="+d+"/alt=plain-n+1", func(b *testing.B) { e.measure(b, func() { loop(e.plain) }) })
		b.Run("db="+d+"/alt=preload", func(b *testing.B) {
			e.measure(b, func() { var ps []Product; must(b, e.plain.Preload("Tags").Limit(100).Order("id").Find(&ps).Error) })
		})
		b.Run("db="+d+"/alt=prefetch-loop", func(b *testing.B) { e.measure(b, func() { loop(e.request()) }) })
		b.Run("db="+d+"/alt=prefetch-load", func(b *testing.B) {
			e.measure(b, func() {
				db := e.request()
				var ps []Product
				must(b, db.Limit(100).Order("id").Find(&ps).Error)
				must(b, prefetch.Load(db, &ps, "Tags"))
			})
		})
	}
}

// (e) Statements prefetch cannot help: its overhead.
func BenchmarkUncacheable(b *testing.B) {
	stmts := []struct {
		name string
		run  func(db *gorm.DB) error
	}{
		{"joins", func(db *gorm.DB) error {
			var os []Order
			return db.Joins("Customer").Limit(20).Find(&os).Error
		}},
		{"aggregate", func(db *gorm.DB) error {
			var n int64
			return db.Model(&Order{}).Where("status = ?", "paid").Count(&n).Error
		}},
		{"conditional-scan", func(db *gorm.DB) error {
			var os []Order
			return db.Where("total BETWEEN ? AND ?", 10, 30).Find(&os).Error
		}},
	}
	for _, d := range dialects(b) {
		e := getEnv(b, d, defaultSizes())
		for _, st := range stmts {
			b.Run("db="+d+"/stmt="+st.name+"/alt=plain", func(b *testing.B) { e.measure(b, func() { must(b, st.run(e.plain)) }) })
			b.Run("db="+d+"/stmt="+st.name+"/alt=prefetch-no-cache", func(b *testing.B) { e.measure(b, func() { must(b, st.run(e.plugin)) }) })
			b.Run("db="+d+"/stmt="+st.name+"/alt=prefetch-request", func(b *testing.B) {
				db := e.request()
				e.measure(b, func() { must(b, st.run(db)) })
			})
		}
	}
}

// (f) Updates by key: the cost of invalidation.
func BenchmarkUpdateByKey(b *testing.B) {
	for _, d := range dialects(b) {
		e := getEnv(b, d, defaultSizes())
		update := func(db *gorm.DB, i int) {
			must(b, db.Model(&Customer{ID: uint(1 + i%100)}).Update("city", fmt.Sprint("city ", i%7)).Error)
		}
		b.Run("db="+d+"/alt=plain", func(b *testing.B) { i := 0; e.measure(b, func() { i++; update(e.plain, i) }) })
		b.Run("db="+d+"/alt=prefetch", func(b *testing.B) {
			db := e.request()
			var cs []Customer
			must(b, db.Limit(100).Find(&cs).Error)
			i := 0
			e.measure(b, func() { i++; update(db, i) })
		})
	}
}

// (g) Scope sizes: 10 to 100k orders, then each order's customer; cost per
// record and memory per cached row.
func BenchmarkScopeSize(b *testing.B) {
	maxScope := *flagMaxScope
	if testing.Short() {
		maxScope = min(maxScope, 1000)
	}
	for _, d := range dialects(b) {
		e := getEnv(b, d, Sizes{Customers: maxScope, Orders: maxScope, LinesPerOrder: 0, Products: 1})
		for n := 10; n <= maxScope; n *= 10 {
			loop := func(db *gorm.DB) {
				var orders []Order
				must(b, db.Where("id <= ?", n).Find(&orders).Error)
				for i := range orders {
					must(b, db.First(&orders[i].Customer, orders[i].CustomerID).Error)
				}
			}
			b.Run(fmt.Sprintf("db=%s/scope=%d/alt=prefetch-loop", d, n), func(b *testing.B) {
				e.measure(b, func() { loop(e.request()) })
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
			})
			b.Run(fmt.Sprintf("db=%s/scope=%d/alt=preload", d, n), func(b *testing.B) {
				var orders []Order
				if err := e.plain.Preload("Customer").Where("id <= ?", n).Find(&orders).Error; err != nil {
					// GORM's Preload puts every key in one statement.
					b.Skipf("Preload fails at this size: %v", err)
				}
				e.measure(b, func() {
					var orders []Order
					must(b, e.plain.Preload("Customer").Where("id <= ?", n).Find(&orders).Error)
				})
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
			})
		}
		b.Run(fmt.Sprintf("db=%s/scope=%d/alt=prefetch-memory", d, min(maxScope, 10000)), func(b *testing.B) {
			n := min(maxScope, 10000)
			var before, after runtime.MemStats
			var ctx context.Context
			for i := 0; i < b.N; i++ {
				// The previous request's cache must not count in before;
				// pgx keeps the last context a connection used.
				prefetch.Clear(ctx)
				runtime.GC()
				runtime.ReadMemStats(&before)
				ctx = prefetch.NewContext(context.Background())
				var cs []Customer
				must(b, e.plugin.WithContext(ctx).Where("id <= ?", n).Find(&cs).Error)
				cs = nil
				runtime.GC()
				runtime.ReadMemStats(&after)
			}
			rows := prefetch.StatsOf(ctx).Rows
			perRow := float64(after.HeapAlloc-before.HeapAlloc) / float64(rows)
			b.ReportMetric(perRow, "B/row")
			structSize := float64(unsafe.Sizeof(Customer{})) + float64(len("customer 10000")+len("c10000@example.com")+len("Lyon"))
			b.ReportMetric(perRow/structSize, "x-struct")
			runtime.KeepAlive(ctx)
		})
	}
}

// (h) An HTTP endpoint: JSON of 100 orders with their customers and lines.
func BenchmarkHTTP(b *testing.B) {
	for _, d := range dialects(b) {
		e := getEnv(b, d, defaultSizes())
		naive := func(db *gorm.DB) ([]Order, error) {
			var os []Order
			if err := db.Limit(100).Order("id").Find(&os).Error; err != nil {
				return nil, err
			}
			for i := range os {
				if err := db.First(&os[i].Customer, os[i].CustomerID).Error; err != nil {
					return nil, err
				}
				if err := db.Where("order_id = ?", os[i].ID).Find(&os[i].Lines).Error; err != nil {
					return nil, err
				}
			}
			return os, nil
		}
		// The naive handler written with Load, record by record.
		loadEach := func(db *gorm.DB) ([]Order, error) {
			var os []Order
			if err := db.Limit(100).Order("id").Find(&os).Error; err != nil {
				return nil, err
			}
			for i := range os {
				if err := prefetch.Load(db, &os[i], "Customer", "Lines"); err != nil {
					return nil, err
				}
			}
			return os, nil
		}
		handlers := map[string]http.Handler{
			"plain-n+1": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				serveJSON(w, func() ([]Order, error) { return naive(e.plain.WithContext(r.Context())) })
			}),
			"preload": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				serveJSON(w, func() ([]Order, error) {
					var os []Order
					err := e.plain.WithContext(r.Context()).Preload("Customer").Preload("Lines").Limit(100).Order("id").Find(&os).Error
					return os, err
				})
			}),
			"prefetch": prefetch.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				serveJSON(w, func() ([]Order, error) { return naive(e.plugin.WithContext(r.Context())) })
			})),
			"prefetch-load-each": prefetch.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				serveJSON(w, func() ([]Order, error) { return loadEach(e.plugin.WithContext(r.Context())) })
			})),
		}
		for _, name := range []string{"plain-n+1", "preload", "prefetch", "prefetch-load-each"} {
			b.Run("db="+d+"/alt="+name, func(b *testing.B) {
				srv := httptest.NewServer(handlers[name])
				defer srv.Close()
				client := srv.Client()
				e.measure(b, func() {
					resp, err := client.Get(srv.URL)
					must(b, err)
					_, err = io.Copy(io.Discard, resp.Body)
					must(b, err)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Fatalf("status %d", resp.StatusCode)
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
			})
		}
	}
}

func serveJSON(w http.ResponseWriter, load func() ([]Order, error)) {
	os, err := load()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(os)
}
