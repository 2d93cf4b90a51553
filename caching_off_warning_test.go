package prefetch_test

import (
	"bytes"
	"log"
	"strings"
	"testing"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Turning caching off is never silent: a connection returned to the pool
// with session state set on it is reported once, naming the state.
func TestCachingTurnedOffByAConnectionIsReported(t *testing.T) {
	var buf bytes.Buffer
	e := openSQLite(t, prefetch.Plugin{})
	e.seed(t, 2, 0)
	gl := logger.New(log.New(&buf, "", 0), logger.Config{LogLevel: logger.Warn})
	_, db := e.request()
	db = db.Session(&gorm.Session{Logger: gl})
	require.NoError(t, db.Connection(func(c *gorm.DB) error {
		return c.Exec("PRAGMA case_sensitive_like = 1").Error
	}))
	for range 3 {
		require.NoError(t, db.First(&Customer{}, 1).Error)
	}
	out := buf.String()
	require.Equal(t, 1, strings.Count(out, "prefetch: caching turned off"), out)
	require.Contains(t, out, "pragma:case_sensitive_like")
	e.requireQueries(t, 1, func() { require.NoError(t, db.First(&Customer{}, 1).Error) })
}
