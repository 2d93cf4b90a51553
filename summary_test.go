package prefetch_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
)

func TestFinishLogsOneSummaryLineWithTheN1Sites(t *testing.T) {
	e := openSQLite(t, prefetch.Plugin{})
	e.seed(t, 10, 2)
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	ctx := prefetch.NewContext(context.Background(), prefetch.WithReport(), prefetch.WithSummary(log))
	db := e.db.WithContext(ctx)
	var orders []Order
	require.NoError(t, db.Find(&orders).Error)
	at := line() + 2
	for _, o := range orders {
		require.NoError(t, db.First(&Customer{}, o.CustomerID).Error)
	}
	prefetch.Finish(ctx)
	require.Zero(t, prefetch.StatsOf(ctx).Rows, "Finish empties the cache")

	var got map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &got), buf.String())
	require.Equal(t, "prefetch: request", got["msg"])
	require.Equal(t, "INFO", got["level"])
	want := map[string]float64{"statements": 17, "queries": 2, "served": 16, "batch_loads": 1,
		"rows_prefetched": 8, "rows_held": 24, "n_plus_one": 1}
	for k, v := range want {
		require.Equal(t, v, got[k], k)
	}
	site := got["sites"].(map[string]any)["1"].(map[string]any)
	require.True(t, strings.HasSuffix(site["at"].(string), "summary_test.go:"+strconv.Itoa(at)), site)
	require.Equal(t, float64(16), site["statements"])
	require.Equal(t, float64(1), site["queries"])
	require.Contains(t, site["fix"], `Preload("Customer")`)
}

func TestMiddlewareWithLogsEachRequestAndPlainFinishIsClear(t *testing.T) {
	e := openSQLite(t, prefetch.Plugin{})
	e.seed(t, 4, 1)
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	h := prefetch.MiddlewareWith(prefetch.WithSummary(log))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var cs []Customer
		require.NoError(t, e.db.WithContext(r.Context()).Find(&cs).Error)
	}))
	for i := 0; i < 3; i++ {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	}
	require.Equal(t, 3, strings.Count(buf.String(), `msg="prefetch: request" statements=1 queries=1 served=0`), buf.String())
	require.NotContains(t, buf.String(), "n_plus_one", "no report asked")

	buf.Reset()
	ctx := prefetch.NewContext(context.Background())
	require.NoError(t, e.db.WithContext(ctx).Find(&[]Customer{}).Error)
	prefetch.Finish(ctx)
	prefetch.Finish(context.Background())
	require.Zero(t, prefetch.StatsOf(ctx).Rows)
	require.Empty(t, buf.String())
}
