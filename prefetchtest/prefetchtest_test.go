package prefetchtest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gorm-prefetch/prefetch"
	"github.com/gorm-prefetch/prefetch/internal/sqlcount"
	"github.com/gorm-prefetch/prefetch/prefetchtest"
	"github.com/stretchr/testify/require"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
	"gorm.io/gorm/schema"
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
	Amount     int
}

// setup is how a test database is opened.
type setup struct {
	postgres bool // else SQLite
	plugin   bool // with prefetch.Plugin
	prepare  bool // gorm.Config.PrepareStmt
}

func (s setup) String() string {
	name := "SQLite"
	if s.postgres {
		name = "PostgreSQL"
	}
	return fmt.Sprintf("%s/plugin=%v/PrepareStmt=%v", name, s.plugin, s.prepare)
}

// setups returns every combination, or those with the plugin as given.
func setups(plugin ...bool) []setup {
	var out []setup
	for _, pg := range []bool{false, true} {
		for _, pl := range []bool{false, true} {
			if len(plugin) > 0 && pl != plugin[0] {
				continue
			}
			for _, prep := range []bool{false, true} {
				out = append(out, setup{postgres: pg, plugin: pl, prepare: prep})
			}
		}
	}
	return out
}

var tableSeq atomic.Int64

// open opens a database seeded with 3 customers and 6 orders, and returns
// it with the prefetchtest counter installed and the driver-level counter
// of the same statements.
func open(t *testing.T, s setup) (*gorm.DB, *prefetchtest.Counter, *sqlcount.Counter) {
	t.Helper()
	db, drv := openUncounted(t, s)
	return db, prefetchtest.Count(db), drv
}

// openUncounted is open without the prefetchtest counter.
func openUncounted(t *testing.T, s setup) (*gorm.DB, *sqlcount.Counter) {
	t.Helper()
	cfg := &gorm.Config{Logger: logger.Discard, PrepareStmt: s.prepare}
	var db *gorm.DB
	var drv *sqlcount.Counter
	if s.postgres {
		sqlDB, c, err := sqlcount.OpenPostgres(postgresDSN(t))
		require.NoError(t, err)
		t.Cleanup(func() { sqlDB.Close() })
		// Tables of this test's own, so tests and runs can share the database.
		cfg.NamingStrategy = schema.NamingStrategy{TablePrefix: fmt.Sprintf("prefetchtest%d_%d_", os.Getpid(), tableSeq.Add(1))}
		db, err = gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), cfg)
		require.NoError(t, err)
		t.Cleanup(func() { _ = db.Migrator().DropTable(&Order{}, &Customer{}) })
		drv = c
	} else {
		sqlDB, c, err := sqlcount.OpenSQLite(filepath.Join(t.TempDir(), "t.db") + "?_journal_mode=WAL&_busy_timeout=5000")
		require.NoError(t, err)
		t.Cleanup(func() { sqlDB.Close() })
		db, err = gorm.Open(sqlite.New(sqlite.Config{Conn: sqlDB}), cfg)
		require.NoError(t, err)
		drv = c
	}
	require.NoError(t, db.AutoMigrate(&Customer{}, &Order{}))
	if s.plugin {
		require.NoError(t, db.Use(prefetch.Plugin{}))
	}
	cs := []Customer{{Name: "ann"}, {Name: "bob"}, {Name: "cy"}}
	require.NoError(t, db.Create(&cs).Error)
	var orders []Order
	for i := range 6 {
		orders = append(orders, Order{CustomerID: cs[i%3].ID, Amount: i})
	}
	require.NoError(t, db.Create(&orders).Error)
	return db, drv
}

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

// nPlusOne lists the orders, then each order's customer with First.
func nPlusOne(db *gorm.DB) error {
	var orders []Order
	if err := db.Order("id").Find(&orders).Error; err != nil {
		return err
	}
	for _, o := range orders {
		var c Customer
		if err := db.First(&c, o.CustomerID).Error; err != nil {
			return err
		}
	}
	return nil
}

// requireAgrees checks that the counter saw what the driver saw since both
// were last reset.
func requireAgrees(t *testing.T, c *prefetchtest.Counter, drv *sqlcount.Counter, msg string) {
	t.Helper()
	require.Equal(t, drv.Log(), c.Statements(), msg)
	require.EqualValues(t, drv.Total(), c.Queries(), msg)
}

func reset(c *prefetchtest.Counter, drv *sqlcount.Counter) {
	c.Reset()
	drv.Reset()
}

