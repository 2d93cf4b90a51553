package prefetch_test

import (
	"testing"

	"gorm.io/gorm"
)

// Session state that outlives the statement setting it, on a connection
// taken with db.Connection, however it was set: inside a transaction begun
// on that connection (a session SET commits with it), or followed by a
// RESET ALL that does not undo it (roles, temporary tables).

// A session SET committed by a transaction begun on db.Connection stays on
// the connection when it goes back to the pool.
func TestSessionStateCommittedOnAConnectionStopsCachingThroughThePool(t *testing.T) {
	cases := []struct{ name, change string }{
		{"SET search_path", "SET search_path TO {tb}"},
		{"set_config", "SELECT set_config('search_path', '{tb}', false)"},
		{"temporary table", "CREATE TEMP TABLE tenant_users AS SELECT * FROM {tb}.tenant_users"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			compare(t, compareOpts{only: "postgres"}, setupTenantSchemas, func(t *testing.T, s *side) {
				s.onConnection(func(c *gorm.DB) {
					s.seeErr("transaction on the connection", c.Transaction(func(tx *gorm.DB) error {
						return tx.Exec(s.expand(tc.change)).Error
					}), nil)
				})
				tx := s.q().Begin()
				readUser(s, "home user 1, on another connection", s.q(), 1)
				s.see("commit", tx.Commit(), nil)
				readUser(s, "user 1 on the switched connection", s.q(), 1)
			})
		})
	}
}

// The same on SQLite: a temporary table created in a transaction on
// db.Connection shadows the main table on that connection.
func TestTempTableCommittedOnAConnectionStopsCaching(t *testing.T) {
	compare(t, compareOpts{only: "sqlite"}, setupAdvItems, func(t *testing.T, s *side) {
		s.onConnection(func(c *gorm.DB) {
			s.seeErr("transaction on the connection", c.Transaction(func(tx *gorm.DB) error {
				return tx.Exec("CREATE TEMP TABLE adv_items AS SELECT * FROM main.adv_items WHERE id <> 1").Error
			}), nil)
		})
		tx := s.q().Begin()
		readItems(s, "item 1 on another connection", s.q(), 1)
		s.see("commit", tx.Commit(), nil)
		readItems(s, "item 1 on the connection with the temp table", s.q(), 1)
	})
}

// RESET ALL resets run-time parameters only: the role set with SET ROLE and
// temporary tables stay on the connection.
func TestResetAllLeavesRoleAndTempTablesOnTheConnection(t *testing.T) {
	t.Run("role", func(t *testing.T) {
		compare(t, compareOpts{only: "postgres"}, setupRLS, func(t *testing.T, s *side) {
			s.onConnection(func(c *gorm.DB) {
				s.see("SET ROLE rb", c.Exec("SET ROLE "+s.name("rb")), nil)
				s.see("RESET ALL", c.Exec("RESET ALL"), nil)
			})
			tx := s.q().Begin()
			readRoleDoc(s, "owner reads 2 on another connection", s.q(), 2)
			s.see("commit", tx.Commit(), nil)
			readRoleDoc(s, "doc 2 on the connection left as rb", s.q(), 2)
		})
	})
	t.Run("temporary table", func(t *testing.T) {
		compare(t, compareOpts{only: "postgres"}, setupTenantSchemas, func(t *testing.T, s *side) {
			s.onConnection(func(c *gorm.DB) {
				s.see("temp table", c.Exec(s.expand("CREATE TEMP TABLE tenant_users AS SELECT * FROM {tb}.tenant_users")), nil)
				s.see("RESET ALL", c.Exec("RESET ALL"), nil)
			})
			tx := s.q().Begin()
			readUser(s, "home user 1, on another connection", s.q(), 1)
			s.see("commit", tx.Commit(), nil)
			readUser(s, "user 1 on the connection with the temp table", s.q(), 1)
		})
	})
}
