package sqlcount_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/gorm-prefetch/prefetch/internal/sqlcount"
	"github.com/mattn/go-sqlite3"
	"github.com/stretchr/testify/require"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
	"gorm.io/gorm/schema"
)

type Item struct {
	ID   uint
	Name string
}

func TestGormSQLite(t *testing.T) {
	for _, prepare := range []bool{false, true} {
		t.Run(fmt.Sprintf("PrepareStmt=%v", prepare), func(t *testing.T) {
			sqlDB, c, err := sqlcount.OpenSQLite(filepath.Join(t.TempDir(), "c.db"))
			require.NoError(t, err)
			t.Cleanup(func() { sqlDB.Close() })
			db, err := gorm.Open(sqlite.New(sqlite.Config{Conn: sqlDB}), &gorm.Config{Logger: logger.Discard, PrepareStmt: prepare})
			require.NoError(t, err)
			require.NoError(t, db.AutoMigrate(&Item{}))
			checkGorm(t, db, c)
		})
	}
}

func TestGormPostgres(t *testing.T) {
	dsn := postgresDSN(t)
	for _, prepare := range []bool{false, true} {
		t.Run(fmt.Sprintf("PrepareStmt=%v", prepare), func(t *testing.T) {
			sqlDB, c, err := sqlcount.OpenPostgres(dsn)
			require.NoError(t, err)
			t.Cleanup(func() { sqlDB.Close() })
			// A table of this process's own, so concurrent runs can share
			// the database.
			naming := schema.NamingStrategy{TablePrefix: fmt.Sprintf("sqlcount%d_", os.Getpid())}
			db, err := gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), &gorm.Config{Logger: logger.Discard, PrepareStmt: prepare, NamingStrategy: naming})
			require.NoError(t, err)
			require.NoError(t, db.Migrator().DropTable(&Item{}))
			require.NoError(t, db.AutoMigrate(&Item{}))
			t.Cleanup(func() { _ = db.Migrator().DropTable(&Item{}) })
			checkGorm(t, db, c)
		})
	}
}