func TestStatementsServedByThePluginDoNotCount(t *testing.T) {
	for _, s := range setups(true) {
		t.Run(s.String(), func(t *testing.T) {
			db, c, drv := open(t, s)
			tx := db.WithContext(prefetch.NewContext(context.Background()))
			var cu Customer
			reset(c, drv)
			require.NoError(t, tx.First(&cu, 1).Error)
			require.Equal(t, 1, c.Queries())
			for range 3 {
				require.NoError(t, tx.First(&cu, 1).Error)
			}
			require.Equal(t, 1, c.Queries(), "served: %q", c.Statements())
			require.EqualValues(t, 3, prefetch.StatsOf(tx.Statement.Context).Hits)
			requireAgrees(t, c, drv, "")
		})
	}
}

func TestBatchLoadsCount(t *testing.T) {
	for _, s := range setups() {
		t.Run(s.String(), func(t *testing.T) {
			db, c, drv := open(t, s)
			want := 1 + 6 // plain GORM: then one query per order
			if s.plugin {
				want = 2 // the orders, then one IN query for their customers
			}
			reset(c, drv)
			require.True(t, prefetchtest.AssertQueries(t, db, want, func() {
				require.NoError(t, nPlusOne(db.WithContext(prefetch.NewContext(context.Background()))))
			}))
			require.Equal(t, want, c.Queries())
			if s.plugin {
				batch := c.Statements()[1]
				require.True(t, strings.Contains(batch, " IN ") || strings.Contains(batch, "= ANY("), batch)
			}
			requireAgrees(t, c, drv, "")
		})
	}
}

func TestStatementsInsideTransactionsCount(t *testing.T) {
	rollback := errors.New("roll back")
	steps := []struct {
		name string
		want int
		run  func(db *gorm.DB) error
	}{
		{"Create, Find and Update in a transaction", 3, func(db *gorm.DB) error {
			return db.Transaction(func(tx *gorm.DB) error {
				if err := tx.Create(&Customer{Name: "dee"}).Error; err != nil {
					return err
				}
				var cs []Customer
				if err := tx.Find(&cs).Error; err != nil {
					return err
				}
				return tx.Model(&Customer{}).Where("name = ?", "dee").Update("name", "eve").Error
			})
		}},
		{"rolled back", 1, func(db *gorm.DB) error {
			err := db.Transaction(func(tx *gorm.DB) error {
				if err := tx.Create(&Customer{Name: "fay"}).Error; err != nil {
					return err
				}
				return rollback
			})
			if errors.Is(err, rollback) {
				return nil
			}
			return err
		}},
		{"Begin and Commit by hand", 2, func(db *gorm.DB) error {
			tx := db.Begin()
			var a, b Customer
			if err := tx.First(&a, 2).Error; err != nil {
				tx.Rollback()
				return err
			}
			if err := tx.First(&b, 3).Error; err != nil {
				tx.Rollback()
				return err
			}
			return tx.Commit().Error
		}},
		{"nested: a savepoint is a statement", 2, func(db *gorm.DB) error {
			return db.Transaction(func(tx *gorm.DB) error {
				return tx.Transaction(func(tx *gorm.DB) error {
					var c Customer
					return tx.First(&c, 1).Error
				})
			})
		}},
	}
	for _, s := range setups() {
		t.Run(s.String(), func(t *testing.T) {
			db, c, drv := open(t, s)
			db = db.WithContext(prefetch.NewContext(context.Background()))
			for _, st := range steps {
				reset(c, drv)
				require.NoError(t, st.run(db), st.name)
				requireAgrees(t, c, drv, st.name)
				require.Equal(t, st.want, c.Queries(), "%s: %q", st.name, c.Statements())
			}
		})
	}
}

