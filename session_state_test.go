package prefetch_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gorm-prefetch/prefetch"
	"github.com/gorm-prefetch/prefetch/internal/sqlcount"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// Statements that change what a later SELECT returns without writing a row
// (SET search_path, RESET, set_config, DISCARD, SQLite ATTACH/DETACH) must
// never let rows read under one state be served under another.

// TenantUser is a row of one tenant; every row says whose it is.
type TenantUser struct {
	ID     uint `gorm:"primaryKey;autoIncrement:false"`
	Tenant string
	Name   string
}

// setupTenantSchemas creates tenant_users in the side's own schema (tenant
// "home") and in two tenant schemas ta and tb, with the same ids 1-3.
func setupTenantSchemas(t *testing.T, s *side) {
	require.NoError(t, s.db.AutoMigrate(&TenantUser{}))
	for _, tn := range []string{"ta", "tb"} {
		sch := s.newSchema(t, tn)
		s.must(t, s.db.Exec(fmt.Sprintf("CREATE TABLE %s.tenant_users (LIKE %s.tenant_users INCLUDING ALL)", sch, s.schema)))
	}
	for _, tn := range []struct{ schema, tenant string }{{s.schema, "home"}, {s.name("ta"), "a"}, {s.name("tb"), "b"}} {
		for id := 1; id <= 3; id++ {
			s.must(t, s.db.Exec(fmt.Sprintf("INSERT INTO %s.tenant_users (id, tenant, name) VALUES (?, ?, ?)", tn.schema),
				id, tn.tenant, fmt.Sprintf("%s user %d", tn.tenant, id)))
		}
	}
}

// readUser records First(&TenantUser{}, id) on db.
func readUser(s *side, step string, db *gorm.DB, id int) {
	var u TenantUser
	s.see(step, db.First(&u, id), u)
}

func TestSearchPathSwitchNeverServesAnotherSchemasRows(t *testing.T) {
	cases := []struct {
		name string
		run  func(s *side)
	}{
		{"SET on a connection", func(s *side) {
			readUser(s, "home", s.q(), 1)
			s.onConnection(func(c *gorm.DB) {
				s.see("SET", c.Exec("SET search_path TO "+s.name("tb")), nil)
				readUser(s, "tenant b on the connection", c, 1)
				s.see("SET back", c.Exec("SET search_path TO "+s.schema), nil)
				readUser(s, "home on the connection", c, 1)
			})
			readUser(s, "home again", s.q(), 1)
		}},
		{"SET LOCAL in a transaction", func(s *side) {
			readUser(s, "home", s.q(), 1)
			_ = s.q().Transaction(func(tx *gorm.DB) error {
				readUser(s, "home in the transaction", tx, 1)
				s.see("SET LOCAL", tx.Exec("SET LOCAL search_path TO "+s.name("tb")), nil)
				readUser(s, "tenant b in the transaction", tx, 1)
				readUser(s, "tenant b, other row", tx, 2)
				return nil
			})
			readUser(s, "home after commit", s.q(), 1)
		}},
		{"set_config local in a transaction, through Exec", func(s *side) {
			_ = s.q().Transaction(func(tx *gorm.DB) error {
				readUser(s, "home in the transaction", tx, 1)
				s.see("set_config", tx.Exec("SELECT set_config('search_path', ?, true)", s.name("ta")), nil)
				readUser(s, "tenant a in the transaction", tx, 1)
				return nil
			})
		}},
		{"set_config local in a transaction, through Raw", func(s *side) {
			_ = s.q().Transaction(func(tx *gorm.DB) error {
				readUser(s, "home in the transaction", tx, 1)
				var got string
				s.see("set_config", tx.Raw("SELECT set_config('search_path', ?, true)", s.name("ta")).Scan(&got), nil)
				readUser(s, "tenant a in the transaction", tx, 1)
				return nil
			})
		}},
		{"two tenants in turn, one transaction each", func(s *side) {
			for _, tn := range []string{"ta", "tb", "ta"} {
				_ = s.q().Transaction(func(tx *gorm.DB) error {
					s.see("SET LOCAL "+tn, tx.Exec("SET LOCAL search_path TO "+s.name(tn)), nil)
					readUser(s, tn+" user 1", tx, 1)
					readUser(s, tn+" user 3", tx, 3)
					return nil
				})
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			compare(t, compareOpts{only: "postgres"}, setupTenantSchemas, func(t *testing.T, s *side) { tc.run(s) })
		})
	}
}

// On a pool of one connection, a session statement sent through the pool
// holds for every later statement: the reads after it must follow it.
func TestSessionStatementsOnAOneConnectionPool(t *testing.T) {
	cases := []struct {
		name   string
		before string // run before the first read
		change string // the statement under test
	}{
		{"SET", "", "SET search_path TO {tb}"},
		{"SET SESSION", "", "SET SESSION search_path = {ta}"},
		{"set_config", "", "SELECT set_config('search_path', '{tb}', false)"},
		{"RESET", "SET search_path TO {tb}", "RESET search_path"},
		{"RESET ALL", "SET search_path TO {ta}", "RESET ALL"},
		{"SET ... TO DEFAULT", "SET search_path TO {ta}", "SET search_path TO DEFAULT"},
		{"lower case", "", "set search_path to {tb}"},
		{"after a line comment", "", "-- switch tenant\nSET search_path TO {tb}"},
		{"after a block comment", "", "/* tenant */ SET search_path TO {tb}"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			compare(t, compareOpts{only: "postgres", oneConn: true}, setupTenantSchemas, func(t *testing.T, s *side) {
				if tc.before != "" {
					s.see("before", s.q().Exec(s.expand(tc.before)), nil)
				}
				readUser(s, "user 1", s.q(), 1)
				readUser(s, "user 2", s.q(), 2)
				// The statement runs in another request: every request
				// cache of the database must follow it.
				other := s.db.WithContext(prefetch.NewContext(s.ctx))
				s.see("change", other.Exec(s.expand(tc.change)), nil)
				readUser(s, "user 1 after", s.q(), 1)
				readUser(s, "user 2 after", s.q(), 2)
			})
		})
	}
	// DISCARD ALL also drops the prepared statements pgx caches: without
	// that cache, what it changes is only the session's settings.
	t.Run("DISCARD ALL", func(t *testing.T) {
		o := compareOpts{only: "postgres", oneConn: true, pgDSN: "default_query_exec_mode=cache_describe"}
		compare(t, o, setupTenantSchemas, func(t *testing.T, s *side) {
			s.see("SET", s.q().Exec("SET search_path TO "+s.name("tb")), nil)
			readUser(s, "tenant b", s.q(), 1)
			s.see("DISCARD ALL", s.q().Exec("DISCARD ALL"), nil)
			readUser(s, "home", s.q(), 1)
		})
	})
}

