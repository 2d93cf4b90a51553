package prefetch_test

import (
	"bytes"
	"log"
	"strings"
	"testing"
	"time"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Review of the fast path (issue 8): a served statement whose SQL someone
// may read (another plugin's callback, an AfterFind hook) carries the
// servedKey setting until markServed. GORM's preload copies a statement's
// settings into the statements it runs (preloadDB), so a preload of a
// served statement inherits the mark: when that preload goes to the
// database, markServed still finds the setting and GORM's logger prints a
// real round trip as "served from the request cache, no query".
func TestStatementsSentToTheDatabaseAreNeverLoggedAsServed(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			var e *env
			if dialect == "sqlite" {
				e = openSQLite(t, prefetch.Plugin{})
			} else {
				e = openPostgres(t, prefetch.Plugin{}, postgresDSN(t))
			}
			e.seed(t, 3, 2)
			// Another plugin's callback on the query chain: served
			// statements get their SQL built for it.
			require.NoError(t, e.db.Callback().Query().After("gorm:query").Register("tracer:after_query", func(*gorm.DB) {}))
			cl := &countingLogger{Interface: logger.Discard}
			ctx, _ := e.request()
			db := e.db.Session(&gorm.Session{Logger: cl, Context: ctx})
			var all []Customer
			require.NoError(t, db.Find(&all).Error)
			cl.sqls = nil
			var c Customer
			e.requireQueries(t, 1, func() { // the customer is served, its orders are read
				require.NoError(t, db.Preload("Orders", "amount > ?", 0).First(&c, 1).Error)
			})
			require.NotEmpty(t, c.Orders)
			require.Len(t, cl.sqls, 2, "%q", cl.sqls)
			var sent []string
			for _, sql := range cl.sqls {
				if strings.Contains(sql, "orders") {
					sent = append(sent, sql)
				}
			}
			require.Len(t, sent, 1, "%q", cl.sqls)
			require.False(t, strings.HasPrefix(sent[0], servedMark), "a statement that ran on the database is logged as served: %s", sent[0])
		})
	}
}

// The same with no other plugin: a model with an AfterFind hook, and GORM's
// own logger at Info level (db.Debug()), the usual way to watch queries.
type sentParent struct {
	ID    uint
	Name  string
	Kids  []sentKid `gorm:"foreignKey:ParentID"`
	Found bool      `gorm:"-"`
}

func (p *sentParent) AfterFind(*gorm.DB) error { p.Found = true; return nil }

type sentKid struct {
	ID       uint
	ParentID uint
	Age      int
}

func TestPreloadOfAServedRecordWithAHookIsNotLoggedAsServed(t *testing.T) {
	e := openSQLite(t, prefetch.Plugin{})
	require.NoError(t, e.plain.AutoMigrate(&sentParent{}, &sentKid{}))
	require.NoError(t, e.plain.Create(&[]sentParent{{Name: "a"}, {Name: "b"}}).Error)
	require.NoError(t, e.plain.Create(&[]sentKid{{ParentID: 1, Age: 3}, {ParentID: 2, Age: 4}}).Error)
	var buf bytes.Buffer
	gl := logger.New(log.New(&buf, "", 0), logger.Config{LogLevel: logger.Info, SlowThreshold: time.Hour})
	ctx, _ := e.request()
	db := e.db.Session(&gorm.Session{Logger: gl, Context: ctx})
	var all []sentParent
	require.NoError(t, db.Find(&all).Error)
	buf.Reset()
	var p sentParent
	e.requireQueries(t, 1, func() { // the parent is served, its kids are read
		require.NoError(t, db.Preload("Kids", "age > ?", 0).First(&p, 1).Error)
	})
	require.True(t, p.Found)
	for _, line := range strings.Split(buf.String(), "\n") {
		if strings.Contains(line, "sent_kids") {
			require.NotContains(t, line, servedMark, "the kids were read from the database")
		}
	}
}
