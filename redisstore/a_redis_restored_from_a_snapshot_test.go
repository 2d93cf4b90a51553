package redisstore_test

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// Redis saves snapshots by default (save 3600 1 300 100 60 10000) and loads
// the last one when it restarts: the epoch, the versions and the rows come
// back as they were then, without the invalidations made since. A row
// filled before the snapshot and invalidated after it must not be served
// after the restart.
func TestARedisRestoredFromASnapshotNeverServesARowInvalidatedSince(t *testing.T) {
	r := startRedis(t)
	w := newWorld(t)
	w.redis = r.addr()
	w.seed(t, 1, 1)
	a, b := w.instance(t), w.instance(t)

	var it Item
	require.NoError(t, a.request().First(&it, 1).Error) // fills
	require.Zero(t, b.queries(func() { require.NoError(t, b.request().First(&Item{}, 1).Error) }), "b reads a's fill")
	c := redis.NewClient(&redis.Options{Addr: r.addr()})
	require.NoError(t, c.Save(ctx(t)).Err()) // what a periodic snapshot does
	require.NoError(t, c.Close())
	require.NoError(t, b.request().Model(&Item{ID: 1}).Update("name", "new").Error)
	r.restart() // loads the snapshot

	var plain Item
	require.NoError(t, w.plain(t).First(&plain, 1).Error)
	require.Equal(t, "new", plain.Name)
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		for name, in := range map[string]*instance{"a": a, "b": b} {
			var got Item
			require.NoError(t, in.request().First(&got, 1).Error)
			require.Equal(t, "new", got.Name, "instance %s served the row the snapshot held", name)
		}
	}
}
