package sqlcount_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gorm-prefetch/prefetch/internal/sqlcount"
	"github.com/stretchr/testify/require"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

type Item struct {
	ID   uint
	Name string
}

func TestCountsEveryStatementOnce(t *testing.T) {
	for _, prepare := range []bool{false, true} {
		sqlDB, c, err := sqlcount.OpenSQLite(filepath.Join(t.TempDir(), "c.db"))
		require.NoError(t, err)
		defer sqlDB.Close()
		db, err := gorm.Open(sqlite.New(sqlite.Config{Conn: sqlDB}), &gorm.Config{Logger: logger.Discard, PrepareStmt: prepare})
		require.NoError(t, err)
		require.NoError(t, db.AutoMigrate(&Item{}))
		check(t, db, c)
	}
}

func TestCountsOnPostgres(t *testing.T) {
	dsn := os.Getenv("PREFETCH_TEST_POSTGRES_DSN")
	if dsn == "" {
		if os.Getenv("PREFETCH_REQUIRE_POSTGRES") != "" {
			t.Fatal("PREFETCH_REQUIRE_POSTGRES is set but PREFETCH_TEST_POSTGRES_DSN is empty")
		}
		t.Skip("PREFETCH_TEST_POSTGRES_DSN not set: skipping PostgreSQL test")
	}
	sqlDB, c, err := sqlcount.OpenPostgres(dsn)
	require.NoError(t, err)
	defer sqlDB.Close()
	db, err := gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), &gorm.Config{Logger: logger.Discard})
	require.NoError(t, err)
	db = db.Table("sqlcount_items")
	require.NoError(t, db.Migrator().DropTable("sqlcount_items"))
	require.NoError(t, db.AutoMigrate(&Item{}))
	defer db.Migrator().DropTable("sqlcount_items")
	check(t, db.Session(&gorm.Session{}), c)
}

func check(t *testing.T, db *gorm.DB, c *sqlcount.Counter) {
	t.Helper()
	c.Reset()
	require.NoError(t, db.Create(&Item{Name: "a"}).Error) // BEGIN, INSERT, COMMIT: one statement
	require.EqualValues(t, 1, c.Total())
	var it Item
	require.NoError(t, db.First(&it).Error)
	require.EqualValues(t, 2, c.Total())
	require.NoError(t, db.Transaction(func(tx *gorm.DB) error {
		return tx.Model(&it).Update("name", "b").Error
	}))
	require.EqualValues(t, 3, c.Total())
	require.Len(t, c.Log(), 3)
	c.Reset()
	require.Zero(t, c.Total())
	require.Empty(t, c.Log())
}
