package prefetch_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// A loop of key lookups made without a request cache warns once, naming its
// line; with the option off, or with a request cache, nothing is said.
func TestMissingRequestContextIsReportedOncePerLine(t *testing.T) {
	for _, tc := range []struct {
		name    string
		warn    bool
		context func() context.Context
		want    int
	}{
		{"no request cache", true, context.Background, 1},
		{"option off", false, context.Background, 0},
		{"request cache", true, func() context.Context { return prefetch.NewContext(context.Background()) }, 0},
		{"disabled on purpose", true, func() context.Context { return prefetch.Disable(prefetch.NewContext(context.Background())) }, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			e := openSQLite(t, prefetch.Plugin{WarnMissingContext: tc.warn})
			e.seed(t, 5, 1)
			gl := logger.New(log.New(&buf, "", 0), logger.Config{LogLevel: logger.Warn})
			db := e.db.Session(&gorm.Session{Logger: gl, Context: tc.context()})
			_, file, line, _ := runtime.Caller(0)
			for i := 1; i <= 4; i++ {
				require.NoError(t, db.First(&Customer{}, i).Error) // line+2
			}
			require.Equal(t, tc.want, strings.Count(buf.String(), "no request cache"), buf.String())
			if tc.want > 0 {
				require.Contains(t, buf.String(), fmt.Sprintf("%s:%d", filepath.Base(file), line+2))
			}
		})
	}
}
