package benchmarks

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/gorm-prefetch/prefetch"
	"github.com/gorm-prefetch/prefetch/memstore"
	"github.com/gorm-prefetch/prefetch/redisstore"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
)

// The shared cache (issue 10): the plugin with a warm shared cache behind a
// fresh request cache per iteration, on the in-process store and on Redis,
// beside plain GORM, Preload and go-gorm/caches warm, in one run. Redis
// needs PREFETCH_BENCH_REDIS_ADDR or PREFETCH_TEST_REDIS_ADDR (eval
// "$(../.ci/start-redis.sh)"); without it the Redis rows are skipped.

func redisAddr() string {
	if a := os.Getenv("PREFETCH_BENCH_REDIS_ADDR"); a != "" {
		return a
	}
	return os.Getenv("PREFETCH_TEST_REDIS_ADDR")
}

// sharedStores returns the stores to benchmark by name: memstore always,
// Redis when an address is set (keys under a prefix of this process's own).
func sharedStores(b *testing.B) map[string]prefetch.SharedStore {
	out := map[string]prefetch.SharedStore{"memstore": memstore.New(memstore.Options{})}
	if addr := redisAddr(); addr != "" {
		s, err := redisstore.Dial(addr, redisstore.Options{Prefix: fmt.Sprintf("bench:%d:%d", os.Getpid(), time.Now().UnixNano())})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = s.Close() })
		out["redis"] = s
	} else {
		b.Logf("no Redis address (PREFETCH_BENCH_REDIS_ADDR or PREFETCH_TEST_REDIS_ADDR): Redis rows skipped")
	}
	return out
}

// sharedDB opens the env's database again with the plugin and a shared
// cache of every model on store.
func (e *env) sharedDB(b *testing.B, store prefetch.SharedStore) *gorm.DB {
	var d gorm.Dialector
	switch e.dialect {
	case "sqlite":
		d = sqlite.New(sqlite.Config{Conn: e.plain.ConnPool})
	default:
		d = postgres.New(postgres.Config{Conn: e.plain.ConnPool})
	}
	cfg := *e.plain.Config
	cfg.Plugins = map[string]gorm.Plugin{}
	cfg.Dialector = nil
	db, err := gorm.Open(d, &gorm.Config{Logger: cfg.Logger, NamingStrategy: cfg.NamingStrategy})
	if err != nil {
		b.Fatal(err)
	}
	if err := db.Use(prefetch.Plugin{Shared: &prefetch.SharedCache{Store: store, Models: Models(), Unpartitioned: true, Timeout: time.Second}}); err != nil {
		b.Fatal(err)
	}
	return db
}

func sharedRequest(db *gorm.DB) *gorm.DB {
	return db.WithContext(prefetch.NewContext(context.Background()))
}

// A warm shared-cache key lookup in a new request, against plain First.
func BenchmarkSharedKeyLookup(b *testing.B) {
	for _, d := range dialects(b) {
		e := getEnv(b, d, defaultSizes())
		b.Run("db="+d+"/alt=plain", func(b *testing.B) {
			e.measure(b, func() { var c Customer; must(b, e.plain.First(&c, 42).Error) })
		})
		b.Run("db="+d+"/alt=caches-warm", func(b *testing.B) {
			var c Customer
			must(b, e.caches.First(&c, 42).Error)
			e.measure(b, func() { var c Customer; must(b, e.caches.First(&c, 42).Error) })
		})
		for name, store := range sharedStores(b) {
			db := e.sharedDB(b, store)
			b.Run("db="+d+"/alt=shared-"+name, func(b *testing.B) {
				var c Customer
				must(b, sharedRequest(db).First(&c, 42).Error)
				e.measure(b, func() { var c Customer; must(b, sharedRequest(db).First(&c, 42).Error) })
			})
		}
	}
}

// (b) with a warm shared cache: 1000 orders, then each order's customer.
func BenchmarkSharedOrdersCustomer(b *testing.B) {
	for _, d := range dialects(b) {
		e := getEnv(b, d, defaultSizes())
		b.Run("db="+d+"/alt=preload", func(b *testing.B) {
			e.measure(b, func() { var os []Order; must(b, e.plain.Preload("Customer").Find(&os).Error) })
		})
		b.Run("db="+d+"/alt=caches-warm", func(b *testing.B) {
			ordersThenCustomers(b, e.caches)
			e.measure(b, func() { ordersThenCustomers(b, e.caches) })
		})
		b.Run("db="+d+"/alt=prefetch-loop", func(b *testing.B) { e.measure(b, func() { ordersThenCustomers(b, e.request()) }) })
		for name, store := range sharedStores(b) {
			db := e.sharedDB(b, store)
			b.Run("db="+d+"/alt=shared-"+name+"-loop", func(b *testing.B) {
				ordersThenCustomers(b, sharedRequest(db))
				e.measure(b, func() { ordersThenCustomers(b, sharedRequest(db)) })
			})
		}
	}
}

// (h) with a warm shared cache: the HTTP endpoint of BenchmarkHTTP.
func BenchmarkSharedHTTP(b *testing.B) {
	for _, d := range dialects(b) {
		e := getEnv(b, d, defaultSizes())
		handlers := map[string]http.Handler{
			"preload": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				serveJSON(w, func() ([]Order, error) {
					var os []Order
					err := e.plain.WithContext(r.Context()).Preload("Customer").Preload("Lines").Limit(100).Order("id").Find(&os).Error
					return os, err
				})
			}),
			"caches-warm": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				serveJSON(w, func() ([]Order, error) { return httpNaive(e.caches.WithContext(r.Context())) })
			}),
			"prefetch": prefetch.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				serveJSON(w, func() ([]Order, error) { return httpNaive(e.plugin.WithContext(r.Context())) })
			})),
		}
		names := []string{"preload", "caches-warm", "prefetch"}
		for name, store := range sharedStores(b) {
			db := e.sharedDB(b, store)
			handlers["shared-"+name] = prefetch.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				serveJSON(w, func() ([]Order, error) { return httpNaive(db.WithContext(r.Context())) })
			}))
			names = append(names, "shared-"+name)
		}
		for _, name := range names {
			b.Run("db="+d+"/alt="+name, func(b *testing.B) {
				srv := httptest.NewServer(handlers[name])
				defer srv.Close()
				client := srv.Client()
				get := func() {
					resp, err := client.Get(srv.URL)
					must(b, err)
					_, err = io.Copy(io.Discard, resp.Body)
					must(b, err)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Fatalf("status %d", resp.StatusCode)
					}
				}
				get() // warm: the shared cache and go-gorm/caches
				e.measure(b, get)
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
			})
		}
	}
}

// httpNaive is the handler's N+1 code of BenchmarkHTTP: 100 orders, each
// order's customer and lines.
func httpNaive(db *gorm.DB) ([]Order, error) {
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
