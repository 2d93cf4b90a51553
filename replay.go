package prefetch

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"

	"gorm.io/gorm"
)

// Served statements and loaded results reach the destination through GORM's
// own gorm.Scan, fed by a *sql.Rows of a private in-process driver that
// replays values the real driver returned. database/sql then converts each
// value into the destination exactly as it would have from the real driver
// (same conversions, same errors, same Scanner calls), GORM assigns fields
// exactly as it would have, and every result gets fresh memory: nothing a
// caller receives is shared with the cache.

// result is the rows of one query as the real driver returned them.
type result struct {
	cols []string
	rows [][]any
	err  error // the error the real rows reported after the last row

	filler *rowFiller // fillerFor(the statement's schema, cols) when serve knew it; nil: look it up
}

// capture reads every row of rs as driver values.
func capture(rs *sql.Rows) (*result, error) {
	cols, err := rs.Columns()
	if err != nil {
		return nil, err
	}
	res := &result{cols: cols}
	ptrs := make([]any, len(cols))
	var slab []any // rows are carved from slabs: one allocation per 32 rows
	for rs.Next() {
		if len(slab) < len(cols) {
			slab = make([]any, 32*len(cols))
		}
		row := slab[:len(cols):len(cols)]
		slab = slab[len(cols):]
		for i := range row {
			ptrs[i] = &row[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			res.err = err
			break
		}
		res.rows = append(res.rows, row)
	}
	if res.err == nil {
		res.err = rs.Err()
	}
	return res, nil
}

// scanInto runs gorm.Scan over res for db's statement, as gorm:query would
// have over the real rows.
func scanInto(db *gorm.DB, res *result) {
	rs, err := replayDB.QueryContext(context.Background(), "", res)
	if err != nil {
		db.AddError(err)
		return
	}
	gorm.Scan(rs, db, 0)
	db.AddError(rs.Close())
	if db.Statement.Result != nil {
		db.Statement.Result.RowsAffected = db.RowsAffected
	}
}

var replayDB = func() *sql.DB {
	db := sql.OpenDB(replayConnector{})
	db.SetMaxIdleConns(64)
	return db
}()

var errReplay = errors.New("prefetch: replay connection supports only replays")

type replayConnector struct{}

func (replayConnector) Connect(context.Context) (driver.Conn, error) { return replayConn{}, nil }
func (replayConnector) Driver() driver.Driver                        { return replayDriver{} }

type replayDriver struct{}

func (replayDriver) Open(string) (driver.Conn, error) { return replayConn{}, nil }

type replayConn struct{}

func (replayConn) Prepare(string) (driver.Stmt, error) { return nil, errReplay }
func (replayConn) Close() error                        { return nil }
func (replayConn) Begin() (driver.Tx, error)           { return nil, errReplay }

// CheckNamedValue lets the *result through untouched.
func (replayConn) CheckNamedValue(*driver.NamedValue) error { return nil }

func (replayConn) QueryContext(_ context.Context, _ string, args []driver.NamedValue) (driver.Rows, error) {
	if len(args) != 1 {
		return nil, errReplay
	}
	res, ok := args[0].Value.(*result)
	if !ok {
		return nil, errReplay
	}
	return &replayRows{res: res}, nil
}

type replayRows struct {
	res *result
	i   int
}

func (r *replayRows) Columns() []string { return r.res.cols }
func (r *replayRows) Close() error      { return nil }

func (r *replayRows) Next(dest []driver.Value) error {
	if r.i >= len(r.res.rows) {
		if r.res.err != nil {
			return r.res.err // reported by rows.Err, as the real rows did
		}
		return io.EOF
	}
	row := r.res.rows[r.i]
	r.i++
	for i, v := range row {
		if b, ok := v.([]byte); ok {
			// A Scanner may keep the slice it is given. bytes.Clone keeps
			// an empty, non-NULL value empty rather than nil.
			v = bytes.Clone(b)
		}
		dest[i] = v
	}
	return nil
}
