package prefetch_test

import (
	"testing"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
)

// Reach: Invalidate and Clear reach a transaction's own cache, and two
// *gorm.DB handles on one database see each other's writes.

func readDCustomer(s *side, step string, db *gorm.DB, id int) {
	var c DCustomer
	s.see(step, db.First(&c, id), c)
}

func TestInvalidateAndClearReachTheTransactionsCache(t *testing.T) {
	cases := []struct {
		name string
		tell func(t *testing.T, s *side)
	}{
		{"Invalidate by key", func(t *testing.T, s *side) { invalidate(t, s.ctx, &DCustomer{}, 1) }},
		{"Invalidate the table", func(t *testing.T, s *side) { invalidate(t, s.ctx, &DCustomer{}) }},
		{"Invalidate by table name", func(t *testing.T, s *side) { invalidate(t, s.ctx, "d_customers") }},
		{"Clear", func(t *testing.T, s *side) { prefetch.Clear(s.ctx) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			compare(t, compareOpts{}, setupDCustomers, func(t *testing.T, s *side) {
				s.seeErr("transaction", s.q().Transaction(func(tx *gorm.DB) error {
					readDCustomer(s, "before", tx, 1)
					// A write inside the transaction that GORM never sees.
					res, err := tx.Statement.ConnPool.ExecContext(tx.Statement.Context, "UPDATE d_customers SET name = 'unseen' WHERE id = 1")
					require.NoError(t, err)
					n, err := res.RowsAffected()
					require.NoError(t, err)
					s.note("unseen write", n)
					tc.tell(t, s)
					readDCustomer(s, "after telling", tx, 1)
					return nil
				}), nil)
				readDCustomer(s, "after commit", s.q(), 1)
			})
		})
	}
}

func TestTwoHandlesOnOneDatabaseSeeEachOthersWrites(t *testing.T) {
	cases := []struct {
		name   string
		second func(t *testing.T, s *side) *gorm.DB // with the plugin on the plugin side
	}{
		{"same dialector and DSN", func(t *testing.T, s *side) *gorm.DB {
			var dial gorm.Dialector
			if s.dialect == "sqlite" {
				dial = sqlite.Open(s.dsn)
			} else {
				dial = postgres.Open(s.dsn)
			}
			db, err := gorm.Open(dial, &gorm.Config{Logger: quiet})
			require.NoError(t, err)
			t.Cleanup(func() {
				if sqlDB, err := db.DB(); err == nil {
					sqlDB.Close()
				}
			})
			if s.plugin {
				require.NoError(t, db.Use(prefetch.Plugin{}))
			}
			return db
		}},
		{"same *sql.DB given as Conn", func(t *testing.T, s *side) *gorm.DB {
			var dial gorm.Dialector
			if s.dialect == "sqlite" {
				dial = sqlite.New(sqlite.Config{Conn: s.sqlDB})
			} else {
				dial = postgres.New(postgres.Config{Conn: s.sqlDB})
			}
			db, err := gorm.Open(dial, &gorm.Config{Logger: quiet})
			require.NoError(t, err)
			if s.plugin {
				require.NoError(t, db.Use(prefetch.Plugin{}))
			}
			return db
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			compare(t, compareOpts{}, setupDCustomers, func(t *testing.T, s *side) {
				read, write := s.q(), tc.second(t, s)
				readDCustomer(s, "read handle", read, 1)
				s.see("write handle updates", write.Model(&DCustomer{ID: 1}).Update("name", "written elsewhere"), nil)
				readDCustomer(s, "read handle after the update", read, 1)
				readDCustomer(s, "read handle, a key with no row", read.Unscoped(), 50)
				s.see("write handle creates", write.Create(&DCustomer{ID: 50, Name: "created elsewhere"}), nil)
				readDCustomer(s, "read handle after the create", read.Unscoped(), 50)
				// And the other way round, in one request.
				other := write.WithContext(s.ctx)
				readDCustomer(s, "write handle reads", other, 2)
				s.see("read handle updates", read.Model(&DCustomer{ID: 2}).Update("name", "written by the reader"), nil)
				readDCustomer(s, "write handle after the update", other, 2)
			})
		})
	}
}
