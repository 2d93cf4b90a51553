package prefetch_test

import (
	"context"
	"testing"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
)

// invalidate calls prefetch.Invalidate. New tests call it only through here,
// so that the change of Invalidate to return an error touches one line.
func invalidate(t *testing.T, ctx context.Context, model any, ids ...any) {
	t.Helper()
	require.NoError(t, prefetch.Invalidate(ctx, model, ids...))
}
