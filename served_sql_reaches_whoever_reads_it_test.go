package prefetch_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"strings"
	"testing"
	"time"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

const servedMark = "/* prefetch: served from the request cache, no query */"

// A served statement's SQL is built only for those who read it. GORM's own
// logger prints it (marked as served) at Info level, and at Error level
// when the statement fails; at Warn or Silent level a served read is not
// printed, as plain GORM does not print a successful fast read.
func TestGORMLoggerPrintsServedStatementsItWouldPrint(t *testing.T) {
	cases := []struct {
		level    logger.LogLevel
		id       int // 404: no such order, First fails
		printed  bool
		contains string
	}{
		{logger.Info, 2, true, "`orders`.`id` = 2"},
		{logger.Warn, 2, false, ""},
		{logger.Error, 2, false, ""},
		{logger.Silent, 404, false, ""},
		{logger.Error, 404, true, "record not found"},
		{logger.Warn, 404, true, "`orders`.`id` = 404"},
	}
	for _, c := range cases {
		e := openSQLite(t, prefetch.Plugin{})
		e.seed(t, 3, 1)
		var buf bytes.Buffer
		gl := logger.New(log.New(&buf, "", 0), logger.Config{LogLevel: c.level, SlowThreshold: time.Hour})
		ctx, _ := e.request()
		db := e.db.Session(&gorm.Session{Logger: gl, Context: ctx})
		var all []Order
		require.NoError(t, db.Find(&all).Error)
		var absent []Order
		require.NoError(t, db.Find(&absent, []int{404}).Error) // 404 is known absent from now on
		buf.Reset()
		e.requireQueries(t, 0, func() {
			var o Order
			db.First(&o, c.id)
		})
		out := buf.String()
		if !c.printed {
			require.Empty(t, out, "level %v", c.level)
			continue
		}
		require.Contains(t, out, servedMark, "level %v", c.level)
		require.Contains(t, out, c.contains, "level %v", c.level)
	}
}

// countingLogger is a logger of another type than GORM's: it is given the
// SQL of every statement, served or not.
type countingLogger struct {
	logger.Interface
	sqls []string
}

func (l *countingLogger) LogMode(logger.LogLevel) logger.Interface { return l }
func (l *countingLogger) Trace(_ context.Context, _ time.Time, fc func() (string, int64), _ error) {
	sql, _ := fc()
	l.sqls = append(l.sqls, sql)
}

func TestOtherLoggersAreGivenEveryServedStatement(t *testing.T) {
	e := openSQLite(t, prefetch.Plugin{})
	e.seed(t, 3, 0)
	cl := &countingLogger{Interface: logger.Discard}
	ctx, _ := e.request()
	db := e.db.Session(&gorm.Session{Logger: cl, Context: ctx})
	var all []Customer
	require.NoError(t, db.Find(&all).Error)
	e.requireQueries(t, 0, func() {
		var c Customer
		require.NoError(t, db.First(&c, 2).Error)
	})
	require.Len(t, cl.sqls, 2)
	require.True(t, strings.HasPrefix(cl.sqls[1], servedMark), cl.sqls[1])
	require.Contains(t, cl.sqls[1], "`customers`.`id` = 2")
}

// A callback another plugin puts on the query chain (a tracer reading
// tx.Statement.SQL, as otelgorm does) sees the SQL plain GORM builds, for a
// served statement too.
func TestOtherPluginsCallbacksSeeTheSQLPlainGORMBuilt(t *testing.T) {
	traced := map[*side]*[]string{}
	compare(t, compareOpts{}, func(t *testing.T, s *side) {
		require.NoError(t, s.db.AutoMigrate(&Customer{}, &Order{}))
		s.must(t, s.db.Create(&[]Customer{{Name: "a"}, {Name: "b"}}))
		s.must(t, s.db.Create(&[]Order{{CustomerID: 1}, {CustomerID: 2}}))
		sqls := new([]string)
		traced[s] = sqls
		require.NoError(t, s.db.Callback().Query().After("gorm:query").Register("tracer:after_query", func(tx *gorm.DB) {
			*sqls = append(*sqls, fmt.Sprintf("%s %v %v", tx.Statement.SQL.String(), tx.Statement.Vars, tx.Error))
		}))
	}, func(t *testing.T, s *side) {
		var all []Order
		s.see("all", s.q().Find(&all), len(all))
		var none []Order
		s.see("absent", s.q().Find(&none, []int{404}), len(none))
		for i := range 2 {
			var o Order
			res := s.q().First(&o, 2)
			s.see(fmt.Sprint("read ", i), res, o.CustomerID)
			var miss Order
			res = s.q().First(&miss, 404) // served too: known absent, fails
			s.see(fmt.Sprint("miss ", i), res, miss.CustomerID)
		}
		s.note("traced", *traced[s])
	})
}
