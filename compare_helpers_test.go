package prefetch_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gorm-prefetch/prefetch"
	"github.com/gorm-prefetch/prefetch/internal/sqlcount"
	"github.com/stretchr/testify/require"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
)

// The comparison tests run one call sequence twice, on two databases set up
// alike: once through plain GORM, once through GORM with the plugin and a
// request cache. Each records what every call returned (rows, error,
// RowsAffected, hook output) and the two records must be equal.
//
// On PostgreSQL each side lives in a schema of its own, named in the
// connection's search_path, so tables keep their plain names and a test can
// create more schemas and roles beside it (dropped when the test ends).

// compareOpts says how to open the two sides.
type compareOpts struct {
	plugin  prefetch.Plugin
	oneConn bool   // a pool of one connection: session statements sent through it reach every later statement
	only    string // "sqlite" or "postgres" when the feature exists on one database only
	pgDSN   string // appended to the PostgreSQL DSN
}

// side is one half of a comparison.
type side struct {
	plugin  bool
	dialect string // "sqlite" or "postgres"
	dsn     string // opens another handle on the same database
	schema  string // postgres: the schema of this side (its search_path)
	dir     string // sqlite: the directory holding the database file
	sqlDB   *sql.DB
	db      *gorm.DB        // with the plugin on the plugin side
	ctx     context.Context // a request context on the plugin side
	count   *sqlcount.Counter
	opts    compareOpts
	obs     []observation
}

// observation is what one call returned.
type observation struct {
	Step string
	Err  string
	Rows int64
	Val  any
}

// forEachDB runs fn as a subtest on SQLite and on PostgreSQL (skipped, saying
// so, without PREFETCH_TEST_POSTGRES_DSN), or on the one database o names.
func forEachDB(t *testing.T, only string, fn func(t *testing.T, dialect string)) {
	for _, d := range []string{"sqlite", "postgres"} {
		if only != "" && only != d {
			continue
		}
		t.Run(d, func(t *testing.T) { fn(t, d) })
	}
}

// compare runs setup then script on a plain side and on a plugin side of
// each database, and requires both to have observed the same things.
//
// With PREFETCH_COMPARE_PLAIN set, both sides run without the plugin: every
// comparison must then pass, which shows that a failure without it is the
// plugin's difference, not the database's own nondeterminism.
func compare(t *testing.T, o compareOpts, setup, script func(t *testing.T, s *side)) {
	t.Helper()
	compareThen(t, o, setup, script, nil)
}

// compareThen is compare, then check (when not nil) on the two sides.
//
// The plugin side runs twice, on two fresh databases: once as it serves
// (the direct copy of served rows), once with every served result replayed
// through database/sql (prefetch.ForceReplay, the reference path). Both
// must observe what plain GORM observed.
func compareThen(t *testing.T, o compareOpts, setup, script func(t *testing.T, s *side), check func(t *testing.T, plain, plug *side)) {
	t.Helper()
	withPlugin := os.Getenv("PREFETCH_COMPARE_PLAIN") == ""
	forEachDB(t, o.only, func(t *testing.T, dialect string) {
		run := func(s *side) {
			if setup != nil {
				setup(t, s)
			}
			script(t, s)
		}
		plain := openSide(t, dialect, false, o)
		run(plain)
		for _, path := range servedPaths(withPlugin) {
			plug := openSide(t, dialect, withPlugin, o)
			func() {
				prefetch.ForceReplay(path == "replay")
				defer prefetch.ForceReplay(false)
				run(plug)
			}()
			requireSameObservations(t, plain.obs, plug.obs, path)
			if check != nil {
				check(t, plain, plug)
			}
		}
	})
}

// servedPaths names the ways served rows reach the destination that the
// plugin side runs: the direct copy and the replay.
func servedPaths(withPlugin bool) []string {
	if !withPlugin {
		return []string{"plain"}
	}
	return []string{"direct copy", "replay"}
}

// requireSameObservations fails at the first step where the plugin side saw
// something else than the plain side.
func requireSameObservations(t *testing.T, plain, plug []observation, path string) {
	t.Helper()
	for i := range min(len(plain), len(plug)) {
		if !reflect.DeepEqual(plain[i], plug[i]) {
			t.Fatalf("step %d %q differs with the plugin (%s):\nplain:  %+v\nplugin: %+v", i, plain[i].Step, path, plain[i], plug[i])
		}
	}
	require.Equal(t, len(plain), len(plug), "both sides ran the same steps")
}

// openSide opens a fresh database (a file on SQLite, a schema on PostgreSQL).
func openSide(t *testing.T, dialect string, plugin bool, o compareOpts) *side {
	t.Helper()
	s := &side{plugin: plugin, dialect: dialect, opts: o, ctx: context.Background()}
	switch dialect {
	case "sqlite":
		s.dir = t.TempDir()
		s.dsn = filepath.Join(s.dir, "main.db") + "?_journal_mode=WAL&_busy_timeout=5000&_foreign_keys=1"
	case "postgres":
		base := postgresDSN(t)
		s.schema = fmt.Sprintf("pf%d_%d", os.Getpid(), tableSeq.Add(1))
		pgAdmin(t, base, "CREATE SCHEMA "+s.schema)
		t.Cleanup(func() { pgAdmin(t, base, "DROP SCHEMA IF EXISTS "+s.schema+" CASCADE") })
		s.dsn = base + " search_path=" + s.schema + " " + o.pgDSN
	}
	s.sqlDB, s.db, s.count = s.openHandle(t, plugin)
	if plugin {
		s.ctx = prefetch.NewContext(context.Background())
	}
	return s
}

