package prefetch_test

import (
	"bytes"
	"fmt"
	"log"
	"log/slog"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
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

// GORM's logger shows what reached the database as GORM shows its own
// statements, and marks what the cache answered: for a loop of 16 lookups,
// 1 query, 1 batch load naming the loop's line, and 16 marked lines.
func TestGORMLoggerTellsServedStatementsFromQueries(t *testing.T) {
	var buf bytes.Buffer
	e := openSQLite(t, prefetch.Plugin{})
	e.seed(t, 10, 2)
	gl := logger.New(log.New(&buf, "", 0), logger.Config{LogLevel: logger.Info, Colorful: false})
	ctx, _ := e.request()
	db := e.db.Session(&gorm.Session{Logger: gl, Context: ctx})
	var orders []Order
	require.NoError(t, db.Find(&orders).Error)
	_, file, line, _ := runtime.Caller(0)
	for _, o := range orders {
		require.NoError(t, db.First(&Customer{}, o.CustomerID).Error) // the loop's line: line+2
	}
	out := buf.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	served, batches := 0, 0
	for _, l := range lines {
		switch {
		case strings.Contains(l, "/* prefetch: served from the request cache, no query */"):
			served++
		case strings.Contains(l, "/* prefetch: batch load for "):
			batches++
			require.Contains(t, l, fmt.Sprintf("%s:%d", filepath.Base(file), line+2), "the batch load names the loop's line")
		}
	}
	require.Equal(t, len(orders), served, out)
	require.Equal(t, 1, batches, out)
}