// expand replaces {ta} and {tb} by the side's tenant schemas.
func (s *side) expand(sql string) string {
	for _, tn := range []string{"ta", "tb"} {
		sql = strings.ReplaceAll(sql, "{"+tn+"}", s.name(tn))
	}
	return sql
}

// AttachedUser lives only in attached SQLite databases.
type AttachedUser struct {
	ID     uint `gorm:"primaryKey;autoIncrement:false"`
	Tenant string
}

// tenantFile creates an SQLite file holding attached_users of one tenant.
func tenantFile(t *testing.T, s *side, tenant string) string {
	path := filepath.Join(s.dir, tenant+".db")
	db, _, err := sqlcount.OpenSQLite(path)
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Exec("CREATE TABLE attached_users (id integer PRIMARY KEY, tenant text)")
	require.NoError(t, err)
	for id := 1; id <= 3; id++ {
		_, err = db.Exec("INSERT INTO attached_users VALUES (?, ?)", id, tenant)
		require.NoError(t, err)
	}
	return path
}

func TestAttachAndDetachNeverServeAnotherFilesRows(t *testing.T) {
	read := func(s *side, step string, db *gorm.DB) {
		var u AttachedUser
		s.see(step, db.First(&u, 1), u)
	}
	cases := []struct {
		name    string
		oneConn bool
		run     func(s *side, a, b string)
	}{
		{"through a pool of one connection", true, func(s *side, a, b string) {
			s.see("attach a", s.q().Exec("ATTACH DATABASE ? AS ten", a), nil)
			read(s, "tenant a", s.q())
			s.see("detach", s.q().Exec("DETACH DATABASE ten"), nil)
			read(s, "nothing attached", s.q())
			s.see("attach b", s.q().Exec("/* b */ attach database ? as ten", b), nil)
			read(s, "tenant b", s.q())
			s.see("detach b", s.q().Exec("DETACH ten"), nil)
		}},
		{"on a connection", false, func(s *side, a, b string) {
			for _, f := range []string{a, b, a} {
				s.onConnection(func(c *gorm.DB) {
					s.see("attach", c.Exec("ATTACH DATABASE ? AS ten", f), nil)
					read(s, "attached "+filepath.Base(f), c)
					s.see("detach", c.Exec("DETACH DATABASE ten"), nil)
				})
				read(s, "through the pool", s.q())
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			compare(t, compareOpts{only: "sqlite", oneConn: tc.oneConn}, nil, func(t *testing.T, s *side) {
				tc.run(s, tenantFile(t, s, "a"), tenantFile(t, s, "b"))
			})
		})
	}
}
