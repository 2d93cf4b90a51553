package prefetch_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// Transaction control written as SQL: raw BEGIN, COMMIT, ROLLBACK, END and
// ROLLBACK TO SAVEPOINT, sent on a connection from db.Connection or through
// a pool of one connection, must end what they end: nothing a rolled-back
// statement wrote is ever served, and nothing read before a commit outlives
// it.

// Item is a row the raw transactions write.
type Item struct {
	ID   uint
	Name string
	Qty  int
}

func setupItems(t *testing.T, s *side) {
	require.NoError(t, s.db.AutoMigrate(&Item{}))
	s.must(t, s.db.Create(&[]Item{{Name: "one", Qty: 1}, {Name: "two", Qty: 2}, {Name: "three", Qty: 3}}))
}

func readItem(s *side, step string, db *gorm.DB, id int) {
	var it Item
	s.see(step, db.First(&it, id), it)
}

// noTx is db without GORM's own transaction around writes, as code that
// writes BEGIN itself must use.
func noTx(db *gorm.DB) *gorm.DB { return db.Session(&gorm.Session{SkipDefaultTransaction: true}) }

func TestRawTransactionOnAConnection(t *testing.T) {
	cases := []struct {
		name      string
		begin     string
		end       string
		meanwhile bool // read the row through the pool while the transaction is open
	}{
		{"BEGIN, ROLLBACK", "BEGIN", "ROLLBACK", false},
		{"BEGIN, COMMIT", "BEGIN", "COMMIT", false},
		{"begin, end (lower case)", "begin", "end", false},
		{"BEGIN after a comment, ROLLBACK after a comment", "/* open */ BEGIN", "-- undo\nROLLBACK", false},
		{"a read elsewhere while it is open, COMMIT", "BEGIN", "COMMIT", true},
		{"a read elsewhere while it is open, ROLLBACK", "BEGIN", "ROLLBACK", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			compare(t, compareOpts{}, setupItems, func(t *testing.T, s *side) {
				readItem(s, "before", s.q(), 1)
				s.onConnection(func(c *gorm.DB) {
					s.see("begin", c.Exec(tc.begin), nil)
					s.see("raw update", c.Exec("UPDATE items SET name = 'raw' WHERE id = 1"), nil)
					s.see("GORM update", noTx(c).Model(&Item{ID: 2}).Update("name", "gorm"), nil)
					readItem(s, "inside: 1", c, 1)
					readItem(s, "inside: 2", c, 2)
					if tc.meanwhile {
						// Another connection still sees the committed rows.
						readItem(s, "elsewhere meanwhile: 1", s.q(), 1)
						readItem(s, "elsewhere meanwhile: 2", s.q(), 2)
					}
					s.see("end", c.Exec(tc.end), nil)
					readItem(s, "on the connection after: 1", c, 1)
				})
				readItem(s, "after: 1", s.q(), 1)
				readItem(s, "after: 2", s.q(), 2)
			})
		})
	}
}

// On PostgreSQL, pgx discards a connection that goes back to the pool inside
// a transaction, so a raw BEGIN sent through a pool never holds: these run on
// SQLite, where a pool of one connection is common.
func TestRawTransactionThroughAPoolOfOneConnection(t *testing.T) {
	type dialectSQL struct{ sqlite, postgres string }
	pick := func(s *side, d dialectSQL) string {
		if s.dialect == "postgres" {
			return d.postgres
		}
		return d.sqlite
	}
	cases := []struct {
		name       string
		begin, end dialectSQL
	}{
		{"BEGIN, ROLLBACK", dialectSQL{"BEGIN", "BEGIN"}, dialectSQL{"ROLLBACK", "ROLLBACK"}},
		{"BEGIN, COMMIT", dialectSQL{"BEGIN", "BEGIN"}, dialectSQL{"COMMIT", "COMMIT"}},
		{"BEGIN TRANSACTION / START TRANSACTION, END", dialectSQL{"BEGIN TRANSACTION", "START TRANSACTION"}, dialectSQL{"END TRANSACTION", "END"}},
		{"BEGIN IMMEDIATE / BEGIN ISOLATION LEVEL, ROLLBACK TRANSACTION",
			dialectSQL{"BEGIN IMMEDIATE", "BEGIN ISOLATION LEVEL REPEATABLE READ"}, dialectSQL{"ROLLBACK TRANSACTION", "ROLLBACK TRANSACTION"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			compare(t, compareOpts{oneConn: true, only: "sqlite"}, setupItems, func(t *testing.T, s *side) {
				readItem(s, "before", s.q(), 1)
				s.see("begin", s.q().Exec(pick(s, tc.begin)), nil)
				s.see("raw update", s.q().Exec("UPDATE items SET name = 'raw' WHERE id = 1"), nil)
				s.see("GORM update", noTx(s.q()).Model(&Item{ID: 2}).Update("name", "gorm"), nil)
				readItem(s, "inside: 1", s.q(), 1)
				readItem(s, "inside: 2", s.q(), 2)
				s.see("end", s.q().Exec(pick(s, tc.end)), nil)
				readItem(s, "after: 1", s.q(), 1)
				readItem(s, "after: 2", s.q(), 2)
			})
		})
	}
}

func TestRawRollbackToSavepointEndsWhatItEnds(t *testing.T) {
	spellings := []string{
		"ROLLBACK TO SAVEPOINT sp",
		"ROLLBACK TO sp",
		"rollback to savepoint sp",
		"  \n\tROLLBACK TO SAVEPOINT sp",
		"/* x */ ROLLBACK TO SAVEPOINT sp",
		"-- undo\nROLLBACK TO SAVEPOINT sp",
	}
	for _, rollback := range spellings {
		raw := func(s *side, db *gorm.DB) {
			s.see("begin", db.Exec("BEGIN"), nil)
			readItem(s, "before", db, 1)
			s.see("savepoint", db.Exec("SAVEPOINT sp"), nil)
			s.see("update", db.Exec("UPDATE items SET qty = 99 WHERE id = 1"), nil)
			readItem(s, "inside the savepoint", db, 1)
			s.see("rollback to", db.Exec(rollback), nil)
			readItem(s, "after the rollback to", db, 1)
			s.see("commit", db.Exec("COMMIT"), nil)
			readItem(s, "after commit", db, 1)
		}
		t.Run("raw transaction through a pool of one connection/"+rollback, func(t *testing.T) {
			compare(t, compareOpts{oneConn: true, only: "sqlite"}, setupItems, func(t *testing.T, s *side) { raw(s, s.q()) })
		})
		t.Run("raw transaction on a connection/"+rollback, func(t *testing.T) {
			compare(t, compareOpts{}, setupItems, func(t *testing.T, s *side) {
				s.onConnection(func(c *gorm.DB) { raw(s, c) })
				readItem(s, "through the pool", s.q(), 1)
			})
		})
		t.Run("GORM transaction/"+rollback, func(t *testing.T) {
			compare(t, compareOpts{}, setupItems, func(t *testing.T, s *side) {
				s.seeErr("transaction", s.q().Transaction(func(tx *gorm.DB) error {
					readItem(s, "before", tx, 1)
					s.see("savepoint", tx.Exec("SAVEPOINT sp"), nil)
					s.see("update", tx.Model(&Item{ID: 1}).Update("qty", 99), nil)
					readItem(s, "inside the savepoint", tx, 1)
					s.see("rollback to", tx.Exec(rollback), nil)
					readItem(s, "after the rollback to", tx, 1)
					return nil
				}), nil)
				readItem(s, "after commit", s.q(), 1)
			})
		})
	}
}
