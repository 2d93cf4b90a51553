package prefetch_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
)

// sharedObs records the shared cache's calls.
type sharedObs struct {
	mu     sync.Mutex
	events []string
}

func (o *sharedObs) add(format string, args ...any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.events = append(o.events, fmt.Sprintf(format, args...))
}

func (*sharedObs) Served(context.Context, string)                                 {}
func (*sharedObs) Queried(context.Context, string, int64, error)                  {}
func (*sharedObs) Dropped(context.Context, int64, int64)                          {}
func (*sharedObs) BatchLoadEnd(context.Context, prefetch.BatchLoad, int64, error) {}
func (*sharedObs) BatchLoadStart(ctx context.Context, _ prefetch.BatchLoad) context.Context {
	return ctx
}

func (o *sharedObs) SharedRead(_ context.Context, table string, hits, misses int, err error) {
	o.add("read %s %d/%d %v", table, hits, misses, err != nil)
}

func (o *sharedObs) SharedInvalidated(_ context.Context, table string, keys int, err error) {
	o.add("invalidated %s %d %v", table, keys, err != nil)
}

func TestAnObserverIsToldOfTheSharedCachesCalls(t *testing.T) {
	obs := &sharedObs{}
	store := newTestStore()
	s := openSide(t, "sqlite", true, compareOpts{plugin: prefetch.Plugin{Observer: obs,
		Shared: &prefetch.SharedCache{Store: store, Models: sharedModels(), Unpartitioned: true}}})
	require.NoError(t, s.db.AutoMigrate(allModels()...))
	require.NoError(t, s.db.Create(&Product{Name: "a"}).Error)
	obs.events = nil
	productName(t, s.db, 1)
	productName(t, s.db, 1)
	require.NoError(t, req(s.db).Model(&Product{ID: 1}).Update("name", "b").Error)
	store.failReads.Store(true)
	productName(t, s.db, 1)
	require.Equal(t, []string{
		"read products 0/1 false",
		"read products 1/0 false",
		"invalidated products 1 false",
		"read products 0/1 true",
	}, obs.events)
}
