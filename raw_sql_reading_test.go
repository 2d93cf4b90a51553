package prefetch_test

import (
	"fmt"
	"strings"
	"testing"

	"gorm.io/gorm"
)

// Raw SQL the plugin reads differently from the database: writes, session
// changes and definitions it never sees.

// Raw SQL that PostgreSQL reads differently from the plugin's tokenizer:
// the session change it hides is never seen, and rows of the home schema
// are served to a session now reading tenant b.
func TestSessionChangesAndWritesAreSeenWhateverTheSpelling(t *testing.T) {
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
		// PostgreSQL ends a line comment at a carriage return too; the
		// tokenizer reads on to the next line feed.
		{"line comment ended by a carriage return", "SELECT 1; -- switch\rSET search_path TO {tb}"},
		{"write after a line comment ended by a carriage return", "SELECT 1; -- write\rUPDATE tenant_users SET tenant = 'x' WHERE id = 1"},
		// A quoted function name is the same function.
		{"quoted set_config", `SELECT "set_config"('search_path', '{tb}', false)`},
		{"quoted set_config qualified", `SELECT pg_catalog."set_config"('search_path', '{tb}', false)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			compare(t, compareOpts{only: "postgres", oneConn: true}, setupTenantSchemas, func(t *testing.T, s *side) {
				readUser(s, "home user 1", s.q(), 1)
				s.see("change", s.q().Exec(s.expand(tc.change)), nil)
				readUser(s, "user 1 after", s.q(), 1)
			})
		})
	}
}

// SELECT ... INTO creates a table: a temporary one shadows the table of the
// same name in the search path, on the connection that ran it.
func TestSelectIntoIsADefinition(t *testing.T) {
	compare(t, compareOpts{only: "postgres", oneConn: true}, setupTenantSchemas, func(t *testing.T, s *side) {
		readUser(s, "home user 1", s.q(), 1)
		s.see("select into", s.q().Exec(s.expand("SELECT * INTO TEMP tenant_users FROM {tb}.tenant_users")), nil)
		readUser(s, "user 1 after", s.q(), 1)
	})
}

// A qualified name may have white space (or a comment) around its dot, on
// both databases. The classifier reads "UPDATE main . adv_items" as writing
// a table named "main".
func TestWritesToNamesQualifiedWithSpacesInvalidate(t *testing.T) {
	cases := []struct{ name, sql string }{
		{"UPDATE", "UPDATE {qual} . adv_items SET name = 'changed' WHERE id = 1"},
		{"comment before the dot", "UPDATE {qual}/**/.adv_items SET name = 'changed' WHERE id = 1"},
		{"DELETE", "DELETE FROM {qual} . adv_items WHERE id = 1"},
		{"INSERT over an absent key", "INSERT INTO {qual} . adv_items (id, grp, name) VALUES (4, 1, 'item 4')"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			compare(t, compareOpts{}, setupAdvItems, func(t *testing.T, s *side) {
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
func TestViewsCreatedUnderSpacedNamesAreNeverCached(t *testing.T) {
	compare(t, compareOpts{}, setupAdvItems, func(t *testing.T, s *side) {
		s.see("create view", s.q().Exec("CREATE VIEW "+s.qualifier()+" . adv_item_views AS SELECT * FROM adv_items"), nil)
		readViewItem(s, "view item 1", s.q(), 1)
		s.see("update the table", s.q().Model(&AdvItem{ID: 1}).Update("name", "changed"), nil)
		readViewItem(s, "view item 1 after", s.q(), 1)
	})
}

// A view renamed (PostgreSQL's ALTER VIEW ... RENAME TO, or ALTER TABLE on a
// view) takes a name the plugin never saw as a view.
func TestRenamedViewsAreNeverCached(t *testing.T) {
	for _, kw := range []string{"VIEW", "TABLE"} {
		t.Run("ALTER "+kw, func(t *testing.T) {
			compare(t, compareOpts{only: "postgres"}, setupAdvItems, func(t *testing.T, s *side) {
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
func TestInheritanceCreatedThroughGORMIsFollowed(t *testing.T) {
	compare(t, compareOpts{only: "postgres"}, func(t *testing.T, s *side) {
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

// Foreign keys declared in DDL run through GORM are read for their cascades,
// but a qualified name with spaces around its dot names the schema instead
// of the table.
func TestCascadesDeclaredUnderSpacedNamesInvalidate(t *testing.T) {
	compare(t, compareOpts{only: "postgres"}, func(t *testing.T, s *side) {
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
