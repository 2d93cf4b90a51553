package memstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/gorm-prefetch/prefetch"
	"github.com/gorm-prefetch/prefetch/memstore"
	"github.com/stretchr/testify/require"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

type Product struct {
	ID        uint
	Name      string
	UpdatedAt time.Time
}

// open returns n handles on one SQLite database, each with its own
// plugin, sharing store.
func open(t *testing.T, store prefetch.SharedStore, n int) []*gorm.DB {
	t.Helper()
	dsn := filepath.Join(t.TempDir(), "db.sqlite") + "?_journal_mode=WAL&_busy_timeout=5000"
	var out []*gorm.DB
	for range n {
		db, err := gorm.Open(sqlite.Open(dsn), &gorm.Config{Logger: logger.Discard})
		require.NoError(t, err)
		require.NoError(t, db.Use(prefetch.Plugin{Shared: &prefetch.SharedCache{
			Store: store, Models: []any{&Product{}}, Unpartitioned: true,
		}}))
		out = append(out, db)
	}
	require.NoError(t, out[0].AutoMigrate(&Product{}))
	return out
}

func req(db *gorm.DB) (*gorm.DB, context.Context) {
	ctx := prefetch.NewContext(context.Background())
	return db.WithContext(ctx), ctx
}

func TestHandlesShareRowsThroughTheStoreAndNeverReadAStaleOne(t *testing.T) {
	store := memstore.New(memstore.Options{})
	t.Cleanup(store.Close)
	dbs := open(t, store, 2)
	a, b := dbs[0], dbs[1]
	require.NoError(t, a.Create(&[]Product{{Name: "one"}, {Name: "two"}}).Error)

	q, ctx := req(a)
	var p Product
	require.NoError(t, q.First(&p, 1).Error)
	require.EqualValues(t, 1, prefetch.StatsOf(ctx).SharedFills)
	q, ctx = req(b)
	require.NoError(t, q.First(&p, 1).Error)
	require.Equal(t, "one", p.Name)
	require.EqualValues(t, 1, prefetch.StatsOf(ctx).SharedHits)
	require.EqualValues(t, 0, prefetch.StatsOf(ctx).Queries)

	q, _ = req(a)
	require.NoError(t, q.Model(&Product{ID: 1}).Update("name", "uno").Error)
	q, ctx = req(b)
	require.NoError(t, q.First(&p, 1).Error)
	require.Equal(t, "uno", p.Name)
	require.EqualValues(t, 0, prefetch.StatsOf(ctx).SharedHits)

	// The stale-set race, forced through a store that writes between the
	// read and the fill.
	racy := &writeBeforeFill{Store: store}
	dbs = open(t, racy, 2)
	a, b = dbs[0], dbs[1]
	require.NoError(t, a.Create(&Product{Name: "old"}).Error)
	racy.write = func() {
		q, _ := req(b)
		require.NoError(t, q.Model(&Product{ID: 1}).Update("name", "new").Error)
	}
	q, _ = req(a)
	require.NoError(t, q.First(&p, 1).Error)
	require.Equal(t, "old", p.Name)
	for _, db := range dbs {
		q, _ = req(db)
		require.NoError(t, q.First(&p, 1).Error)
		require.Equal(t, "new", p.Name)
	}
}

// writeBeforeFill runs write (once) after a read missed and before its
// fill reaches the store.
type writeBeforeFill struct {
	*memstore.Store
	write func()
}

func (s *writeBeforeFill) Fill(ctx context.Context, lease prefetch.SharedLease, space, part, table string, keys []string, vals [][]byte, ttl time.Duration) error {
	if w := s.write; w != nil {
		s.write = nil
		w()
	}
	return s.Store.Fill(ctx, lease, space, part, table, keys, vals, ttl)
}

func TestMaxEntriesBoundsTheStore(t *testing.T) {
	store := memstore.New(memstore.Options{MaxEntries: 50})
	t.Cleanup(store.Close)
	dbs := open(t, store, 1)
	ps := make([]Product, 500)
	for i := range ps {
		ps[i].Name = fmt.Sprint(i)
	}
	require.NoError(t, dbs[0].Create(&ps).Error)
	n, err := prefetch.Warm(context.Background(), dbs[0], &Product{})
	require.NoError(t, err)
	require.Equal(t, 500, n)
	require.Eventually(t, func() bool { return store.Len() <= 50 }, 5*time.Second, 10*time.Millisecond)
}
