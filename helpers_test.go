package prefetch_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorm-prefetch/prefetch"
	"github.com/gorm-prefetch/prefetch/internal/sqlcount"
	"github.com/stretchr/testify/require"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
	"gorm.io/gorm/schema"
)

// Models shared by the tests.

type Region struct {
	ID   uint
	Name string
}

type Customer struct {
	ID        uint
	Name      string
	Email     *string
	RegionID  *uint
	Region    *Region
	Orders    []Order
	Profile   *Profile
	Tags      []Tag `gorm:"many2many:customer_tags"`
	Notes     []byte
	CreatedAt time.Time
	DeletedAt gorm.DeletedAt `gorm:"index"`
}

type Order struct {
	ID         uint
	CustomerID uint
	Customer   Customer
	Amount     int
	Lines      []OrderLine
}

type OrderLine struct {
	ID        uint
	OrderID   uint
	ProductID uint
	Product   Product
	Qty       int
}

type Product struct {
	ID   uint
	Name string
}

type Profile struct {
	ID         uint
	CustomerID uint
	Bio        string
}

type Tag struct {
	ID   uint
	Name string
}

// env is one database under test: a gorm.DB with the plugin, the same
// database without it, and the counter of statements that reached it.
type env struct {
	name  string
	db    *gorm.DB // with the plugin
	plain *gorm.DB // same database, no plugin
	count *sqlcount.Counter
}

var tableSeq atomic.Int64

// each runs fn on every database as a subtest. Without
// PREFETCH_TEST_POSTGRES_DSN the PostgreSQL subtest skips, saying so, unless
// PREFETCH_REQUIRE_POSTGRES is set (as CI sets it), where it fails.
func each(t *testing.T, p prefetch.Plugin, fn func(t *testing.T, e *env)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, openSQLite(t, p)) })
	t.Run("postgres", func(t *testing.T) {
		dsn := postgresDSN(t)
		fn(t, openPostgres(t, p, dsn))
	})
}

// postgresDSN returns PREFETCH_TEST_POSTGRES_DSN, or skips the test (fails it
// when PREFETCH_REQUIRE_POSTGRES is set).
func postgresDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("PREFETCH_TEST_POSTGRES_DSN")
	if dsn == "" {
		if os.Getenv("PREFETCH_REQUIRE_POSTGRES") != "" {
			t.Fatal("PREFETCH_REQUIRE_POSTGRES is set but PREFETCH_TEST_POSTGRES_DSN is empty")
		}
		t.Skip("PREFETCH_TEST_POSTGRES_DSN not set: skipping PostgreSQL test")
	}
	return dsn
}

var quiet = logger.Default.LogMode(logger.Silent)

func openSQLite(t *testing.T, p prefetch.Plugin) *env {
	t.Helper()
	dsn := filepath.Join(t.TempDir(), "test.db") + "?_journal_mode=WAL&_busy_timeout=5000&_foreign_keys=1"
	sqlDB, counter, err := sqlcount.OpenSQLite(dsn)
	require.NoError(t, err)
	t.Cleanup(func() { sqlDB.Close() })
	db, err := gorm.Open(sqlite.New(sqlite.Config{Conn: sqlDB}), &gorm.Config{Logger: quiet})
	require.NoError(t, err)
	require.NoError(t, db.Use(p))
	plain, err := gorm.Open(sqlite.New(sqlite.Config{Conn: sqlDB}), &gorm.Config{Logger: quiet})
	require.NoError(t, err)
	e := &env{name: "sqlite", db: db, plain: plain, count: counter}
	e.migrate(t)
	return e
}

func openPostgres(t *testing.T, p prefetch.Plugin, dsn string) *env {
	t.Helper()
	sqlDB, counter, err := sqlcount.OpenPostgres(dsn)
	require.NoError(t, err)
	t.Cleanup(func() { sqlDB.Close() })
	// Each test gets its own tables through a prefix, so tests can share
	// one PostgreSQL database.
	naming := schema.NamingStrategy{TablePrefix: fmt.Sprintf("t%d_%d_", os.Getpid(), tableSeq.Add(1))}
	cfg := func() *gorm.Config { return &gorm.Config{Logger: quiet, NamingStrategy: naming} }
	db, err := gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), cfg())
	require.NoError(t, err)
	require.NoError(t, db.Use(p))
	plain, err := gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), cfg())
	require.NoError(t, err)
	e := &env{name: "postgres", db: db, plain: plain, count: counter}
	e.migrate(t)
	t.Cleanup(func() {
		_ = plain.Migrator().DropTable(allModels()...)
		_ = plain.Migrator().DropTable(joinTableName(plain))
	})
	return e
}