// TestPostgresPreparedArgs checks that a prepared statement accepts what
// pgx's conn accepts: pgx's Stmt has no NamedValueChecker, its Conn has one.
func TestPostgresPreparedArgs(t *testing.T) {
	sqlDB, c, err := sqlcount.OpenPostgres(postgresDSN(t))
	require.NoError(t, err)
	defer sqlDB.Close()
	st, err := sqlDB.Prepare("SELECT cardinality($1::int[])")
	require.NoError(t, err)
	defer st.Close()
	var n int
	require.NoError(t, st.QueryRow([]int64{1, 2, 3}).Scan(&n))
	require.Equal(t, 3, n)
	require.NoError(t, sqlDB.QueryRow("SELECT cardinality($1::int[])", []int64{1, 2}).Scan(&n))
	require.Equal(t, 2, n)
	require.EqualValues(t, 2, c.Queries())
	require.Zero(t, c.Execs())
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

// checkGorm runs GORM operations one at a time and checks the exact counts
// of each. GORM's Create and Save run in a transaction of their own, whose
// BEGIN and COMMIT do not count; both dialects insert with RETURNING, a
// query.
func checkGorm(t *testing.T, db *gorm.DB, c *sqlcount.Counter) {
	t.Helper()
	var it Item
	var items []Item
	steps := []struct {
		name           string
		queries, execs int64
		run            func() error
	}{
		{"Create", 1, 0, func() error { return db.Create(&Item{Name: "a"}).Error }},
		{"First", 1, 0, func() error { return db.First(&it).Error }},
		{"Find", 1, 0, func() error { return db.Find(&items).Error }},
		{"Update", 0, 1, func() error { return db.Model(&Item{}).Where("id = ?", it.ID).Update("name", "b").Error }},
		{"raw Exec", 0, 1, func() error { return db.Exec("DELETE FROM "+tableName(t, db)+" WHERE name = ?", "none").Error }},
		{"Transaction", 2, 1, func() error {
			return db.Transaction(func(tx *gorm.DB) error {
				if err := tx.Create(&Item{Name: "t"}).Error; err != nil {
					return err
				}
				if err := tx.Find(&items).Error; err != nil {
					return err
				}
				return tx.Model(&it).Update("name", "c").Error
			})
		}},
		{"rolled back Transaction", 1, 0, func() error {
			err := db.Transaction(func(tx *gorm.DB) error {
				require.NoError(t, tx.Create(&Item{Name: "r"}).Error)
				return fmt.Errorf("roll back")
			})
			require.EqualError(t, err, "roll back")
			return nil
		}},
	}
	for _, s := range steps {
		c.Reset()
		require.NoError(t, s.run(), s.name)
		require.Equal(t, []int64{s.queries, s.execs, s.queries + s.execs}, []int64{c.Queries(), c.Execs(), c.Total()}, "%s: queries, execs, total; log:\n%q", s.name, c.Log())
		require.Len(t, c.Log(), int(s.queries+s.execs), s.name)
	}
	require.Len(t, items, 2)
	c.Reset()
	require.Zero(t, c.Total())
	require.Empty(t, c.Log())
}

func tableName(t *testing.T, db *gorm.DB) string {
	t.Helper()
	stmt := &gorm.Statement{DB: db}
	require.NoError(t, stmt.Parse(&Item{}))
	return stmt.Schema.Table
}

// point is a type database/sql's default conversion rejects; checkerConn's
// NamedValueChecker turns it into a string.
type point struct{ X, Y int }

// bareConn hides every optional interface of the SQLite conn but
// NamedValueChecker, so database/sql must prepare every statement.
type bareConn struct{ driver.Conn }

func (bareConn) CheckNamedValue(nv *driver.NamedValue) error {
	if p, ok := nv.Value.(point); ok {
		nv.Value = fmt.Sprintf("%d,%d", p.X, p.Y)
		return nil
	}
	return driver.ErrSkip
}

// skipConn has QueryContext and ExecContext, which always answer
// driver.ErrSkip.
type skipConn struct{ bareConn }

func (skipConn) QueryContext(context.Context, string, []driver.NamedValue) (driver.Rows, error) {
	return nil, driver.ErrSkip
}

func (skipConn) ExecContext(context.Context, string, []driver.NamedValue) (driver.Result, error) {
	return nil, driver.ErrSkip
}

type testDriver func(driver.Conn) driver.Conn

func (f testDriver) Open(dsn string) (driver.Conn, error) {
	cn, err := (&sqlite3.SQLiteDriver{}).Open(dsn)
	if err != nil {
		return nil, err
	}
	return f(cn), nil
}

// TestPrepareFallback checks that a statement database/sql has to prepare
// counts once, that the conn's NamedValueChecker still applies to prepared
// statements, and that BeginTx refuses what database/sql refuses.
func TestPrepareFallback(t *testing.T) {
	for name, wrap := range map[string]testDriver{
		"no QueryerContext":      func(cn driver.Conn) driver.Conn { return bareConn{cn} },
		"QueryerContext ErrSkip": func(cn driver.Conn) driver.Conn { return skipConn{bareConn{cn}} },
	} {
		t.Run(name, func(t *testing.T) {
			c := &sqlcount.Counter{}
			db := sql.OpenDB(sqlcount.Connector(wrap, filepath.Join(t.TempDir(), "f.db"), c))
			defer db.Close()
			_, err := db.Exec("CREATE TABLE t (p TEXT)")
			require.NoError(t, err)
			_, err = db.Exec("INSERT INTO t VALUES (?)", point{1, 2})
			require.NoError(t, err)
			var s string
			require.NoError(t, db.QueryRow("SELECT p FROM t WHERE p = ?", point{1, 2}).Scan(&s))
			require.Equal(t, "1,2", s)
			require.EqualValues(t, 1, c.Queries())
			require.EqualValues(t, 2, c.Execs())

			tx, err := db.Begin()
			require.NoError(t, err)
			_, err = tx.Exec("DELETE FROM t")
			require.NoError(t, err)
			require.NoError(t, tx.Commit())
			require.EqualValues(t, 3, c.Execs())
			require.Equal(t, []string{"CREATE TABLE t (p TEXT)", "INSERT INTO t VALUES (?)", "SELECT p FROM t WHERE p = ?", "DELETE FROM t"}, c.Log())

			_, err = db.BeginTx(context.Background(), &sql.TxOptions{ReadOnly: true})
			require.EqualError(t, err, "sql: driver does not support read-only transactions")
		})
	}
}

// TestLogAndConcurrency runs statements from several goroutines (for the
// race detector) and checks that Log keeps the last 1000, oldest first.
func TestLogAndConcurrency(t *testing.T) {
	sqlDB, c, err := sqlcount.OpenSQLite(filepath.Join(t.TempDir(), "l.db") + "?_journal_mode=WAL&_busy_timeout=5000")
	require.NoError(t, err)
	defer sqlDB.Close()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 100 {
				var n int
				if err := sqlDB.QueryRow("SELECT ?", i).Scan(&n); err != nil {
					t.Error(err)
				}
				if g == 0 {
					_ = c.Log()
				}
			}
		})
	}
	wg.Wait()
	require.EqualValues(t, 400, c.Queries())
	require.Len(t, c.Log(), 400)

	c.Reset()
	for i := range 1005 {
		_, err := sqlDB.Exec(fmt.Sprintf("SELECT %d", i))
		require.NoError(t, err)
	}
	require.EqualValues(t, 1005, c.Execs())
	log := c.Log()
	require.Len(t, log, 1000)
	require.Equal(t, "SELECT 5", log[0])
	require.Equal(t, "SELECT 1004", log[999])
}
