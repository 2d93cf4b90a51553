// Package sqlcount wraps a database/sql driver and counts the statements that
// reach it. Tests use it to assert query counts where the SQL really reaches
// the database; the benchmarks use it to report them.
//
// A statement counts once each time it is run: through a conn's QueryContext
// or ExecContext (unless the driver answers [driver.ErrSkip], in which case
// database/sql prepares it and the prepared statement's run counts instead),
// or through a prepared statement's Query or Exec. Preparing, Begin, Commit,
// Rollback, Ping and session resets do not count. Statements inside
// transactions count like any other.
//
// The wrapped conns and statements offer the optional driver interfaces
// database/sql looks for, and answer as database/sql would have for a driver
// that lacks one, so the wrapper changes no behaviour of the driver. One
// thing differs: [sql.Conn.Raw] hands out the wrapper, not the driver's conn.
package sqlcount

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"sync"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/mattn/go-sqlite3"
)

// maxLog is how many statements Log keeps.
const maxLog = 1000

// Counter counts statements that reach the wrapped driver. It is safe for
// concurrent use; the zero value is ready to use.
type Counter struct {
	mu      sync.Mutex // protects the fields below
	queries int64
	execs   int64
	log     []string // ring of the SQL of the last maxLog statements
	next    int      // once log is full, the index of its oldest entry
}

// Queries returns how many statements ran through a Query path since the
// last Reset.
func (c *Counter) Queries() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.queries
}

// Execs returns how many statements ran through an Exec path since the last
// Reset.
func (c *Counter) Execs() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.execs
}

// Total returns Queries() + Execs().
func (c *Counter) Total() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.queries + c.execs
}

// Reset sets the counts to zero and empties the log.
func (c *Counter) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.queries, c.execs = 0, 0
	clear(c.log)
	c.log, c.next = c.log[:0], 0
}

// Log returns the SQL of the statements counted since the last Reset, oldest
// first; only the last 1000 are kept.
func (c *Counter) Log() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append(append([]string(nil), c.log[c.next:]...), c.log[:c.next]...)
}

func (c *Counter) count(query bool, sql string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if query {
		c.queries++
	} else {
		c.execs++
	}
	if len(c.log) < maxLog {
		c.log = append(c.log, sql)
		return
	}
	c.log[c.next] = sql
	c.next = (c.next + 1) % maxLog
}

// Connector returns a [driver.Connector] that opens connections of d with
// dsn and counts their statements into c, which must not be nil. Use it with
// [sql.OpenDB].
func Connector(d driver.Driver, dsn string, c *Counter) driver.Connector {
	k := &connector{d: d, c: c}
	if dc, ok := d.(driver.DriverContext); ok {
		k.inner, k.err = dc.OpenConnector(dsn)
	} else {
		k.inner = dsnConnector{d: d, dsn: dsn}
	}
	return k
}

// OpenSQLite opens dsn with mattn/go-sqlite3, counting its statements. It
// pings the database, so a bad dsn fails here.
func OpenSQLite(dsn string) (*sql.DB, *Counter, error) {
	return open(&sqlite3.SQLiteDriver{}, dsn)
}

// OpenPostgres opens dsn with pgx's database/sql driver
// (github.com/jackc/pgx/v5/stdlib), counting its statements. It pings the
// database, so a bad dsn or an unreachable server fails here.
func OpenPostgres(dsn string) (*sql.DB, *Counter, error) {
	return open(stdlib.GetDefaultDriver(), dsn)
}

func open(d driver.Driver, dsn string) (*sql.DB, *Counter, error) {
	c := &Counter{}
	db := sql.OpenDB(Connector(d, dsn, c))
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, c, nil
}

type connector struct {
	d     driver.Driver
	inner driver.Connector
	err   error // from d's OpenConnector; returned by every Connect
	c     *Counter
}

func (k *connector) Connect(ctx context.Context) (driver.Conn, error) {
	if k.err != nil {
		return nil, k.err
	}
	cn, err := k.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &conn{Conn: cn, c: k.c}, nil
}

func (k *connector) Driver() driver.Driver { return k.d }

// Close closes the inner connector when it has a Close, as [sql.DB.Close]
// would have.
func (k *connector) Close() error {
	if cl, ok := k.inner.(io.Closer); ok {
		return cl.Close()
	}
	return nil
}

// dsnConnector is what database/sql uses for a driver without OpenConnector.
type dsnConnector struct {
	d   driver.Driver
	dsn string
}

func (k dsnConnector) Connect(context.Context) (driver.Conn, error) { return k.d.Open(k.dsn) }
func (k dsnConnector) Driver() driver.Driver                        { return k.d }

// conn counts the statements of a driver conn. Each method answers as
// database/sql does when the wrapped conn lacks the interface.
type conn struct {
	driver.Conn
	c *Counter
}

