package prefetch_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// The session identity is read once, when the plugin is registered. An
// administrator's ALTER ROLE ... SET (through another process) changes the
// settings of the connections opened after it: a handle whose pool opens a
// new connection then reads rows its identity does not describe, and fills
// them into the partition of handles whose connections still run under the
// old settings. Plain GORM on those handles does not see the row.
func TestSharedRowsReadUnderARoleDefaultSetAfterRegistrationAreNotServedToOldSessions(t *testing.T) {
	t.Skip("documented limitation: role and database defaults changed out of band after registration (docs/shared-cache.md, What the shared cache cannot see)")
	base := postgresDSN(t)
	prefix := fmt.Sprintf("pf%d_%d", os.Getpid(), tableSeq.Add(1))
	login, rb := prefix+"_login", prefix+"_rb"
	pgAdmin(t, base, "CREATE ROLE "+login+" LOGIN PASSWORD 'pw'", "GRANT "+login+" TO CURRENT_USER",
		"CREATE ROLE "+rb+" NOLOGIN", "GRANT "+rb+" TO "+login, "GRANT "+rb+" TO CURRENT_USER")
	t.Cleanup(func() {
		pgAdmin(t, base, "ALTER ROLE "+login+" RESET ALL", "DROP OWNED BY "+login+", "+rb,
			"DROP ROLE IF EXISTS "+login, "DROP ROLE IF EXISTS "+rb)
	})
	store := newTestStore()
	sc := &prefetch.SharedCache{Store: store, Models: []any{&RoleDoc{}}, Unpartitioned: true}
	s := openSide(t, "postgres", false, compareOpts{pgDSN: "user=" + login + " password=pw", plugin: prefetch.Plugin{Shared: sc}})
	pgAdmin(t, base, "GRANT ALL ON SCHEMA "+s.schema+" TO "+login, "GRANT USAGE ON SCHEMA "+s.schema+" TO "+rb)
	require.NoError(t, s.db.AutoMigrate(&RoleDoc{}))
	require.NoError(t, s.db.Create(&[]RoleDoc{{ID: 2, Owner: "rb", Name: "doc of rb"}}).Error)
	for _, q := range []string{
		"ALTER TABLE role_docs ENABLE ROW LEVEL SECURITY",
		"ALTER TABLE role_docs FORCE ROW LEVEL SECURITY",
		"CREATE POLICY by_role ON role_docs USING (owner = right(current_user::text, 2))",
		"GRANT SELECT ON role_docs TO " + rb,
	} {
		require.NoError(t, s.db.Exec(q).Error)
	}

	// Both handles registered under the same identity (current_user login);
	// each keeps the connection it was registered on.
	sqlA, a, _ := s.openHandle(t, true)
	_, b, _ := s.openHandle(t, true)
	_, plain, _ := s.openHandle(t, false)

	pgAdmin(t, base, "ALTER ROLE "+login+" SET role = "+rb)
	sqlA.SetMaxIdleConns(0) // handle a's next read opens a new connection

	var d RoleDoc
	require.NoError(t, req(a).First(&d, 2).Error, "a new connection starts as role rb")
	require.Equal(t, "doc of rb", d.Name)

	require.ErrorIs(t, plain.First(&RoleDoc{}, 2).Error, gorm.ErrRecordNotFound,
		"plain GORM on a connection opened before the ALTER ROLE: still the login role")
	var got RoleDoc
	require.ErrorIs(t, req(b).First(&got, 2).Error, gorm.ErrRecordNotFound,
		"handle b (connection opened before the ALTER ROLE) was served handle a's row: %+v", got)
}
