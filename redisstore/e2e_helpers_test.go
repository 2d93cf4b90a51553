package redisstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/gorm-prefetch/prefetch"
	"github.com/gorm-prefetch/prefetch/internal/sqlcount"
	"github.com/gorm-prefetch/prefetch/redisstore"
	"github.com/stretchr/testify/require"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
	"gorm.io/gorm/schema"
)

// The models of the end-to-end tests: owners have items; both are shared.
type Owner struct {
	ID    int64 `gorm:"primaryKey"`
	Name  string
	Items []Item
}

type Item struct {
	ID      int64 `gorm:"primaryKey"`
	OwnerID int64
	Name    string
	Version int64
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
		t.Skip("PREFETCH_TEST_POSTGRES_DSN is unset: skipping a PostgreSQL test")
	}
	return dsn
}

// A world is one PostgreSQL database and one Redis, with tables of the
// test's own (a table prefix) and keys of its own (a key prefix).
type world struct {
	dsn, redis, tables, keys string
	timeout                  time.Duration // of the store's calls; 0 means 500ms
	silence                  time.Duration // the stores' MemberSilence; 0 means the default
}

func newWorld(t *testing.T) world {
	w := world{
		dsn:    postgresDSN(t),
		redis:  redisAddr(t),
		tables: fmt.Sprintf("rs%d_%x_", os.Getpid(), rand.Uint32()),
		keys:   uniquePrefix(t),
	}
	plain := w.plain(t)
	require.NoError(t, plain.AutoMigrate(&Owner{}, &Item{}))
	t.Cleanup(func() { _ = plain.Migrator().DropTable(&Item{}, &Owner{}) })
	return w
}

func (w world) config() *gorm.Config {
	return &gorm.Config{Logger: logger.Discard, NamingStrategy: schema.NamingStrategy{TablePrefix: w.tables}}
}

// plain opens the database without the plugin.
func (w world) plain(t testing.TB) *gorm.DB {
	db, err := gorm.Open(postgres.Open(w.dsn), w.config())
	require.NoError(t, err)
	sqlDB, err := db.DB()
	require.NoError(t, err)
	t.Cleanup(func() { _ = sqlDB.Close() })
	return db
}

// An instance is what one app process holds: its own pool, plugin and
// Redis client.
type instance struct {
	db    *gorm.DB
	count *sqlcount.Counter
	store *redisstore.Store
}

func (w world) instance(t testing.TB) *instance {
	return w.instanceAt(t, w.redis, 500*time.Millisecond, 0)
}

// instanceAt opens an instance whose store reaches Redis at addr (a proxy)
// and gives up after timeout.
func (w world) instanceAt(t testing.TB, addr string, timeout, silence time.Duration) *instance {
	w.redis, w.timeout, w.silence = addr, timeout, silence
	in, closeIt, err := w.open()
	require.NoError(t, err)
	t.Cleanup(closeIt)
	return in
}

// open opens an instance, and returns what closes it.
func (w world) open() (*instance, func(), error) {
	sqlDB, counter, err := sqlcount.OpenPostgres(w.dsn)
	if err != nil {
		return nil, nil, err
	}
	timeout := w.timeout
	if timeout == 0 {
		timeout = 500 * time.Millisecond
	}
	store, err := redisstore.Dial(w.redis, redisstore.Options{Prefix: w.keys, Timeout: timeout, MemberSilence: w.silence})
	if err != nil {
		_ = sqlDB.Close()
		return nil, nil, err
	}
	closeIt := func() { _ = store.Close(); _ = sqlDB.Close() }
	db, err := gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), w.config())
	if err == nil {
		err = db.Use(prefetch.Plugin{Shared: &prefetch.SharedCache{
			Store:         store,
			Models:        []any{&Owner{}, &Item{}},
			Unpartitioned: true,
			Timeout:       timeout,
		}})
	}
	if err != nil {
		closeIt()
		return nil, nil, err
	}
	return &instance{db: db, count: counter, store: store}, closeIt, nil
}

// request returns the instance's handle in a new request.
func (in *instance) request() *gorm.DB {
	return in.db.WithContext(prefetch.NewContext(context.Background()))
}

// queries runs fn and returns how many statements reached the database.
func (in *instance) queries(fn func()) int64 {
	in.count.Reset()
	fn()
	return in.count.Total()
}

// seed creates owners with items per owner, without the plugin.
func (w world) seed(t testing.TB, owners, items int) {
	db := w.plain(t)
	for o := 1; o <= owners; o++ {
		require.NoError(t, db.Create(&Owner{ID: int64(o), Name: fmt.Sprint("owner ", o)}).Error)
		for i := 1; i <= items; i++ {
			id := int64((o-1)*items + i)
			require.NoError(t, db.Create(&Item{ID: id, OwnerID: int64(o), Name: fmt.Sprint("item ", id)}).Error)
		}
	}
}