// TestPreparedStatementsCountEachRun checks that with PrepareStmt every run
// of a prepared statement counts, inside and outside transactions, and
// when a statement first prepared inside a transaction then runs outside.
func TestPreparedStatementsCountEachRun(t *testing.T) {
	for _, s := range setups() {
		if !s.prepare {
			continue
		}
		t.Run(s.String(), func(t *testing.T) {
			db, c, drv := open(t, s)
			first := func(db *gorm.DB, id int) {
				var cu Customer
				require.NoError(t, db.First(&cu, id).Error)
			}
			reset(c, drv)
			for id := range 3 {
				first(db, id+1) // each a request of its own: nothing served
			}
			require.Equal(t, 3, c.Queries())
			requireAgrees(t, c, drv, "outside transactions")

			reset(c, drv)
			require.NoError(t, db.Transaction(func(tx *gorm.DB) error {
				var orders []Order
				require.NoError(t, tx.Where("amount > ?", 2).Find(&orders).Error) // first prepared here
				require.NoError(t, tx.Where("amount > ?", 3).Find(&orders).Error)
				first(tx, 1) // prepared outside
				return nil
			}))
			require.Equal(t, 3, c.Queries())
			requireAgrees(t, c, drv, "inside a transaction")

			reset(c, drv)
			var orders []Order
			require.NoError(t, db.Where("amount > ?", 4).Find(&orders).Error) // prepared again, outside
			require.NoError(t, db.Where("amount > ?", 5).Find(&orders).Error)
			require.NoError(t, db.Transaction(func(tx *gorm.DB) error {
				return tx.Where("amount > ?", 1).Find(&orders).Error
			}))
			require.Equal(t, 3, c.Queries())
			requireAgrees(t, c, drv, "first inside, then outside a transaction")
		})
	}
}

// TestAgreesWithTheDriverCount runs a mixed workload, step by step, and
// checks that the counter saw exactly the statements the driver saw.
func TestAgreesWithTheDriverCount(t *testing.T) {
	steps := []struct {
		name string
		run  func(db *gorm.DB) error
	}{
		{"N+1", nPlusOne},
		{"N+1 again, customers served", nPlusOne},
		{"Preload", func(db *gorm.DB) error { var cs []Customer; return db.Preload("Orders").Find(&cs).Error }},
		{"Load", func(db *gorm.DB) error {
			var orders []Order
			if err := db.Find(&orders).Error; err != nil {
				return err
			}
			return prefetch.Load(db, &orders, "Customer")
		}},
		{"Create", func(db *gorm.DB) error { return db.Create(&Customer{Name: "gil"}).Error }},
		{"Save", func(db *gorm.DB) error { return db.Save(&Customer{ID: 1, Name: "ann2"}).Error }},
		{"Update", func(db *gorm.DB) error {
			return db.Model(&Order{}).Where("amount > ?", 3).Update("amount", 9).Error
		}},
		{"First after Update", func(db *gorm.DB) error { var o Order; return db.First(&o, 5).Error }},
		{"Delete", func(db *gorm.DB) error { return db.Delete(&Order{}, 6).Error }},
		{"raw Exec", func(db *gorm.DB) error {
			return db.Exec("UPDATE "+table(db, &Order{})+" SET amount = amount + 1 WHERE id = ?", 1).Error
		}},
		{"Raw Scan", func(db *gorm.DB) error {
			var n int
			return db.Raw("SELECT count(*) FROM " + table(db, &Order{})).Scan(&n).Error
		}},
		{"Count and Pluck", func(db *gorm.DB) error {
			var n int64
			var names []string
			if err := db.Model(&Customer{}).Count(&n).Error; err != nil {
				return err
			}
			return db.Model(&Customer{}).Pluck("name", &names).Error
		}},
		{"Row", func(db *gorm.DB) error {
			var n int
			return db.Model(&Order{}).Select("max(amount)").Row().Scan(&n)
		}},
		{"transaction", func(db *gorm.DB) error {
			return db.Transaction(func(tx *gorm.DB) error {
				if err := nPlusOne(tx); err != nil {
					return err
				}
				return tx.Create(&Order{CustomerID: 2, Amount: 7}).Error
			})
		}},
		{"N+1 in a new request", func(db *gorm.DB) error {
			return nPlusOne(db.WithContext(prefetch.NewContext(context.Background())))
		}},
	}
	for _, s := range setups(true) {
		t.Run(s.String(), func(t *testing.T) {
			db, c, drv := open(t, s)
			db = db.WithContext(prefetch.NewContext(context.Background()))
			total := 0
			for _, st := range steps {
				reset(c, drv)
				require.NoError(t, st.run(db), st.name)
				requireAgrees(t, c, drv, st.name)
				total += c.Queries()
				if st.name == "N+1 again, customers served" {
					require.Equal(t, 1, c.Queries(), "%q", c.Statements())
				}
			}
			require.Greater(t, total, 15)
		})
	}
}

func table(db *gorm.DB, model any) string {
	stmt := &gorm.Statement{DB: db}
	if err := stmt.Parse(model); err != nil {
		panic(err)
	}
	return stmt.Schema.Table
}