func allModels() []any {
	return []any{&Region{}, &Customer{}, &Order{}, &OrderLine{}, &Product{}, &Profile{}, &Tag{}}
}

func (e *env) migrate(t *testing.T) {
	t.Helper()
	require.NoError(t, e.plain.AutoMigrate(allModels()...))
}

// ctx returns a fresh request context and the plugin db bound to it.
func (e *env) request() (context.Context, *gorm.DB) {
	ctx := prefetch.NewContext(context.Background())
	return ctx, e.db.WithContext(ctx)
}

// queries runs fn and returns how many statements reached the database.
func (e *env) queries(t *testing.T, fn func()) int64 {
	t.Helper()
	e.count.Reset()
	fn()
	return e.count.Total()
}

// requireQueries runs fn and fails unless exactly n statements reached the
// database; on failure it lists them.
func (e *env) requireQueries(t *testing.T, n int64, fn func()) {
	t.Helper()
	e.count.Reset()
	fn()
	if got := e.count.Total(); got != n {
		t.Fatalf("%d statements reached the database, want %d:\n%s", got, n, strings.Join(e.count.Log(), "\n"))
	}
}

// seed creates customers (with regions, profiles and tags) and orders with
// lines and products, deterministically, without the plugin.
func (e *env) seed(t *testing.T, customers, ordersPer int) {
	t.Helper()
	db := e.plain
	regions := []Region{{Name: "north"}, {Name: "south"}, {Name: "east"}}
	require.NoError(t, db.Create(&regions).Error)
	tags := []Tag{{Name: "vip"}, {Name: "new"}, {Name: "late"}}
	require.NoError(t, db.Create(&tags).Error)
	products := make([]Product, 10)
	for i := range products {
		products[i].Name = fmt.Sprintf("product %d", i+1)
	}
	require.NoError(t, db.Create(&products).Error)
	cs := make([]Customer, customers)
	for i := range cs {
		cs[i].Name = fmt.Sprintf("customer %d", i+1)
		if i%3 != 0 {
			email := fmt.Sprintf("c%d@example.com", i+1)
			cs[i].Email = &email
		}
		if i%4 != 3 {
			cs[i].RegionID = &regions[i%3].ID
		}
		cs[i].Notes = []byte(fmt.Sprintf("notes %d", i+1))
		cs[i].CreatedAt = time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC)
	}
	require.NoError(t, db.Omit("Region", "Tags").CreateInBatches(&cs, 200).Error)
	var links []map[string]any
	var profiles []Profile
	for i, c := range cs {
		if i%2 == 0 {
			profiles = append(profiles, Profile{CustomerID: c.ID, Bio: fmt.Sprintf("bio %d", i+1)})
		}
		for j, tag := range tags {
			if (i+j)%2 == 0 {
				links = append(links, map[string]any{"customer_id": c.ID, "tag_id": tag.ID})
			}
		}
	}
	if len(profiles) > 0 {
		require.NoError(t, db.CreateInBatches(&profiles, 200).Error)
	}
	joinTable := joinTableName(db)
	for len(links) > 0 {
		n := min(len(links), 200)
		require.NoError(t, db.Table(joinTable).Create(links[:n]).Error)
		links = links[n:]
	}
	var orders []Order
	for i := range cs {
		// Some customers have no orders.
		if i%5 == 4 {
			continue
		}
		for j := 0; j < ordersPer; j++ {
			orders = append(orders, Order{CustomerID: cs[i].ID, Amount: (i+1)*10 + j})
		}
	}
	if len(orders) > 0 {
		require.NoError(t, db.CreateInBatches(&orders, 200).Error)
	}
	var lines []OrderLine
	for i, o := range orders {
		for j := 0; j < 2; j++ {
			lines = append(lines, OrderLine{OrderID: o.ID, ProductID: products[(i+j)%len(products)].ID, Qty: j + 1})
		}
	}
	if len(lines) > 0 {
		require.NoError(t, db.CreateInBatches(&lines, 200).Error)
	}
}

// joinTableName is the many2many table of Customer.Tags under db's naming.
func joinTableName(db *gorm.DB) string {
	if ns, ok := db.NamingStrategy.(schema.NamingStrategy); ok {
		return ns.TablePrefix + "customer_tags"
	}
	return "customer_tags"
}
