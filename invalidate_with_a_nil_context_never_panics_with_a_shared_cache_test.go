package prefetch_test

import (
	"context"
	"testing"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
)

// Invalidate with a nil context must not panic ("never panic on bad
// input"), also when a database with a shared cache is registered: the
// delivery to the shared store wraps the context in context.WithoutCancel,
// which panics on nil (shared_invalidate.go). TestContextsWithoutCacheNeverPanic
// catches it only when a shared-cache test ran earlier in the binary.
func TestInvalidateWithANilContextNeverPanicsWithASharedCache(t *testing.T) {
	forEachDB(t, "sqlite", func(t *testing.T, dialect string) {
		e := openShared(t, dialect, nil)
		require.NoError(t, e.plain.AutoMigrate(&Customer{}))
		require.NotPanics(t, func() {
			var nilCtx context.Context
			_ = prefetch.Invalidate(nilCtx, "customers")
			_ = prefetch.Invalidate(nilCtx, &Customer{}, 1)
		})
	})
}
