package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/gorm-prefetch/prefetch"
	"github.com/gorm-prefetch/prefetch/redisstore"
	"github.com/stretchr/testify/require"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
)

// A row one instance read is served to another from Redis; a write through
// the second is seen by the first's next request.
func TestInstancesShareRowsAndSeeEachOthersWrites(t *testing.T) {
	w := newWorld(t)
	w.seed(t, 2, 3)
	a, b := w.instance(t), w.instance(t)

	var it Item
	require.EqualValues(t, 1, a.queries(func() { require.NoError(t, a.request().First(&it, 2).Error) }))
	require.EqualValues(t, 0, b.queries(func() { require.NoError(t, b.request().First(&it, 2).Error) }), "the row a read was not served to b")
	require.Equal(t, "item 2", it.Name)

	require.NoError(t, b.request().Model(&Item{ID: 2}).Update("name", "renamed").Error)
	var got Item
	require.NoError(t, a.request().First(&got, 2).Error)
	require.Equal(t, "renamed", got.Name, "a served the row from before b's write")

	// A batch: the rows of a scope come from Redis in one round trip.
	var items []Item
	require.EqualValues(t, 1, a.queries(func() { require.NoError(t, a.request().Find(&items, []int64{1, 2, 3, 4}).Error) }))
	require.EqualValues(t, 0, b.queries(func() { require.NoError(t, b.request().Find(&items, []int64{1, 2, 3, 4}).Error) }))
	require.Len(t, items, 4)
}

// writeBeforeFill runs write (once) after a read missed and before its
// fill reaches Redis: the stale-set race, forced.
type writeBeforeFill struct {
	*redisstore.Store
	write func()
}

func (s *writeBeforeFill) Fill(ctx context.Context, lease prefetch.SharedLease, space, part, table string, keys []string, vals [][]byte, ttl time.Duration) error {
	if w := s.write; w != nil {
		s.write = nil
		w()
	}
	return s.Store.Fill(ctx, lease, space, part, table, keys, vals, ttl)
}

// A reads the old row from PostgreSQL; B updates it (through its own
// plugin and Redis client) before A's fill reaches Redis: the fill is
// refused, and every instance reads the new row.
func TestAFillOfARowReadBeforeAWriteElsewhereIsRefused(t *testing.T) {
	w := newWorld(t)
	w.seed(t, 1, 2)
	b := w.instance(t)
	racy := &writeBeforeFill{Store: newStoreAt(t, w.redis, redisstore.Options{Prefix: w.keys})}
	a, err := gorm.Open(postgres.Open(w.dsn), w.config())
	require.NoError(t, err)
	require.NoError(t, a.Use(prefetch.Plugin{Shared: &prefetch.SharedCache{Store: racy, Models: []any{&Owner{}, &Item{}}, Unpartitioned: true}}))
	racy.write = func() { require.NoError(t, b.request().Model(&Item{ID: 1}).Update("name", "new").Error) }

	var it Item
	ctx := prefetch.NewContext(context.Background())
	require.NoError(t, a.WithContext(ctx).First(&it, 1).Error)
	require.Equal(t, "item 1", it.Name, "a read the row before b's write")
	require.Nil(t, racy.write, "the write did not run between the read and the fill")
	for _, db := range []*gorm.DB{a, b.db} {
		ctx := prefetch.NewContext(context.Background())
		require.NoError(t, db.WithContext(ctx).First(&it, 1).Error)
		require.Equal(t, "new", it.Name, "a fill of the row read before the write was kept")
	}
}
