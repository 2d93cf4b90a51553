package prefetch_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// Adversarial tests: call sequences where the plugin's answer differs from
// plain GORM's. Each one failed on the code it was written against.

// Raw SQL that PostgreSQL reads differently from the plugin's tokenizer:
// the session change it hides is never seen, and rows of the home schema
// are served to a session now reading tenant b.
func TestAdversarialHiddenSessionChange(t *testing.T) {
	cases := []struct {
		name   string
		change string
	}{
		// PostgreSQL comments nest: the tokenizer ends the comment at the
		// first "*/" and reads "' */; SET ... -- '" as one string literal.
		{"nested block comment", "SELECT 1 /* /* */ ' */; SET search_path TO {tb} -- '"},
		// E'\'' is a complete string in PostgreSQL; the tokenizer reads the
		// backslash as a character and "''" as an escaped quote.
		{"E string with a backslash-escaped quote", `SELECT E'\'' AS q; SET search_path TO {tb} -- '`},
		// A quoted function name is the same function.
		{"quoted set_config", `SELECT "set_config"('search_path', '{tb}', false)`},
		{"quoted set_config qualified", `SELECT pg_catalog."set_config"('search_path', '{tb}', false)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			compareAdv(t, compareOpts{only: "postgres", oneConn: true}, setupTenantSchemas, func(t *testing.T, s *side) {
				readUser(s, "home user 1", s.q(), 1)
				s.see("change", s.q().Exec(s.expand(tc.change)), nil)
				readUser(s, "user 1 after", s.q(), 1)
			})
		})
	}
}

// SELECT ... INTO creates a table: a temporary one shadows the table of the
// same name in the search path, on the connection that ran it.
func TestAdversarialSelectIntoTempShadowsTable(t *testing.T) {
	compareAdv(t, compareOpts{only: "postgres", oneConn: true}, setupTenantSchemas, func(t *testing.T, s *side) {
		readUser(s, "home user 1", s.q(), 1)
		s.see("select into", s.q().Exec(s.expand("SELECT * INTO TEMP tenant_users FROM {tb}.tenant_users")), nil)
		readUser(s, "user 1 after", s.q(), 1)
	})
}

// Session state set on a connection taken with db.Connection stays on that
// connection when it goes back to the pool. database/sql hands out the most
// recently returned idle connection, so later statements on the pool run
// under it, while the pool's other connections keep the old state.
func TestAdversarialSessionStateLeftOnConnectionLeaksToThePool(t *testing.T) {
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
			compareAdv(t, compareOpts{only: "postgres"}, setupTenantSchemas, func(t *testing.T, s *side) {
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

// On PostgreSQL a failed statement aborts the transaction: every later
// statement fails until a rollback. Row() reports its error only at Scan,
// so the plugin never learns of the failure and keeps serving.
func TestAdversarialFailureSeenOnlyByRowScanAbortsTransaction(t *testing.T) {
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
			compareAdv(t, compareOpts{only: "postgres"}, setupTenantSchemas, func(t *testing.T, s *side) {
				tx := s.q().Begin()
				readUser(s, "user 1", tx, 1)
				tc.run(s, tx)
				readUser(s, "user 1 in the aborted transaction", tx, 1)
				s.see("rollback", tx.Rollback(), nil)
			})
		})
	}
}

// idle_in_transaction_session_timeout is treated as harmless, but it ends
// the session: the next statement must fail.
func TestAdversarialIdleInTransactionTimeoutEndsTheSession(t *testing.T) {
	compareAdv(t, compareOpts{only: "postgres"}, setupTenantSchemas, func(t *testing.T, s *side) {
		tx := s.q().Begin()
		readUser(s, "user 1", tx, 1)
		s.see("set timeout", tx.Exec("SET idle_in_transaction_session_timeout = 20"), nil)
		time.Sleep(300 * time.Millisecond)
		var u TenantUser
		res := tx.First(&u, 1)
		s.note("read after the session ended fails", res.Error != nil)
		_ = tx.Rollback()
	})
}

// AdvItem has an integer key and a group column without an index.
type AdvItem struct {
	ID   uint `gorm:"primaryKey;autoIncrement:false"`
	Grp  int
	Name string
}

// AdvIndexed has an index on its group column.
type AdvIndexed struct {
	ID  uint `gorm:"primaryKey;autoIncrement:false"`
	Grp int  `gorm:"index"`
}

// AdvCode has a text key: SQLite stores its rows in rowid order, not key
// order.
type AdvCode struct {
	Code string `gorm:"primaryKey"`
	Grp  int
	Name string
}

// Without ORDER BY the database returns rows in its own order: PostgreSQL's
// heap order (an updated row moves to the end), SQLite's rowid order for a
// table whose key is not the rowid. Served rows come sorted by key instead.
func TestAdversarialUnorderedResultsKeepTheDatabasesOrder(t *testing.T) {
	t.Run("collection after an update", func(t *testing.T) {
		compareAdv(t, compareOpts{only: "postgres"}, func(t *testing.T, s *side) {
			require.NoError(t, s.db.AutoMigrate(&AdvItem{}))
			for id := 1; id <= 3; id++ {
				s.must(t, s.db.Create(&AdvItem{ID: uint(id), Grp: 7, Name: fmt.Sprint("item ", id)}))
			}
			s.must(t, s.db.Model(&AdvItem{ID: 1}).Update("name", "item 1 renamed"))
		}, func(t *testing.T, s *side) {
			for i := range 2 {
				var xs []AdvItem
				s.see(fmt.Sprint("group 7, read ", i), s.q().Where("grp = ?", 7).Find(&xs), xs)
			}
		})
	})
	// An index on the collection column returns rows in its own order.
	t.Run("several values through an index", func(t *testing.T) {
		compareAdv(t, compareOpts{only: "sqlite"}, func(t *testing.T, s *side) {
			require.NoError(t, s.db.AutoMigrate(&AdvIndexed{}))
			for id, grp := range []int{2, 1, 2, 1} {
				s.must(t, s.db.Create(&AdvIndexed{ID: uint(id + 1), Grp: grp}))
			}
		}, func(t *testing.T, s *side) {
			for i := range 2 {
				var xs []AdvIndexed
				s.see(fmt.Sprint("groups 1 and 2, read ", i), s.q().Where("grp IN ?", []int{1, 2}).Find(&xs), xs)
			}
		})
	})
	t.Run("text key", func(t *testing.T) {
		compareAdv(t, compareOpts{}, func(t *testing.T, s *side) {
			require.NoError(t, s.db.AutoMigrate(&AdvCode{}))
			for _, c := range []string{"c", "a", "b"} {
				s.must(t, s.db.Create(&AdvCode{Code: c, Grp: 7, Name: "code " + c}))
			}
		}, func(t *testing.T, s *side) {
			for i := range 2 {
				var xs []AdvCode
				s.see(fmt.Sprint("group 7, read ", i), s.q().Where("grp = ?", 7).Find(&xs), xs)
			}
		})
	})
}

// GORM puts a string condition in parentheses only when it holds " OR "
// with plain spaces. "(?)OR" is not wrapped, so "AND id = 1" binds to the
// right-hand side of the OR: the update reaches rows other than 1, but the
// plugin reads the condition as narrowing the primary-key one and stamps
// row 1 only.
func TestAdversarialUpdateWithUnspacedOrReachesOtherRows(t *testing.T) {
	compareAdv(t, compareOpts{}, setupAdvItems, func(t *testing.T, s *side) {
		var x AdvItem
		s.see("item 2", s.q().First(&x, 2), x)
		s.see("update", s.q().Model(&AdvItem{ID: 1}).Where("name IN (?)OR grp = ?", "item 2", 99).Update("grp", 50), nil)
		var y AdvItem
		s.see("item 2 after", s.q().First(&y, 2), y)
	})
	// splitAnd cuts "id = ? AND grp = ?OR grp = ?" at AND and keeps
	// "id = ?" as a term of its own, though OR binds the rest apart.
	t.Run("split at AND", func(t *testing.T) {
		compareAdv(t, compareOpts{only: "sqlite"}, setupAdvItems, func(t *testing.T, s *side) {
			var x AdvItem
			s.see("item 3", s.q().First(&x, 3), x)
			s.see("update", s.q().Model(&AdvItem{}).Where("id = ? AND grp = ?OR grp = ?", 1, 1, 3).Update("name", "changed"), nil)
			var y AdvItem
			s.see("item 3 after", s.q().First(&y, 3), y)
		})
	})
}

// compareAdv is compare, except that with PREFETCH_ADV_PLAIN_TWICE set both
// sides run without the plugin: the script must then pass, showing that the
// difference is the plugin's.
func compareAdv(t *testing.T, o compareOpts, setup, script func(t *testing.T, s *side)) {
	t.Helper()
	if os.Getenv("PREFETCH_ADV_PLAIN_TWICE") == "" {
		compare(t, o, setup, script)
		return
	}
	forEachDB(t, o.only, func(t *testing.T, dialect string) {
		a, b := openSide(t, dialect, false, o), openSide(t, dialect, false, o)
		for _, s := range []*side{a, b} {
			if setup != nil {
				setup(t, s)
			}
			script(t, s)
		}
		requireSameObservations(t, a.obs, b.obs)
	})
}

// A qualified name may have white space (or a comment) around its dot, on
// both databases. The classifier reads "UPDATE main . adv_items" as writing
// a table named "main".
func TestAdversarialQualifiedNameWithSpacesHidesTheWrittenTable(t *testing.T) {
	cases := []struct{ name, sql string }{
		{"UPDATE", "UPDATE {qual} . adv_items SET name = 'changed' WHERE id = 1"},
		{"comment before the dot", "UPDATE {qual}/**/.adv_items SET name = 'changed' WHERE id = 1"},
		{"DELETE", "DELETE FROM {qual} . adv_items WHERE id = 1"},
		{"INSERT over an absent key", "INSERT INTO {qual} . adv_items (id, grp, name) VALUES (4, 1, 'item 4')"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			compareAdv(t, compareOpts{}, setupAdvItems, func(t *testing.T, s *side) {
				readItems(s, "items 1 and 4", s.q(), 1, 4)
				s.see("raw write", s.q().Exec(strings.ReplaceAll(tc.sql, "{qual}", s.qualifier())), nil)
				readItems(s, "items 1 and 4 after", s.q(), 1, 4)
			})
		})
	}
}

// A view created under a qualified name with spaces around the dot is not
// recorded as a view: its rows are cached, and writes to the table under it
// never reach them.
func TestAdversarialViewCreatedUnderASpacedNameIsCached(t *testing.T) {
	compareAdv(t, compareOpts{}, setupAdvItems, func(t *testing.T, s *side) {
		s.see("create view", s.q().Exec("CREATE VIEW "+s.qualifier()+" . adv_item_views AS SELECT * FROM adv_items"), nil)
		readViewItem(s, "view item 1", s.q(), 1)
		s.see("update the table", s.q().Model(&AdvItem{ID: 1}).Update("name", "changed"), nil)
		readViewItem(s, "view item 1 after", s.q(), 1)
	})
}

// A view renamed (PostgreSQL's ALTER VIEW ... RENAME TO, or ALTER TABLE on a
// view) takes a name the plugin never saw as a view.
func TestAdversarialRenamedViewIsCached(t *testing.T) {
	for _, kw := range []string{"VIEW", "TABLE"} {
		t.Run("ALTER "+kw, func(t *testing.T) {
			compareAdv(t, compareOpts{only: "postgres"}, setupAdvItems, func(t *testing.T, s *side) {
				s.see("create view", s.q().Exec("CREATE VIEW adv_tmp_view AS SELECT * FROM adv_items"), nil)
				s.see("rename view", s.q().Exec("ALTER "+kw+" adv_tmp_view RENAME TO adv_item_views"), nil)
				readViewItem(s, "view item 1", s.q(), 1)
				s.see("update the table", s.q().Model(&AdvItem{ID: 1}).Update("name", "changed"), nil)
				readViewItem(s, "view item 1 after", s.q(), 1)
			})
		})
	}
}

// Tables in an inheritance tree are known only from the catalog read when
// the plugin is registered. One created later through GORM is treated as a
// plain table: a write to the child does not reach rows read through the
// parent.
func TestAdversarialInheritanceCreatedAfterRegistration(t *testing.T) {
	compareAdv(t, compareOpts{only: "postgres"}, func(t *testing.T, s *side) {
		s.must(t, s.db.Exec("CREATE TABLE adv_parents (id bigint PRIMARY KEY, name text)"))
		s.must(t, s.db.Exec("CREATE TABLE adv_children () INHERITS (adv_parents)"))
		s.must(t, s.db.Exec("INSERT INTO adv_children (id, name) VALUES (1, 'child 1')"))
	}, func(t *testing.T, s *side) {
		readParents(s, "parents 1 and 2", s.q(), 1, 2)
		s.see("update child", s.q().Model(&AdvChild{ID: 1}).Update("name", "child 1 renamed"), nil)
		s.see("create child", s.q().Create(&AdvChild{ID: 2, Name: "child 2"}), nil)
		readParents(s, "parents 1 and 2 after", s.q(), 1, 2)
	})
}

type AdvParent struct {
	ID   int64 `gorm:"primaryKey;autoIncrement:false"`
	Name string
}

type AdvChild struct {
	ID   int64 `gorm:"primaryKey;autoIncrement:false"`
	Name string
}

func readParents(s *side, step string, db *gorm.DB, ids ...int) {
	for _, id := range ids {
		var p AdvParent
		s.see(fmt.Sprint(step, ": ", id), db.First(&p, id), p)
	}
}

// AdvItemView reads adv_items through a view.
type AdvItemView struct {
	ID   uint `gorm:"primaryKey;autoIncrement:false"`
	Grp  int
	Name string
}

func readViewItem(s *side, step string, db *gorm.DB, id int) {
	var v AdvItemView
	s.see(step, db.First(&v, id), v)
}

// setupAdvItems creates adv_items 1-3 in groups 1-3.
func setupAdvItems(t *testing.T, s *side) {
	require.NoError(t, s.db.AutoMigrate(&AdvItem{}))
	for id := 1; id <= 3; id++ {
		s.must(t, s.db.Create(&AdvItem{ID: uint(id), Grp: id, Name: fmt.Sprint("item ", id)}))
	}
}

// readItems records First of each id.
func readItems(s *side, step string, db *gorm.DB, ids ...int) {
	for _, id := range ids {
		var x AdvItem
		s.see(fmt.Sprint(step, ": ", id), db.First(&x, id), x)
	}
}

// qualifier is the name of the side's own schema (PostgreSQL) or main
// database (SQLite).
func (s *side) qualifier() string {
	if s.schema != "" {
		return s.schema
	}
	return "main"
}

// The same leak under row-level security: a session switched to tenant b
// on db.Connection is served tenant a's row.
func TestAdversarialTenantSetOnConnectionLeaksAnotherTenantsRow(t *testing.T) {
	cases := []struct{ name, change string }{
		{"SET app.tenant", "SET app.tenant = 'b'"},
		{"SET ROLE", "SET ROLE {rb}"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			compareAdv(t, compareOpts{only: "postgres", pgDSN: "app.tenant=a"}, setupRLS, func(t *testing.T, s *side) {
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

// Foreign keys declared in DDL run through GORM are read for their cascades,
// but a qualified name with spaces around its dot names the schema instead
// of the table.
func TestAdversarialCascadeDeclaredUnderASpacedName(t *testing.T) {
	compareAdv(t, compareOpts{only: "postgres"}, func(t *testing.T, s *side) {
		s.must(t, s.db.Exec("CREATE TABLE adv_parents (id bigint PRIMARY KEY, name text)"))
		s.must(t, s.db.Exec("CREATE TABLE "+s.schema+" . adv_kids (id bigint PRIMARY KEY, "+
			"adv_parent_id bigint REFERENCES "+s.schema+" . adv_parents (id) ON DELETE CASCADE)"))
		s.must(t, s.db.Exec("INSERT INTO adv_parents VALUES (1, 'parent 1')"))
		s.must(t, s.db.Exec("INSERT INTO adv_kids VALUES (1, 1)"))
	}, func(t *testing.T, s *side) {
		var k AdvKid
		s.see("kid 1", s.q().First(&k, 1), k)
		s.see("delete parent 1", s.q().Delete(&AdvParent{ID: 1}), nil)
		var k2 AdvKid
		s.see("kid 1 after", s.q().First(&k2, 1), k2)
	})
}

type AdvKid struct {
	ID          int64 `gorm:"primaryKey;autoIncrement:false"`
	AdvParentID int64
}

// The database compares keys by its own rules: uuid ignores case, char(n)
// ignores trailing spaces, NOCASE ignores case. A write naming a row by
// another spelling of its key changes the row cached under the database's
// spelling, but the plugin stamps only the spelling the write used.
func TestAdversarialWriteByAnotherSpellingOfTheKey(t *testing.T) {
	cases := []struct {
		name, only, colType, stored, written string
	}{
		{"uuid in upper case", "postgres", "uuid", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"},
		{"char(n) without its padding", "postgres", "char(6)", "ab    ", "ab"},
		{"NOCASE in upper case", "sqlite", "text COLLATE NOCASE", "ab", "AB"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			compareAdv(t, compareOpts{only: tc.only}, func(t *testing.T, s *side) {
				s.must(t, s.db.Exec("CREATE TABLE adv_keyed (id "+tc.colType+" PRIMARY KEY, name text)"))
				s.must(t, s.db.Exec("INSERT INTO adv_keyed VALUES (?, 'before')", tc.stored))
			}, func(t *testing.T, s *side) {
				read := func(step string) {
					var k AdvKeyed
					s.see(step, s.q().First(&k, "id = ?", tc.stored), k)
				}
				read("read by the stored key")
				s.see("update by the other spelling", s.q().Model(&AdvKeyed{ID: tc.written}).Update("name", "after"), nil)
				read("read after the update")
				s.see("delete by the other spelling", s.q().Delete(&AdvKeyed{ID: tc.written}), nil)
				read("read after the delete")
			})
		})
	}
}

type AdvKeyed struct {
	ID   string `gorm:"primaryKey"`
	Name string
}

func (AdvKeyed) TableName() string { return "adv_keyed" }

// A read waits for a lock another transaction holds on the table, and fails
// when lock_timeout runs out. LOCK is read as changing nothing, and a
// served read neither waits nor fails.
func TestAdversarialReadBlockedByATableLockFails(t *testing.T) {
	compareAdv(t, compareOpts{only: "postgres", pgDSN: "lock_timeout=100"}, setupTenantSchemas, func(t *testing.T, s *side) {
		readUser(s, "user 1", s.q(), 1)
		tx := s.q().Begin()
		s.see("lock the table", tx.Exec("LOCK TABLE tenant_users IN ACCESS EXCLUSIVE MODE"), nil)
		readUser(s, "user 1 while the table is locked", s.q(), 1)
		s.see("rollback", tx.Rollback(), nil)
	})
}

// A legacy table keeps integer ids in a text column. The database sorts
// them as text ("10" before "9"); the plugin, reading the Go field's type,
// sorts them as numbers.
func TestAdversarialOrderByAKeyStoredAsText(t *testing.T) {
	compareAdv(t, compareOpts{}, func(t *testing.T, s *side) {
		s.must(t, s.db.Exec("CREATE TABLE adv_legacy (id varchar(10) PRIMARY KEY, name text)"))
		s.must(t, s.db.Exec("INSERT INTO adv_legacy VALUES ('9', 'nine'), ('10', 'ten')"))
	}, func(t *testing.T, s *side) {
		for i := range 2 {
			var xs []AdvLegacy
			s.see(fmt.Sprint("ordered by id, read ", i), s.q().Order("id").Find(&xs, []string{"9", "10"}), xs)
		}
		var last AdvLegacy
		s.see("last", s.q().Where("id IN ?", []string{"9", "10"}).Last(&last), last)
	})
}

type AdvLegacy struct {
	ID   int `gorm:"primaryKey;autoIncrement:false"`
	Name string
}

func (AdvLegacy) TableName() string { return "adv_legacy" }