func TestCountInstallsOnce(t *testing.T) {
	for _, s := range setups() {
		if s.postgres {
			continue
		}
		t.Run(s.String(), func(t *testing.T) {
			db, c, drv := open(t, s)
			ctx := prefetch.NewContext(context.Background())
			for _, same := range []*gorm.DB{db, db.WithContext(ctx), db.Session(&gorm.Session{}), db.Model(&Customer{})} {
				require.Same(t, c, prefetchtest.Count(same))
			}
			reset(c, drv)
			var cu Customer
			require.NoError(t, db.WithContext(ctx).First(&cu, 2).Error)
			require.Equal(t, 1, c.Queries())
			requireAgrees(t, c, drv, "")
		})
	}
}

// TestCountGivenAnEarlierSession installs the counter through a session
// derived before it: statements of the database gorm.Open returned, and of
// sessions derived from it before and after, all count. On plain GORM, a
// transaction begun through a session derived before Count is not counted,
// and assertions say so.
func TestCountGivenAnEarlierSession(t *testing.T) {
	for _, s := range setups() {
		if s.postgres {
			continue
		}
		t.Run(s.String(), func(t *testing.T) {
			db, drv := openUncounted(t, s)
			ctx := prefetch.NewContext(context.Background())
			early := db.WithContext(ctx)
			c := prefetchtest.Count(early.Session(&gorm.Session{}))
			require.Same(t, c, prefetchtest.Count(db))
			reset(c, drv)
			for i, d := range []*gorm.DB{db, early, db.WithContext(ctx), early.Where("id > ?", 0)} {
				var cu Customer
				require.NoError(t, d.First(&cu, i%3+1).Error)
			}
			require.NoError(t, db.Create(&Order{CustomerID: 1}).Error)
			requireAgrees(t, c, drv, "")

			ft := &fakeTB{}
			ok := prefetchtest.AssertMaxQueries(ft, db, 1, func() {
				require.NoError(t, db.Transaction(func(tx *gorm.DB) error {
					return tx.Create(&Order{CustomerID: 1}).Error
				}))
			})
			if !s.plugin && !s.prepare {
				require.False(t, ok)
				require.Equal(t, []string{"prefetchtest: want at most 1 query, got 0 or more: statements ran in a transaction begun before Count, or through a session derived before it; call Count with the *gorm.DB gorm.Open returned, before using it"}, ft.errs)
				return
			}
			require.True(t, ok, ft.errs)
			requireAgrees(t, c, drv, "")
		})
	}
}

// TestCountBeforeThePlugin installs the counter, then the plugin: the
// counter is beneath it still.
func TestCountBeforeThePlugin(t *testing.T) {
	for _, prepare := range []bool{false, true} {
		t.Run(fmt.Sprintf("PrepareStmt=%v", prepare), func(t *testing.T) {
			db, c, drv := open(t, setup{prepare: prepare})
			require.NoError(t, db.Use(prefetch.Plugin{}))
			reset(c, drv)
			require.True(t, prefetchtest.AssertQueries(t, db, 2, func() {
				require.NoError(t, nPlusOne(db.WithContext(prefetch.NewContext(context.Background()))))
			}))
			requireAgrees(t, c, drv, "")
		})
	}
}

// fakeTB records what an assertion reports.
type fakeTB struct {
	helper bool
	errs   []string
}

func (f *fakeTB) Helper() { f.helper = true }

func (f *fakeTB) Errorf(format string, args ...any) {
	f.errs = append(f.errs, fmt.Sprintf(format, args...))
}

func TestAssertionsPassOrReport(t *testing.T) {
	cases := []struct {
		name   string
		assert func(prefetchtest.TB, *gorm.DB, int, func()) bool
		n      int
		pass   bool
	}{
		{"exactly as many passes", prefetchtest.AssertQueries, 3, true},
		{"exactly more fails", prefetchtest.AssertQueries, 4, false},
		{"exactly fewer fails", prefetchtest.AssertQueries, 2, false},
		{"at most as many passes", prefetchtest.AssertMaxQueries, 3, true},
		{"at most more passes", prefetchtest.AssertMaxQueries, 4, true},
		{"at most fewer fails", prefetchtest.AssertMaxQueries, 2, false},
	}
	db, c, _ := open(t, setup{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c.Reset()
			ft := &fakeTB{}
			ok := tc.assert(ft, db, tc.n, func() {
				for id := range 3 {
					var cu Customer
					require.NoError(t, db.First(&cu, id+1).Error)
				}
			})
			require.Equal(t, tc.pass, ok)
			require.True(t, ft.helper)
			if tc.pass {
				require.Empty(t, ft.errs)
			} else {
				require.Len(t, ft.errs, 1)
			}
			require.Equal(t, 3, c.Queries(), "assertions leave the counter alone")
		})
	}
}

