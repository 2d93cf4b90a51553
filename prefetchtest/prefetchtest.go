// Package prefetchtest counts the statements that reach the database
// through a *gorm.DB, so that a test can assert how many queries some code
// sends, as Django's assertNumQueries and Rails' assert_queries_count do:
//
//	prefetchtest.AssertMaxQueries(t, db, 2, func() {
//		handler(db.WithContext(prefetch.NewContext(ctx)))
//	})
//
// It counts every statement sent through db's connection pool
// (QueryContext, ExecContext, QueryRowContext, and each run of a statement
// prepared by GORM's PrepareStmt), inside transactions too. BEGIN, COMMIT,
// ROLLBACK, preparing a statement and pings are not statements. With the
// prefetch plugin on db, the counter sits beneath the plugin: the plugin's
// batch loads count, statements it serves from its request cache do not,
// and the plugin behaves as without the counter. It works on plain GORM
// too.
//
// Not counted: statements on a connection taken with db.Connection, on a
// *sql.DB used without GORM, and in transactions begun before [Count]
// installed the counter. Where it can tell that statements may have
// escaped it, an assertion fails and says why: a transaction begun before
// Count on plain GORM, or a statement prepared outside GORM's store for
// PrepareStmt (by a Session with PrepareStmt on a database opened without
// it), whose runs no wrapper sees; set PrepareStmt in gorm.Config instead.
package prefetchtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"

	"github.com/gorm-prefetch/prefetch/internal/poolhook"
	"gorm.io/gorm"
)

// maxStatements is how many statements a Counter keeps the SQL of.
const maxStatements = 1000

// Counter counts the statements that reach the database through one
// *gorm.DB (and every session derived from it). It is safe for concurrent
// use.
type Counter struct {
	mu      sync.Mutex           // protects the fields below
	total   int                  // statements since the counter was installed
	base    int                  // total at the last Reset
	log     []string             // SQL of statement i at log[i%maxStatements], for the last maxStatements
	missed  int                  // events that may hide statements, since installed
	why     string               // what the last of them was
	blind   bool                 // GORM's statement store could not be wrapped: runs of prepared statements are missed
	txStmts map[*sql.Stmt]string // SQL of statements prepared in a transaction, whose runs count at StmtContext
}

// Count returns the counter of the statements sent through db and every
// session of the same gorm.Open, installing it the first time; later calls
// return the same counter. Call it before db is used concurrently, and not
// inside a transaction: transactions begun before it are not counted. The
// counter is registered as a GORM plugin named "prefetchtest".
//
// Count panics if db has no connection pool or was opened on a transaction.
func Count(db *gorm.DB) *Counter {
	if db == nil || db.Config == nil || db.ConnPool == nil {
		panic("prefetchtest: Count needs a *gorm.DB with a connection pool")
	}
	if p, ok := db.Plugins[pluginName].(*plugin); ok {
		return p.c
	}
	p := &plugin{c: &Counter{}}
	if err := db.Use(p); err != nil {
		panic(err)
	}
	return p.c
}

const pluginName = "prefetchtest"

// plugin attaches a Counter to a database, so that every session of the
// database finds it.
type plugin struct{ c *Counter }

func (*plugin) Name() string { return pluginName }

// Initialize installs the counter: beneath the prefetch plugin when db has
// it, else around db's pool; and in GORM's statement store with
// PrepareStmt.
func (p *plugin) Initialize(db *gorm.DB) error {
	wrap := func(inner gorm.ConnPool) gorm.ConnPool {
		return &countingPool{ConnPool: inner, c: p.c}
	}
	if poolhook.Wrap == nil || !poolhook.Wrap(db, wrap) {
		if err := wrapPlain(db, p.c, wrap); err != nil {
			return err
		}
	}
	if ps, ok := db.ConnPool.(*gorm.PreparedStmtDB); ok && !wrapStore(ps, p.c) {
		p.c.blind = true
		p.c.why = whyPrepared
	}
	return nil
}

// wrapPlain wraps the connection pool of a database without the plugin:
// inside GORM's prepared-statement pool, where GORM looks for its own type,
// or in place of db's pool.
func wrapPlain(db *gorm.DB, c *Counter, wrap func(gorm.ConnPool) gorm.ConnPool) error {
	if ps, ok := db.ConnPool.(*gorm.PreparedStmtDB); ok {
		ps.ConnPool = wrap(ps.ConnPool)
		return nil
	}
	old := db.ConnPool
	if _, ok := old.(gorm.TxCommitter); ok {
		return errors.New("prefetchtest: db was opened on a transaction, whose statements cannot be counted")
	}
	counting := wrap(old)
	db.ConnPool = counting
	if db.Statement != nil && db.Statement.ConnPool == old {
		db.Statement.ConnPool = counting
	}
	if !reflect.TypeOf(old).Comparable() {
		return nil
	}
	// Sessions derived before now (the database gorm.Open returned, when
	// Count was given a session of it) hold the old pool: their statements
	// move to the counting pool as they run.
	swap := func(tx *gorm.DB) {
		switch cp := tx.Statement.ConnPool; {
		case cp == old:
			tx.Statement.ConnPool = counting
		case isSQLTx(cp):
			c.miss(whyTx)
		}
	}
	cb := db.Callback()
	for _, err := range []error{
		cb.Create().Before("*").Register("prefetchtest:pool", swap),
		cb.Query().Before("*").Register("prefetchtest:pool", swap),
		cb.Update().Before("*").Register("prefetchtest:pool", swap),
		cb.Delete().Before("*").Register("prefetchtest:pool", swap),
		cb.Row().Before("*").Register("prefetchtest:pool", swap),
		cb.Raw().Before("*").Register("prefetchtest:pool", swap),
	} {
		if err != nil {
			return fmt.Errorf("prefetchtest: registering callbacks: %w", err)
		}
	}
	return nil
}