// openHandle opens a new *sql.DB and *gorm.DB on the side's database.
func (s *side) openHandle(t *testing.T, plugin bool) (*sql.DB, *gorm.DB, *sqlcount.Counter) {
	t.Helper()
	var (
		sqlDB *sql.DB
		c     *sqlcount.Counter
		err   error
		dial  gorm.Dialector
	)
	if s.dialect == "sqlite" {
		sqlDB, c, err = sqlcount.OpenSQLite(s.dsn)
		require.NoError(t, err)
		dial = sqlite.New(sqlite.Config{Conn: sqlDB, DSN: s.dsn})
	} else {
		sqlDB, c, err = sqlcount.OpenPostgres(s.dsn)
		require.NoError(t, err)
		dial = postgres.New(postgres.Config{Conn: sqlDB, DSN: s.dsn})
	}
	t.Cleanup(func() { sqlDB.Close() })
	if s.opts.oneConn {
		sqlDB.SetMaxOpenConns(1)
	}
	db, err := gorm.Open(dial, &gorm.Config{Logger: quiet})
	require.NoError(t, err)
	if plugin {
		require.NoError(t, db.Use(s.opts.plugin))
	}
	return sqlDB, db, c
}

// pgAdmin runs statements on PostgreSQL outside any side, for schemas and
// roles.
func pgAdmin(t *testing.T, dsn string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	defer db.Close()
	for _, q := range stmts {
		_, err := db.Exec(q)
		require.NoError(t, err, q)
	}
}

// q is the side's handle with its request context.
func (s *side) q() *gorm.DB { return s.db.WithContext(s.ctx) }

// onConnection runs fn on one connection taken from the pool with
// db.Connection. fn gets a new session per call, as calls on the handle
// Connection passes would otherwise share one statement and its errors.
func (s *side) onConnection(fn func(c *gorm.DB)) {
	s.seeErr("Connection", s.q().Connection(func(c *gorm.DB) error {
		fn(c.Session(&gorm.Session{}))
		return nil
	}), nil)
}

// name prefixes a name with the side's schema on PostgreSQL, so that
// schemas and roles a test creates are its own.
func (s *side) name(suffix string) string {
	if s.schema == "" {
		return suffix
	}
	return s.schema + "_" + suffix
}

// newSchema creates a PostgreSQL schema of this side, dropped at the end.
func (s *side) newSchema(t *testing.T, suffix string) string {
	t.Helper()
	n := s.name(suffix)
	base := postgresDSN(t)
	pgAdmin(t, base, "CREATE SCHEMA "+n)
	t.Cleanup(func() { pgAdmin(t, base, "DROP SCHEMA IF EXISTS "+n+" CASCADE") })
	return n
}

// newRole creates a PostgreSQL role of this side that the test's user may
// SET ROLE to, dropped at the end.
func (s *side) newRole(t *testing.T, suffix string) string {
	t.Helper()
	n := s.name(suffix)
	base := postgresDSN(t)
	pgAdmin(t, base, "CREATE ROLE "+n+" NOLOGIN", "GRANT "+n+" TO CURRENT_USER")
	t.Cleanup(func() { pgAdmin(t, base, "DROP OWNED BY "+n, "DROP ROLE IF EXISTS "+n) })
	return n
}

// must fails the test when a setup statement fails.
func (s *side) must(t *testing.T, res *gorm.DB) {
	t.Helper()
	require.NoError(t, res.Error, "%s side", s.label())
}

func (s *side) label() string {
	if s.plugin {
		return "plugin"
	}
	return "plain"
}

// see records what a GORM call returned.
func (s *side) see(step string, res *gorm.DB, val any) {
	s.obs = append(s.obs, observation{Step: step, Err: s.errClass(res.Error), Rows: res.RowsAffected, Val: val})
}

// seeErr records an error and a value.
func (s *side) seeErr(step string, err error, val any) {
	s.obs = append(s.obs, observation{Step: step, Err: s.errClass(err), Val: val})
}

// note records a value.
func (s *side) note(step string, val any) {
	s.obs = append(s.obs, observation{Step: step, Val: val})
}

// errClass names an error so that both sides can agree on it: the
// sentinels by name, other errors by message (with the side's schema name
// taken out).
func (s *side) errClass(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, gorm.ErrRecordNotFound):
		return "record not found"
	case errors.Is(err, context.Canceled):
		return "context canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "context deadline exceeded"
	}
	msg := err.Error()
	if s.schema != "" {
		msg = strings.ReplaceAll(msg, s.schema, "<schema>")
	}
	return "error: " + msg
}
