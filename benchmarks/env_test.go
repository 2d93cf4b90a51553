package benchmarks

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/go-gorm/caches/v4"
	"github.com/gorm-prefetch/prefetch"
	"github.com/gorm-prefetch/prefetch/internal/sqlcount"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
	"gorm.io/gorm/schema"
)

var (
	flagCustomers = flag.Int("customers", 1000, "customers in the benchmark data")
	flagOrders    = flag.Int("orders", 1000, "orders in the benchmark data")
	flagLines     = flag.Int("lines", 2, "lines per order")
	flagProducts  = flag.Int("products", 100, "products")
	flagMaxScope  = flag.Int("max-scope", 100000, "largest scope of the scope-size benchmark (-short: 1000)")
	flagDialects  = flag.String("dialects", "sqlite,postgres", "databases to benchmark; postgres needs PREFETCH_BENCH_POSTGRES_DSN or PREFETCH_TEST_POSTGRES_DSN")
)

// env is one database with the data seeded, seen through each alternative.
type env struct {
	name    string
	plain   *gorm.DB // plain GORM
	plugin  *gorm.DB // with prefetch
	caches  *gorm.DB // with go-gorm/caches and an in-memory cacher
	cacher  *memoryCacher
	count   *sqlcount.Counter
	dialect string
}

var (
	envMu    sync.Mutex
	envs     = map[string]*env{}
	cleanups []func() // closes the databases and removes the SQLite files, in TestMain
)

// TestMain removes the temporary SQLite databases once every benchmark has
// run: the one for the largest scopes weighs tens of megabytes.
func TestMain(m *testing.M) {
	code := m.Run()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	os.Exit(code)
}

func postgresDSN() string {
	if dsn := os.Getenv("PREFETCH_BENCH_POSTGRES_DSN"); dsn != "" {
		return dsn
	}
	return os.Getenv("PREFETCH_TEST_POSTGRES_DSN")
}

// dialects returns the databases to run on, skipping PostgreSQL (with a
// message) when no DSN is set.
func dialects(b *testing.B) []string {
	var out []string
	for _, d := range strings.Split(*flagDialects, ",") {
		if d == "postgres" && postgresDSN() == "" {
			b.Logf("no PostgreSQL DSN (PREFETCH_BENCH_POSTGRES_DSN or PREFETCH_TEST_POSTGRES_DSN): PostgreSQL benchmarks skipped")
			continue
		}
		out = append(out, d)
	}
	return out
}

// getEnv opens (once per process) the database of a dialect, seeded with
// sizes, under a name that keeps differently sized data sets apart.
func getEnv(b *testing.B, dialect string, sizes Sizes) *env {
	b.Helper()
	key := fmt.Sprintf("%s/%+v", dialect, sizes)
	envMu.Lock()
	defer envMu.Unlock()
	if e := envs[key]; e != nil {
		return e
	}
	var open func(cfg *gorm.Config) *gorm.DB
	var count *sqlcount.Counter
	prefix := fmt.Sprintf("b%d_%d_%d_", sizes.Customers, sizes.Orders, sizes.LinesPerOrder)
	switch dialect {
	case "sqlite":
		dir, err := os.MkdirTemp("", "prefetch-bench")
		if err != nil {
			b.Fatal(err)
		}
		cleanups = append(cleanups, func() { os.RemoveAll(dir) })
		sqlDB, c, err := sqlcount.OpenSQLite(filepath.Join(dir, "bench.db") + "?_journal_mode=WAL&_busy_timeout=5000")
		if err != nil {
			b.Fatal(err)
		}
		cleanups = append(cleanups, func() { sqlDB.Close() })
		count = c
		open = func(cfg *gorm.Config) *gorm.DB {
			db, err := gorm.Open(sqlite.New(sqlite.Config{Conn: sqlDB}), cfg)
			if err != nil {
				b.Fatal(err)
			}
			return db
		}
	case "postgres":
		sqlDB, c, err := sqlcount.OpenPostgres(postgresDSN())
		if err != nil {
			b.Fatal(err)
		}
		cleanups = append(cleanups, func() { sqlDB.Close() })
		count = c
		open = func(cfg *gorm.Config) *gorm.DB {
			db, err := gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), cfg)
			if err != nil {
				b.Fatal(err)
			}
			return db
		}
	default:
		b.Fatalf("unknown dialect %q", dialect)
	}
	cfg := func() *gorm.Config {
		return &gorm.Config{Logger: logger.Discard, NamingStrategy: schema.NamingStrategy{TablePrefix: prefix}}
	}
	e := &env{name: dialect, dialect: dialect, count: count, cacher: &memoryCacher{}}
	e.plain = open(cfg())
	e.plugin = open(cfg())
	if err := e.plugin.Use(prefetch.Plugin{}); err != nil {
		b.Fatal(err)
	}
	e.caches = open(cfg())
	if err := e.caches.Use(&caches.Caches{Conf: &caches.Config{Easer: true, Cacher: e.cacher}}); err != nil {
		b.Fatal(err)
	}
	if err := Seed(e.plain, sizes); err != nil {
		b.Fatal(err)
	}
	envs[key] = e
	return e
}

func defaultSizes() Sizes {
	return Sizes{Customers: *flagCustomers, Orders: *flagOrders, LinesPerOrder: *flagLines, Products: *flagProducts}
}

// measure runs fn b.N times and reports queries per op counted at the driver.
func (e *env) measure(b *testing.B, fn func()) {
	b.Helper()
	b.ReportAllocs()
	e.count.Reset()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		fn()
	}
	b.StopTimer()
	b.ReportMetric(float64(e.count.Total())/float64(b.N), "queries/op")
}

// request returns the plugin database bound to a fresh request cache.
func (e *env) request() *gorm.DB {
	return e.plugin.WithContext(prefetch.NewContext(context.Background()))
}

// memoryCacher is the in-memory Cacher go-gorm/caches' README describes:
// results stored as their JSON encoding.
type memoryCacher struct{ store sync.Map }

func (c *memoryCacher) Get(_ context.Context, key string, q *caches.Query[any]) (*caches.Query[any], error) {
	v, ok := c.store.Load(key)
	if !ok {
		return nil, nil
	}
	if err := q.Unmarshal(v.([]byte)); err != nil {
		return nil, err
	}
	return q, nil
}

func (c *memoryCacher) Store(_ context.Context, key string, val *caches.Query[any]) error {
	res, err := val.Marshal()
	if err != nil {
		return err
	}
	c.store.Store(key, res)
	return nil
}

func (c *memoryCacher) Invalidate(context.Context) error {
	c.store.Clear()
	return nil
}

func must(b *testing.B, err error) {
	if err != nil {
		b.Helper()
		b.Fatal(err)
	}
}
