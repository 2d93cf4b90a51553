package redisstore_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/gorm-prefetch/prefetch/redisstore"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

type benchCustomer struct {
	ID    int64 `gorm:"primaryKey"`
	Name  string
	Email string
	Score int64
}

// BenchmarkKeyLookup compares a warm key lookup in the Redis store with
// plain GORM's First on PostgreSQL, in one run (quote ratios, not times).
func BenchmarkKeyLookup(b *testing.B) {
	addr, dsn := os.Getenv("PREFETCH_TEST_REDIS_ADDR"), os.Getenv("PREFETCH_TEST_POSTGRES_DSN")
	if addr == "" || dsn == "" {
		b.Skip("needs PREFETCH_TEST_REDIS_ADDR and PREFETCH_TEST_POSTGRES_DSN")
	}
	db, err := gorm.Open(postgres.Open(dsn), &gorm.Config{Logger: logger.Discard})
	require.NoError(b, err)
	table := fmt.Sprintf("bench_customers_%d", os.Getpid())
	db = db.Table(table)
	require.NoError(b, db.AutoMigrate(&benchCustomer{}))
	b.Cleanup(func() { _ = db.Migrator().DropTable(table) })
	rows := make([]benchCustomer, 1000)
	for i := range rows {
		rows[i] = benchCustomer{ID: int64(i + 1), Name: fmt.Sprint("customer ", i), Email: fmt.Sprintf("c%d@example.com", i), Score: int64(i)}
	}
	require.NoError(b, db.CreateInBatches(rows, 500).Error)

	s, err := redisstore.Dial(addr, redisstore.Options{Prefix: fmt.Sprintf("bench:%d", os.Getpid()), Timeout: time.Second})
	require.NoError(b, err)
	b.Cleanup(func() { _ = s.Close() })
	keys := make([]string, len(rows))
	vals := make([][]byte, len(rows))
	for i, r := range rows {
		keys[i] = fmt.Sprint(r.ID)
		vals[i] = []byte(fmt.Sprintf("%d\x00%s\x00%s\x00%d", r.ID, r.Name, r.Email, r.Score)) // a row's size, roughly
	}
	_, lease, err := s.Read(ctx(b), "bench", "", table, keys)
	require.NoError(b, err)
	require.NoError(b, s.Fill(ctx(b), lease, "bench", "", table, keys, vals, time.Hour))

	b.Run("postgres-First", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			var c benchCustomer
			require.NoError(b, db.Session(&gorm.Session{}).Table(table).First(&c, i%1000+1).Error)
		}
	})
	c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	b.Cleanup(func() { _ = c.Close() })
	require.NoError(b, c.Set(ctx(b), "bench:floor", vals[0], time.Hour).Err())
	b.Run("redis-GET-floor", func(b *testing.B) { // one round trip, no script
		b.ReportAllocs()
		for b.Loop() {
			if err := c.Get(b.Context(), "bench:floor").Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("redis-Read-1-key", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			v, _, err := s.Read(b.Context(), "bench", "", table, keys[i%1000:i%1000+1])
			if err != nil || v[0] == nil {
				b.Fatal(err, v)
			}
		}
	})
	b.Run("redis-Read-100-keys", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			j := i % 900
			v, _, err := s.Read(b.Context(), "bench", "", table, keys[j:j+100])
			if err != nil || v[99] == nil {
				b.Fatal(err, v)
			}
		}
	})
}
