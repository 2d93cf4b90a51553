package prefetchtest

// With PrepareStmt, GORM prepares each statement once through the pool and
// then runs the *sql.Stmt itself, so the runs never pass through a pool
// wrapper. What GORM does call once per run is its statement store
// (gorm.PreparedStmtDB.Stmts): a Get that finds the statement, or a New
// that prepares it. countingStore wraps that store and counts there.
//
// Two cases need care. A statement GORM prepared inside a transaction
// (its store entry has Transaction set) can be found by a caller outside
// one, who then prepares it again: such a find is not a run. So runs of
// those statements count where a transaction runs them instead, in
// countingTx.StmtContext. And the store's statement type lives in a GORM
// internal package: its two fields are read by reflection, and the wrapper
// is left out (the counter then reports that prepared runs are not
// counted) if a GORM release renames them. The tests compare every count
// with one taken at the driver, so a change in GORM's prepare path fails
// them.

import (
	"context"
	"database/sql"
	"reflect"
	"sync"

	"gorm.io/gorm"
)

// stmtStore has the methods of GORM's statement store interface, whose
// statement and pool types (S and C) cannot be named outside GORM.
type stmtStore[S, C any] interface {
	New(ctx context.Context, key string, isTransaction bool, conn C, locker sync.Locker) (S, error)
	Keys() []string
	Get(key string) (S, bool)
	Set(key string, value S)
	Delete(key string)
}

// countingStore counts the runs of prepared statements (see above).
type countingStore[S, C any] struct {
	stmtStore[S, C]
	c *Counter
}

// fromStore marks the context of a prepare made by countingStore, so that
// other prepares, whose runs go uncounted, can be reported.
type fromStore struct{}

// wrapStore wraps the statement store of a database opened with
// PrepareStmt. It reports false if GORM's statement type lacks the fields
// countingStore reads.
func wrapStore(ps *gorm.PreparedStmtDB, c *Counter) bool {
	if ps.Stmts == nil {
		return false
	}
	s, ok := newCountingStore(ps.Stmts, c)
	if ok {
		ps.Stmts = s
	}
	return ok
}

func newCountingStore[S, C any](inner stmtStore[S, C], c *Counter) (*countingStore[S, C], bool) {
	t := reflect.TypeFor[S]()
	if t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return nil, false
	}
	tx, ok1 := t.Elem().FieldByName("Transaction")
	st, ok2 := t.Elem().FieldByName("Stmt")
	if !ok1 || !ok2 || tx.Type.Kind() != reflect.Bool || st.Type != reflect.TypeFor[*sql.Stmt]() {
		return nil, false
	}
	return &countingStore[S, C]{stmtStore: inner, c: c}, true
}

// Get finds a prepared statement that GORM is about to run.
func (s *countingStore[S, C]) Get(key string) (S, bool) {
	st, ok := s.stmtStore.Get(key)
	if ok {
		s.ran(key, st)
	}
	return st, ok
}

// New prepares a statement that GORM is about to run.
func (s *countingStore[S, C]) New(ctx context.Context, key string, isTransaction bool, conn C, locker sync.Locker) (S, error) {
	st, err := s.stmtStore.New(context.WithValue(ctx, fromStore{}, true), key, isTransaction, conn, locker)
	if err == nil {
		s.ran(key, st)
	}
	return st, err
}

// ran counts a run of st, or leaves it to StmtContext when st was prepared
// inside a transaction.
func (s *countingStore[S, C]) ran(key string, st S) {
	if e, ok := any(st).(interface{ Error() error }); ok && e.Error() != nil {
		return // GORM returns the error without running anything
	}
	v := reflect.ValueOf(st)
	if !v.IsValid() || v.IsNil() {
		return
	}
	v = v.Elem()
	if v.FieldByName("Transaction").Bool() {
		stmt, _ := v.FieldByName("Stmt").Interface().(*sql.Stmt)
		s.c.noteTxStmt(stmt, key)
		return
	}
	s.c.count(key)
}
