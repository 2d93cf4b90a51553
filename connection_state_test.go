package prefetch_test

import (
	"strings"
	"testing"

	"gorm.io/gorm"
)

// State of a connection the plugin does not follow: session settings left
// on a connection taken with db.Connection, aborted or ended sessions, locks.

// Session state set on a connection taken with db.Connection stays on that
// connection when it goes back to the pool. database/sql hands out the most
// recently returned idle connection, so later statements on the pool run
// under it, while the pool's other connections keep the old state.
func TestSessionStateLeftOnAConnectionStopsCachingThroughThePool(t *testing.T) {
	cases := []struct {
		name   string
		change string
	}{
		{"SET search_path", "SET search_path TO {tb}"},
		{"set_config", "SELECT set_config('search_path', '{tb}', false)"},
		{"temporary table", "CREATE TEMP TABLE tenant_users AS SELECT * FROM {tb}.tenant_users"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			compare(t, compareOpts{only: "postgres"}, setupTenantSchemas, func(t *testing.T, s *side) {
				// Connection X: switched to tenant b, back in the pool.
				s.onConnection(func(c *gorm.DB) {
					s.see("change on the connection", c.Exec(s.expand(tc.change)), nil)
				})
				// A transaction holds X; a read meanwhile opens connection
				// Y, still on the home schema.
				tx := s.q().Begin()
				readUser(s, "home user 1, on another connection", s.q(), 1)
				s.see("commit", tx.Commit(), nil)
				// X is the most recently returned connection again.
				readUser(s, "user 1 on the switched connection", s.q(), 1)
			})
		})
	}
}

// The same leak under row-level security: a session switched to tenant b
// on db.Connection is served tenant a's row.
func TestTenantLeftOnAConnectionNeverReachesAnotherTenant(t *testing.T) {
	cases := []struct{ name, change string }{
		{"SET app.tenant", "SET app.tenant = 'b'"},
		{"SET ROLE", "SET ROLE {rb}"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			compare(t, compareOpts{only: "postgres", pgDSN: "app.tenant=a"}, setupRLS, func(t *testing.T, s *side) {
				readDoc(s, "tenant a reads doc 1", s.q(), 1)
				s.onConnection(func(c *gorm.DB) {
					s.see("switch tenant on the connection", c.Exec(strings.ReplaceAll(tc.change, "{rb}", s.name("rb"))), nil)
				})
				tx := s.q().Begin()
				readDoc(s, "tenant a reads doc 1 on another connection", s.q(), 1)
				s.see("commit", tx.Commit(), nil)
				readDoc(s, "doc 1 on the switched connection", s.q(), 1)
			})
		})
	}
}

// The same leak on SQLite: a temporary table created on db.Connection
// shadows the main table on that connection after it goes back to the pool.
func TestTempTableLeftOnAConnectionStopsCaching(t *testing.T) {
	compare(t, compareOpts{only: "sqlite"}, setupAdvItems, func(t *testing.T, s *side) {
		s.onConnection(func(c *gorm.DB) {
			s.see("temp table on the connection", c.Exec("CREATE TEMP TABLE adv_items AS SELECT * FROM main.adv_items WHERE id <> 1"), nil)
		})
		tx := s.q().Begin()
		readItems(s, "item 1 on another connection", s.q(), 1)
		s.see("commit", tx.Commit(), nil)
		readItems(s, "item 1 on the connection with the temp table", s.q(), 1)
	})
}

// On PostgreSQL a failed statement aborts the transaction: every later
// statement fails until a rollback. Row() reports its error only at Scan,
// so the plugin never learns of the failure and keeps serving.
func TestFailuresSeenOnlyAtScanStopATransactionsCache(t *testing.T) {
	cases := []struct {
		name string
		run  func(s *side, tx *gorm.DB)
	}{
		// Row() reports its error only at Scan.
		{"Row", func(s *side, tx *gorm.DB) {
			var n int
			s.seeErr("failing Row", tx.Raw("SELECT 1 / (id - id) FROM tenant_users WHERE id = 1").Row().Scan(&n), n)
		}},
		// Scan reads rows after the row callback has run: a failure on the
		// second row is reported to the caller, never to the plugin.
		{"Scan failing on the second row", func(s *side, tx *gorm.DB) {
			var ns []int
			s.see("failing Scan", tx.Raw("SELECT 1 / (id - 2) FROM tenant_users").Scan(&ns), nil)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			compare(t, compareOpts{only: "postgres"}, setupTenantSchemas, func(t *testing.T, s *side) {
				tx := s.q().Begin()
				readUser(s, "user 1", tx, 1)
				tc.run(s, tx)
				readUser(s, "user 1 in the aborted transaction", tx, 1)
				s.see("rollback", tx.Rollback(), nil)
			})
		})
	}
}