func TestFailingAssertionListsTheStatements(t *testing.T) {
	db, _, _ := open(t, setup{})
	ft := &fakeTB{}
	require.False(t, prefetchtest.AssertMaxQueries(ft, db, 1, func() {
		var cs []Customer
		require.NoError(t, db.Order("id").Limit(2).Find(&cs).Error)
		for _, c := range cs {
			require.NoError(t, db.Model(&Order{}).Where("customer_id = ?", c.ID).Find(&c.Orders).Error)
		}
	}))
	require.Equal(t, []string{"prefetchtest: want at most 1 query, got 3:\n" +
		"   1. SELECT * FROM `customers` ORDER BY id LIMIT 2\n" +
		"   2. SELECT * FROM `orders` WHERE customer_id = ?\n" +
		"   3. SELECT * FROM `orders` WHERE customer_id = ?"}, ft.errs)

	ft = &fakeTB{}
	require.False(t, prefetchtest.AssertQueries(ft, db, 2, func() {}))
	require.Equal(t, []string{"prefetchtest: want 2 queries, got 0"}, ft.errs)
}

// TestOnlyTheLast1000StatementsAreKept checks Statements and the numbering
// of a failing assertion's list past 1000 statements.
func TestOnlyTheLast1000StatementsAreKept(t *testing.T) {
	db, c, _ := open(t, setup{})
	ft := &fakeTB{}
	require.False(t, prefetchtest.AssertQueries(ft, db, 0, func() {
		for i := range 1005 {
			require.NoError(t, db.Exec(fmt.Sprintf("SELECT %d", i)).Error)
		}
	}))
	stmts := c.Statements()
	require.Len(t, stmts, 1000)
	require.Equal(t, "SELECT 5", stmts[0])
	require.Equal(t, "SELECT 1004", stmts[999])
	require.Len(t, ft.errs, 1)
	lines := strings.Split(ft.errs[0], "\n")
	require.Equal(t, []string{"prefetchtest: want 0 queries, got 1005:", "(the first 5 are not kept)", "   6. SELECT 5"}, lines[:3])
	require.Equal(t, "1005. SELECT 1004", lines[len(lines)-1])
}

// TestUncountablePreparedRunsFailAssertions: a Session with PrepareStmt on
// a database opened without it prepares into a store the counter cannot
// reach.
func TestUncountablePreparedRunsFailAssertions(t *testing.T) {
	for _, plugin := range []bool{false, true} {
		t.Run(fmt.Sprintf("plugin=%v", plugin), func(t *testing.T) {
			db, _, _ := open(t, setup{plugin: plugin})
			ft := &fakeTB{}
			require.False(t, prefetchtest.AssertMaxQueries(ft, db, 10, func() {
				var cu Customer
				require.NoError(t, db.Session(&gorm.Session{PrepareStmt: true}).First(&cu, 1).Error)
			}))
			require.Len(t, ft.errs, 1)
			require.Contains(t, ft.errs[0], "could not be counted")
		})
	}
}

func TestConcurrentStatementsAllCount(t *testing.T) {
	for _, s := range []setup{{}, {plugin: true, prepare: true}} {
		t.Run(s.String(), func(t *testing.T) {
			db, c, drv := open(t, s)
			reset(c, drv)
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() {
					for i := range 25 {
						var cu Customer
						if err := db.First(&cu, i%3+1).Error; err != nil {
							t.Error(err)
						}
						_ = c.Statements()
					}
				})
			}
			wg.Wait()
			require.Equal(t, 100, c.Queries())
			require.EqualValues(t, drv.Total(), c.Queries())
		})
	}
}

func TestCountRefusesADatabaseOpenedOnATransaction(t *testing.T) {
	sqlDB, _, err := sqlcount.OpenSQLite(filepath.Join(t.TempDir(), "t.db"))
	require.NoError(t, err)
	defer sqlDB.Close()
	sqlTx, err := sqlDB.Begin()
	require.NoError(t, err)
	defer sqlTx.Rollback()
	db, err := gorm.Open(sqlite.New(sqlite.Config{Conn: sqlTx}), &gorm.Config{Logger: logger.Discard})
	require.NoError(t, err)
	require.PanicsWithError(t, "prefetchtest: db was opened on a transaction, whose statements cannot be counted", func() {
		prefetchtest.Count(db)
	})
	require.PanicsWithValue(t, "prefetchtest: Count needs a *gorm.DB with a connection pool", func() {
		prefetchtest.Count(&gorm.DB{Config: &gorm.Config{}})
	})
}
