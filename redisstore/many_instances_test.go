package redisstore_test

import (
	"testing"

	"github.com/stretchr/testify/require"
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
