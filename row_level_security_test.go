package prefetch_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// Row-level security on PostgreSQL: policies read a setting (app.tenant) or
// the current role, so the same SELECT returns other rows, or none, once the
// setting or the role changes. A row one tenant read must never be served
// to another.

// RLSDoc is visible only to its tenant.
type RLSDoc struct {
	ID     uint `gorm:"primaryKey;autoIncrement:false"`
	Tenant string
	Name   string
}

func (RLSDoc) TableName() string { return "rls_docs" }

// RoleDoc is visible only to the role its owner column names.
type RoleDoc struct {
	ID    uint `gorm:"primaryKey;autoIncrement:false"`
	Owner string
	Name  string
}

func (RoleDoc) TableName() string { return "role_docs" }

// setupRLS creates rls_docs (rows 1-2 of tenant a, 3-4 of tenant b, policy on
// app.tenant) and role_docs (row 1 of role ra, 2 of role rb, policy on the
// current role), both with FORCE ROW LEVEL SECURITY so that their owner,
// the test's user, is bound by the policies too.
func setupRLS(t *testing.T, s *side) {
	require.NoError(t, s.db.AutoMigrate(&RLSDoc{}, &RoleDoc{}))
	for id := 1; id <= 4; id++ {
		tenant := map[bool]string{true: "a", false: "b"}[id <= 2]
		s.must(t, s.db.Create(&RLSDoc{ID: uint(id), Tenant: tenant, Name: fmt.Sprintf("doc %d of %s", id, tenant)}))
	}
	s.must(t, s.db.Create(&[]RoleDoc{{ID: 1, Owner: "ra", Name: "doc of ra"}, {ID: 2, Owner: "rb", Name: "doc of rb"}}))
	ra, rb := s.newRole(t, "ra"), s.newRole(t, "rb")
	for _, q := range []string{
		"ALTER TABLE rls_docs ENABLE ROW LEVEL SECURITY",
		"ALTER TABLE rls_docs FORCE ROW LEVEL SECURITY",
		"CREATE POLICY by_tenant ON rls_docs USING (tenant = current_setting('app.tenant', true))",
		"ALTER TABLE role_docs ENABLE ROW LEVEL SECURITY",
		"ALTER TABLE role_docs FORCE ROW LEVEL SECURITY",
		// Role names carry the side's schema as a prefix; rows name the
		// role by its last two letters.
		"CREATE POLICY by_role ON role_docs USING (owner = right(current_user::text, 2))",
		fmt.Sprintf("GRANT USAGE ON SCHEMA %s TO %s, %s", s.schema, ra, rb),
		fmt.Sprintf("GRANT SELECT, UPDATE ON role_docs TO %s, %s", ra, rb),
	} {
		s.must(t, s.db.Exec(q))
	}
}

func readDoc(s *side, step string, db *gorm.DB, id int) {
	var d RLSDoc
	s.see(step, db.First(&d, id), d)
}

func readRoleDoc(s *side, step string, db *gorm.DB, id int) {
	var d RoleDoc
	s.see(step, db.First(&d, id), d)
}

func TestRowLevelSecurityNeverServesAnotherTenantsRows(t *testing.T) {
	cases := []struct {
		name    string
		oneConn bool
		run     func(s *side)
	}{
		{"SET app.tenant on a connection", false, func(s *side) {
			for _, tenant := range []string{"a", "b", "a"} {
				s.onConnection(func(c *gorm.DB) {
					s.see("SET "+tenant, c.Exec("SET app.tenant = '"+tenant+"'"), nil)
					readDoc(s, tenant+" reads 1", c, 1)
					readDoc(s, tenant+" reads 3", c, 3)
					s.see("RESET", c.Exec("RESET app.tenant"), nil)
				})
			}
			readDoc(s, "no tenant reads 1", s.q(), 1)
		}},
		{"set_config in one transaction", false, func(s *side) {
			_ = s.q().Transaction(func(tx *gorm.DB) error {
				for _, tenant := range []string{"a", "b"} {
					s.see("set_config "+tenant, tx.Exec("SELECT set_config('app.tenant', ?, true)", tenant), nil)
					readDoc(s, tenant+" reads 1", tx, 1)
					readDoc(s, tenant+" reads 3", tx, 3)
				}
				return nil
			})
		}},
		{"set_config in a transaction per tenant", false, func(s *side) {
			for _, tenant := range []string{"a", "b", "a"} {
				_ = s.q().Transaction(func(tx *gorm.DB) error {
					s.see("set_config "+tenant, tx.Exec("SELECT set_config('app.tenant', ?, true)", tenant), nil)
					readDoc(s, tenant+" reads 1", tx, 1)
					readDoc(s, tenant+" reads 3", tx, 3)
					return nil
				})
				readDoc(s, "after the transaction, reads 1", s.q(), 1)
			}
		}},
		{"SET app.tenant through a pool of one connection", true, func(s *side) {
			for _, tenant := range []string{"a", "b", "a"} {
				s.see("SET "+tenant, s.q().Exec("SET app.tenant = '"+tenant+"'"), nil)
				readDoc(s, tenant+" reads 1", s.q(), 1)
				readDoc(s, tenant+" reads 3", s.q(), 3)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			compare(t, compareOpts{only: "postgres", oneConn: tc.oneConn}, setupRLS, func(t *testing.T, s *side) { tc.run(s) })
		})
	}
}

func TestSetRoleNeverServesRowsOfAnotherRole(t *testing.T) {
	cases := []struct {
		name    string
		oneConn bool
		run     func(s *side)
	}{
		{"SET ROLE on a connection", false, func(s *side) {
			s.onConnection(func(c *gorm.DB) {
				for _, r := range []string{"ra", "rb"} {
					s.see("SET ROLE "+r, c.Exec("SET ROLE "+s.name(r)), nil)
					readRoleDoc(s, r+" reads 1", c, 1)
					readRoleDoc(s, r+" reads 2", c, 2)
				}
				s.see("RESET ROLE", c.Exec("RESET ROLE"), nil)
				readRoleDoc(s, "owner reads 1", c, 1)
			})
		}},
		{"SET LOCAL ROLE in a transaction", false, func(s *side) {
			_ = s.q().Transaction(func(tx *gorm.DB) error {
				for _, r := range []string{"ra", "rb"} {
					s.see("SET LOCAL ROLE "+r, tx.Exec("SET LOCAL ROLE "+s.name(r)), nil)
					readRoleDoc(s, r+" reads 1", tx, 1)
				}
				return nil
			})
		}},
		{"SET ROLE through a pool of one connection", true, func(s *side) {
			for _, r := range []string{"ra", "rb"} {
				s.see("SET ROLE "+r, s.q().Exec("SET ROLE "+s.name(r)), nil)
				readRoleDoc(s, r+" reads 1", s.q(), 1)
				readRoleDoc(s, r+" reads 2", s.q(), 2)
			}
			s.see("RESET ROLE", s.q().Exec("RESET ROLE"), nil)
			readRoleDoc(s, "owner reads 1", s.q(), 1)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			compare(t, compareOpts{only: "postgres", oneConn: tc.oneConn}, setupRLS, func(t *testing.T, s *side) { tc.run(s) })
		})
	}
}
