package prefetch_test

import (
	"testing"
)

// On SQLite, SAVEPOINT outside a transaction begins one (as BEGIN DEFERRED),
// and RELEASE of that savepoint commits it. Through a pool of one
// connection, ROLLBACK TO undoes the writes made since, so rows read in
// between must not be served after it.
func TestSavepointOutsideATransactionBeginsOne(t *testing.T) {
	cases := []struct{ name, end string }{
		{"ROLLBACK TO", "ROLLBACK TO sp"},
		{"ROLLBACK TO, then RELEASE", "ROLLBACK TO sp; RELEASE sp"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			compare(t, compareOpts{oneConn: true, only: "sqlite"}, setupItems, func(t *testing.T, s *side) {
				readItem(s, "before", s.q(), 1)
				s.see("savepoint", s.q().Exec("SAVEPOINT sp"), nil)
				s.see("GORM update", noTx(s.q()).Model(&Item{ID: 1}).Update("name", "inside"), nil)
				readItem(s, "inside the savepoint", s.q(), 1)
				s.see("end", s.q().Exec(tc.end), nil)
				readItem(s, "after", s.q(), 1)
			})
		})
	}
}
