package prefetch_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// ALTER ROLE ... SET changes the session state of the connections opened
// after it, not of those already open: the pool then holds connections of
// two states, as after a session SET on one of them, and the same read
// returns different rows depending on which connection runs it.
func TestRoleDefaultsChangedThroughThePoolStopCaching(t *testing.T) {
	base := postgresDSN(t)
	prefix := fmt.Sprintf("pf%d_%d", os.Getpid(), tableSeq.Add(1))
	login, rb := prefix+"_login", prefix+"_rb"
	pgAdmin(t, base, "CREATE ROLE "+login+" LOGIN PASSWORD 'pw'", "GRANT "+login+" TO CURRENT_USER",
		"CREATE ROLE "+rb+" NOLOGIN", "GRANT "+rb+" TO "+login, "GRANT "+rb+" TO CURRENT_USER")
	t.Cleanup(func() {
		pgAdmin(t, base, "DROP OWNED BY "+login+", "+rb, "DROP ROLE IF EXISTS "+login, "DROP ROLE IF EXISTS "+rb)
	})

	setup := func(t *testing.T, s *side) {
		pgAdmin(t, base, "GRANT ALL ON SCHEMA "+s.schema+" TO "+login, "GRANT USAGE ON SCHEMA "+s.schema+" TO "+rb)
		require.NoError(t, s.db.AutoMigrate(&RoleDoc{}))
		s.must(t, s.db.Create(&[]RoleDoc{{ID: 1, Owner: "in", Name: "doc of login"}, {ID: 2, Owner: "rb", Name: "doc of rb"}}))
		for _, q := range []string{
			"ALTER TABLE role_docs ENABLE ROW LEVEL SECURITY",
			"ALTER TABLE role_docs FORCE ROW LEVEL SECURITY",
			"CREATE POLICY by_role ON role_docs USING (owner = right(current_user::text, 2))",
			"GRANT SELECT ON role_docs TO " + rb,
		} {
			s.must(t, s.db.Exec(q))
		}
	}
	compare(t, compareOpts{only: "postgres", pgDSN: "user=" + login + " password=pw"}, setup, func(t *testing.T, s *side) {
		readRoleDoc(s, "login reads doc 2", s.q(), 2)
		s.see("role default", s.q().Exec("ALTER ROLE CURRENT_USER SET role = "+rb), nil)
		// The open connection is held; the read opens a new one, which
		// starts as the role's new default.
		tx := s.q().Begin()
		readRoleDoc(s, "doc 2 on a new connection", s.q(), 2)
		s.see("commit", tx.Commit(), nil)
		readRoleDoc(s, "doc 2 on the connection opened before", s.q(), 2)
		s.see("reset the role default", s.q().Exec("ALTER ROLE CURRENT_USER RESET role"), nil)
	})
}
