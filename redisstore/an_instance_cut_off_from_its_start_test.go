package redisstore_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// An instance that starts while it cannot reach Redis (it reaches
// PostgreSQL) has never joined the space's members: when its write's
// invalidation fails, the other instances do not know to stop serving.
// (doc.go lists "a process that has not reached Redis since Redis last
// restarted" as not covered; this one never reached it. The setting is the
// one documented to leave no stale read: MemberSilence = Shared.Timeout.)
func TestAnInstanceCutOffFromItsStartNeverLeavesAStaleRowReadable(t *testing.T) {
	t.Skip("documented limitation: a process that never reached Redis is not a member (docs/shared-cache-redis.md, Not covered)")
	w := newWorld(t)
	w.seed(t, 1, 1)
	const timeout = 100 * time.Millisecond
	reader := w.instanceAt(t, w.redis, timeout, timeout)
	p := newProxy(t, w.redis)
	p.setCut(true)
	writer := w.instanceAt(t, p.addr(), timeout, timeout)

	var it Item
	require.NoError(t, reader.request().First(&it, 1).Error) // fills
	require.NoError(t, writer.request().Model(&Item{ID: 1}).Update("name", "new").Error)

	var plain Item
	require.NoError(t, w.plain(t).First(&plain, 1).Error)
	require.Equal(t, "new", plain.Name)
	var got Item
	require.NoError(t, reader.request().First(&got, 1).Error)
	require.Equal(t, "new", got.Name, "stale row served after the write returned")
}