// Queries returns how many statements reached the database since the last
// Reset (or since the counter was installed).
func (c *Counter) Queries() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total - c.base
}

// Statements returns the SQL of the statements counted since the last
// Reset, oldest first, as sent (with placeholders, without arguments). Only
// the last 1000 are kept.
func (c *Counter) Statements() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.since(c.base)
}

// Reset sets the count to zero and forgets the statements.
func (c *Counter) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.base = c.total
}

// since returns the kept SQL of the statements counted after the first
// start. c.mu must be held.
func (c *Counter) since(start int) []string {
	start = max(start, c.total-maxStatements)
	out := make([]string, 0, c.total-start)
	for i := start; i < c.total; i++ {
		out = append(out, c.log[i%maxStatements])
	}
	return out
}

func (c *Counter) count(query string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.log) < maxStatements {
		c.log = append(c.log, query)
	} else {
		c.log[c.total%maxStatements] = query
	}
	c.total++
}

// notePrepare notes a prepare. Those made outside a counted store have
// runs no wrapper sees.
func (c *Counter) notePrepare(ctx context.Context) {
	if ctx.Value(fromStore{}) == nil {
		c.miss(whyPrepared)
	}
}

// Why statements may have been missed, for a failed assertion's message.
const (
	whyPrepared = "runs of prepared statements could not be counted (prepared by a Session with PrepareStmt or by PrepareContext on the pool, or a GORM release whose statement store this package does not know); set PrepareStmt in gorm.Config instead"
	whyTx       = "statements ran in a transaction begun before Count, or through a session derived before it; call Count with the *gorm.DB gorm.Open returned, before using it"
)

// miss notes that statements may have reached the database uncounted.
func (c *Counter) miss(why string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.missed++
	c.why = why
}

// isSQLTx reports whether cp is a transaction of database/sql, begun on a
// pool the counter does not wrap.
func isSQLTx(cp gorm.ConnPool) bool {
	_, ok := cp.(*sql.Tx)
	return ok
}

// noteTxStmt notes a statement GORM prepared inside a transaction: its runs
// count in countTxStmt.
func (c *Counter) noteTxStmt(stmt *sql.Stmt, query string) {
	if stmt == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.txStmts == nil {
		c.txStmts = make(map[*sql.Stmt]string)
	}
	c.txStmts[stmt] = query
}

// countTxStmt counts a run, inside a transaction, of a statement prepared
// inside one.
func (c *Counter) countTxStmt(stmt *sql.Stmt) {
	c.mu.Lock()
	query, ok := c.txStmts[stmt]
	c.mu.Unlock()
	if ok {
		c.count(query)
	}
}

// TB is the part of [testing.TB] the assertions use.
type TB interface {
	Helper()
	Errorf(format string, args ...any)
}

// AssertQueries runs fn and reports an error through t, listing the
// statements that ran, unless exactly n statements reached the database
// through db meanwhile (from any goroutine). It reports whether the
// assertion held. It installs the counter if needed (see [Count]).
func AssertQueries(t TB, db *gorm.DB, n int, fn func()) bool {
	t.Helper()
	return assert(t, db, fn, "", n, func(got int) bool { return got == n })
}

// AssertMaxQueries runs fn and reports an error through t, listing the
// statements that ran, if more than n statements reached the database
// through db meanwhile (from any goroutine). It reports whether the
// assertion held. It installs the counter if needed (see [Count]).
func AssertMaxQueries(t TB, db *gorm.DB, n int, fn func()) bool {
	t.Helper()
	return assert(t, db, fn, "at most ", n, func(got int) bool { return got <= n })
}

func assert(t TB, db *gorm.DB, fn func(), want string, n int, ok func(int) bool) bool {
	t.Helper()
	c := Count(db)
	c.mu.Lock()
	start, missed := c.total, c.missed
	c.mu.Unlock()
	fn()
	c.mu.Lock()
	got, stmts, why := c.total-start, c.since(start), ""
	if c.blind || c.missed > missed {
		why = c.why
	}
	c.mu.Unlock()
	if ok(got) && why == "" {
		return true
	}
	var b strings.Builder
	noun := "queries"
	if n == 1 {
		noun = "query"
	}
	fmt.Fprintf(&b, "prefetchtest: want %s%d %s, got %d", want, n, noun, got)
	if why != "" {
		b.WriteString(" or more: " + why)
	}
	if len(stmts) > 0 {
		b.WriteString(":")
	}
	first := got - len(stmts)
	if first > 0 {
		fmt.Fprintf(&b, "\n(the first %d are not kept)", first)
	}
	for i, s := range stmts {
		fmt.Fprintf(&b, "\n%4d. %s", first+i+1, s)
	}
	t.Errorf("%s", b.String())
	return false
}