func (cn *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (rows driver.Rows, err error) {
	switch q := cn.Conn.(type) {
	case driver.QueryerContext:
		rows, err = q.QueryContext(ctx, query, args)
	//lint:ignore SA1019 what database/sql falls back to, so forwarded
	case driver.Queryer:
		var vals []driver.Value
		if vals, err = values(args); err != nil {
			return nil, err
		}
		rows, err = q.Query(query, vals)
	default:
		return nil, driver.ErrSkip // database/sql prepares it; the stmt counts
	}
	if err != driver.ErrSkip {
		cn.c.count(true, query)
	}
	return rows, err
}

func (cn *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (res driver.Result, err error) {
	switch e := cn.Conn.(type) {
	case driver.ExecerContext:
		res, err = e.ExecContext(ctx, query, args)
	//lint:ignore SA1019 what database/sql falls back to, so forwarded
	case driver.Execer:
		var vals []driver.Value
		if vals, err = values(args); err != nil {
			return nil, err
		}
		res, err = e.Exec(query, vals)
	default:
		return nil, driver.ErrSkip // database/sql prepares it; the stmt counts
	}
	if err != driver.ErrSkip {
		cn.c.count(false, query)
	}
	return res, err
}

func (cn *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	var st driver.Stmt
	var err error
	if p, ok := cn.Conn.(driver.ConnPrepareContext); ok {
		st, err = p.PrepareContext(ctx, query)
	} else {
		st, err = cn.Conn.Prepare(query)
	}
	if err != nil {
		return nil, err
	}
	s := &stmt{Stmt: st, conn: cn.Conn, query: query, c: cn.c}
	//lint:ignore SA1019 forwarded for drivers that still use it
	if _, ok := st.(driver.ColumnConverter); ok {
		return stmtCC{s}, nil
	}
	return s, nil
}

func (cn *conn) Prepare(query string) (driver.Stmt, error) {
	return cn.PrepareContext(context.Background(), query)
}

func (cn *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if b, ok := cn.Conn.(driver.ConnBeginTx); ok {
		return b.BeginTx(ctx, opts)
	}
	// database/sql's checks for a conn without BeginTx.
	if opts.Isolation != driver.IsolationLevel(sql.LevelDefault) {
		return nil, errors.New("sql: driver does not support non-default isolation level")
	}
	if opts.ReadOnly {
		return nil, errors.New("sql: driver does not support read-only transactions")
	}
	//lint:ignore SA1019 the fallback database/sql uses too
	return cn.Conn.Begin()
}

func (cn *conn) Ping(ctx context.Context) error {
	if p, ok := cn.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (cn *conn) ResetSession(ctx context.Context) error {
	if r, ok := cn.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (cn *conn) IsValid() bool {
	if v, ok := cn.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (cn *conn) CheckNamedValue(nv *driver.NamedValue) error {
	return checkNamedValue(cn.Conn, nv)
}

// stmt counts the runs of a prepared statement.
type stmt struct {
	driver.Stmt
	conn  driver.Conn // the driver's conn that prepared it
	query string
	c     *Counter
}

func (s *stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	if e, ok := s.Stmt.(driver.StmtExecContext); ok {
		s.c.count(false, s.query)
		return e.ExecContext(ctx, args)
	}
	vals, err := values(args)
	if err != nil {
		return nil, err
	}
	s.c.count(false, s.query)
	//lint:ignore SA1019 the fallback database/sql uses too
	return s.Stmt.Exec(vals)
}

func (s *stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	if q, ok := s.Stmt.(driver.StmtQueryContext); ok {
		s.c.count(true, s.query)
		return q.QueryContext(ctx, args)
	}
	vals, err := values(args)
	if err != nil {
		return nil, err
	}
	s.c.count(true, s.query)
	//lint:ignore SA1019 the fallback database/sql uses too
	return s.Stmt.Query(vals)
}

// CheckNamedValue uses the statement's checker, else its conn's: database/sql
// consults the conn only when the statement has none, and this wrapper
// always has one.
func (s *stmt) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := s.Stmt.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return checkNamedValue(s.conn, nv)
}

// stmtCC is a stmt whose wrapped statement has a ColumnConverter. It is a
// type of its own because database/sql treats having one as a choice.
type stmtCC struct{ *stmt }

func (s stmtCC) ColumnConverter(idx int) driver.ValueConverter {
	//lint:ignore SA1019 see PrepareContext
	return s.Stmt.(driver.ColumnConverter).ColumnConverter(idx)
}

// checkNamedValue uses x's NamedValueChecker, or answers driver.ErrSkip so
// database/sql applies its default conversion.
func checkNamedValue(x any, nv *driver.NamedValue) error {
	if ch, ok := x.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

// values converts arguments for the pre-context driver methods, as
// database/sql does.
func values(args []driver.NamedValue) ([]driver.Value, error) {
	out := make([]driver.Value, len(args))
	for i, a := range args {
		if a.Name != "" {
			return nil, errors.New("sql: driver does not support the use of Named Parameters")
		}
		out[i] = a.Value
	}
	return out, nil
}
