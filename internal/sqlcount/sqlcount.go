// Package sqlcount wraps a database/sql driver and counts the statements that
// reach it. Tests use it to assert query counts where the SQL really reaches
// the database; the quickstart and benchmarks use it to report them.
package sqlcount

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/mattn/go-sqlite3"
)

// maxLog is how many statements Log keeps.
const maxLog = 1000

// Counter counts statements that reach the wrapped driver. It is safe for
// concurrent use.
type Counter struct {
	queries atomic.Int64
	execs   atomic.Int64

	mu  sync.Mutex
	log []string // SQL of the statements counted since Reset; protected by mu
}

// Queries returns the statements run through a Query path since the last
// Reset.
func (c *Counter) Queries() int64 { return c.queries.Load() }

// Execs returns the statements run through an Exec path since the last
// Reset.
func (c *Counter) Execs() int64 { return c.execs.Load() }

// Total returns Queries() + Execs().
func (c *Counter) Total() int64 { return c.Queries() + c.Execs() }

// Reset sets the counts to zero and empties the log.
func (c *Counter) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.queries.Store(0)
	c.execs.Store(0)
	c.log = nil
}

// Log returns the SQL of the statements counted since the last Reset (the
// last 1000 at most), oldest first.
func (c *Counter) Log() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.log...)
}

func (c *Counter) count(query bool, sql string) {
	if query {
		c.queries.Add(1)
	} else {
		c.execs.Add(1)
	}
	c.mu.Lock()
	if len(c.log) == maxLog {
		c.log = c.log[1:]
	}
	c.log = append(c.log, sql)
	c.mu.Unlock()
}

// Connector returns a driver.Connector that opens connections of d with dsn
// and counts their statements into c.
func Connector(d driver.Driver, dsn string, c *Counter) driver.Connector {
	return &connector{d: d, dsn: dsn, c: c}
}

// OpenSQLite opens dsn with mattn/go-sqlite3, counting its statements.
func OpenSQLite(dsn string) (*sql.DB, *Counter, error) {
	c := &Counter{}
	return sql.OpenDB(Connector(&sqlite3.SQLiteDriver{}, dsn, c)), c, nil
}

// OpenPostgres opens dsn with pgx's database/sql driver, counting its
// statements.
func OpenPostgres(dsn string) (*sql.DB, *Counter, error) {
	c := &Counter{}
	db := sql.OpenDB(Connector(stdlib.GetDefaultDriver(), dsn, c))
	return db, c, db.Ping()
}

type connector struct {
	d   driver.Driver
	dsn string
	c   *Counter
}

func (k *connector) Connect(ctx context.Context) (driver.Conn, error) {
	if dc, ok := k.d.(driver.DriverContext); ok {
		inner, err := dc.OpenConnector(k.dsn)
		if err != nil {
			return nil, err
		}
		cn, err := inner.Connect(ctx)
		if err != nil {
			return nil, err
		}
		return &conn{Conn: cn, c: k.c}, nil
	}
	cn, err := k.d.Open(k.dsn)
	if err != nil {
		return nil, err
	}
	return &conn{Conn: cn, c: k.c}, nil
}

func (k *connector) Driver() driver.Driver { return k.d }

// conn forwards every optional interface database/sql uses; where the
// wrapped conn lacks one, it answers as database/sql does for a conn that
// lacks it (driver.ErrSkip, or the default behaviour).
type conn struct {
	driver.Conn
	c *Counter
}

func (cn *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := cn.Conn.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	rows, err := q.QueryContext(ctx, query, args)
	if err != driver.ErrSkip {
		cn.c.count(true, query)
	}
	return rows, err
}

func (cn *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	e, ok := cn.Conn.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	res, err := e.ExecContext(ctx, query, args)
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
	return &stmt{Stmt: st, query: query, c: cn.c}, nil
}

func (cn *conn) Prepare(query string) (driver.Stmt, error) {
	return cn.PrepareContext(context.Background(), query)
}

func (cn *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if b, ok := cn.Conn.(driver.ConnBeginTx); ok {
		return b.BeginTx(ctx, opts)
	}
	return cn.Conn.Begin() //nolint:staticcheck // the fallback database/sql uses too
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
	if ch, ok := cn.Conn.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

// stmt counts the executions of a prepared statement.
type stmt struct {
	driver.Stmt
	query string
	c     *Counter
}

func (s *stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	s.c.count(false, s.query)
	if e, ok := s.Stmt.(driver.StmtExecContext); ok {
		return e.ExecContext(ctx, args)
	}
	vals, err := values(args)
	if err != nil {
		return nil, err
	}
	return s.Stmt.Exec(vals) //nolint:staticcheck // the fallback database/sql uses too
}

func (s *stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	s.c.count(true, s.query)
	if q, ok := s.Stmt.(driver.StmtQueryContext); ok {
		return q.QueryContext(ctx, args)
	}
	vals, err := values(args)
	if err != nil {
		return nil, err
	}
	return s.Stmt.Query(vals) //nolint:staticcheck // the fallback database/sql uses too
}

func (s *stmt) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := s.Stmt.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

func (s *stmt) ColumnConverter(idx int) driver.ValueConverter {
	if cc, ok := s.Stmt.(driver.ColumnConverter); ok { //nolint:staticcheck // forwarded for drivers that still use it
		return cc.ColumnConverter(idx)
	}
	return driver.DefaultParameterConverter
}

func values(args []driver.NamedValue) ([]driver.Value, error) {
	out := make([]driver.Value, len(args))
	for i, a := range args {
		if a.Name != "" {
			return nil, driver.ErrSkip
		}
		out[i] = a.Value
	}
	return out, nil
}
