package prefetch_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
)

func TestLoggerReportsBatchLoadsAndStatsCount(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := openSQLite(t, prefetch.Plugin{Logger: log})
	e.seed(t, 10, 2)
	ctx, db := e.request()
	var orders []Order
	require.NoError(t, db.Find(&orders).Error)
	for _, o := range orders {
		require.NoError(t, db.First(&Customer{}, o.CustomerID).Error)
	}
	require.Equal(t, 1, strings.Count(buf.String(), "prefetch: batch load"), buf.String())
	require.Contains(t, buf.String(), "keys=8")
	s := prefetch.StatsOf(ctx)
	require.Equal(t, prefetch.Stats{
		Hits: int64(len(orders)), Misses: 1, Queries: 2, BatchLoads: 1, Prefetched: 8, Rows: 16 + 8,
	}, s)
}
