package prefetch_test

import (
	"testing"

	"gorm.io/gorm"
)

// On PostgreSQL a statement that fails inside a transaction aborts it: every
// later statement fails until a rollback. A read the transaction's cache
// could answer must fail too.
func TestAbortedTransactionFailsItsReads(t *testing.T) {
	compare(t, compareOpts{only: "postgres"}, setupDCustomers, func(t *testing.T, s *side) {
		s.seeErr("transaction", s.q().Transaction(func(tx *gorm.DB) error {
			readDCustomer(s, "before the failure", tx, 1)
			// It writes nothing, so it invalidates nothing.
			s.see("division by zero", tx.Exec("SELECT 1/0"), nil)
			readDCustomer(s, "after the failure", tx, 1)
			readDCustomer(s, "another key after the failure", tx, 2)
			return nil
		}), nil)
		readDCustomer(s, "after the transaction", s.q(), 1)
	})
}

// A failure that reaches the caller only at Scan (Row, Rows) aborts the
// transaction just the same.
func TestAbortedTransactionFailsItsReadsAfterRow(t *testing.T) {
	compare(t, compareOpts{only: "postgres"}, setupDCustomers, func(t *testing.T, s *side) {
		s.seeErr("transaction", s.q().Transaction(func(tx *gorm.DB) error {
			readDCustomer(s, "before the failure", tx, 1)
			var n int
			s.seeErr("division by zero", tx.Raw("SELECT 1/0").Row().Scan(&n), n)
			readDCustomer(s, "after the failure", tx, 1)
			return nil
		}), nil)
	})
}

// A savepoint rolled back after the failure makes the transaction usable
// again: reads after it see what the database holds.
func TestSavepointRecoversAnAbortedTransaction(t *testing.T) {
	compare(t, compareOpts{only: "postgres"}, setupDCustomers, func(t *testing.T, s *side) {
		s.seeErr("transaction", s.q().Transaction(func(tx *gorm.DB) error {
			readDCustomer(s, "before", tx, 1)
			s.must(t, tx.SavePoint("sp"))
			s.see("duplicate key", tx.Create(&DCustomer{ID: 1, Name: "again"}), nil)
			s.see("rollback to", tx.RollbackTo("sp"), nil)
			readDCustomer(s, "after the savepoint", tx, 1)
			s.see("update", tx.Model(&DCustomer{ID: 1}).Update("name", "changed"), nil)
			readDCustomer(s, "after the update", tx, 1)
			return nil
		}), nil)
		readDCustomer(s, "after the transaction", s.q(), 1)
	})
}
