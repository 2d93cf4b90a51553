package prefetch_test

import (
	"testing"

	"gorm.io/gorm"
)

// SQL the reader cannot read (a DO block in dollar quotes), or a statement
// that runs another (EXECUTE of a prepared statement), may change session
// state as much as a SET: the connection it ran on keeps it.
func TestUnreadSQLMayChangeSessionState(t *testing.T) {
	cases := []struct {
		name string
		run  func(s *side, db *gorm.DB)
	}{
		{"DO block", func(s *side, db *gorm.DB) {
			s.see("DO", db.Exec(s.expand("DO $$BEGIN PERFORM set_config('search_path', '{tb}', false); END$$")), nil)
		}},
		{"EXECUTE after RESET", func(s *side, db *gorm.DB) {
			s.see("PREPARE", db.Exec(s.expand("PREPARE switch_tenant AS SELECT set_config('search_path', '{tb}', false)")), nil)
			s.see("RESET", db.Exec("RESET search_path"), nil)
			s.see("EXECUTE", db.Exec("EXECUTE switch_tenant"), nil)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name+" on a connection", func(t *testing.T) {
			compare(t, compareOpts{only: "postgres"}, setupTenantSchemas, func(t *testing.T, s *side) {
				s.onConnection(func(c *gorm.DB) { tc.run(s, c) })
				tx := s.q().Begin()
				readUser(s, "home user 1, on another connection", s.q(), 1)
				s.see("commit", tx.Commit(), nil)
				readUser(s, "user 1 on the switched connection", s.q(), 1)
			})
		})
	}
	t.Run("DO block through the pool", func(t *testing.T) {
		compare(t, compareOpts{only: "postgres"}, setupTenantSchemas, func(t *testing.T, s *side) {
			cases[0].run(s, s.q())
			tx := s.q().Begin()
			readUser(s, "home user 1, on another connection", s.q(), 1)
			s.see("commit", tx.Commit(), nil)
			readUser(s, "user 1 on the switched connection", s.q(), 1)
		})
	})
}
