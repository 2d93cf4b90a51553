package prefetch_test

import (
	"testing"
)

// Writes through GORM that reach rows other than the keys the plugin reads
// from their WHERE clause.

// GORM puts a string condition in parentheses only when it holds " OR "
// with plain spaces. "(?)OR" is not wrapped, so "AND id = 1" binds to the
// right-hand side of the OR: the update reaches rows other than 1, but the
// plugin reads the condition as narrowing the primary-key one and stamps
// row 1 only.
func TestUpdatesWithABareORInvalidateTheTable(t *testing.T) {
	compare(t, compareOpts{}, setupAdvItems, func(t *testing.T, s *side) {
		var x AdvItem
		s.see("item 2", s.q().First(&x, 2), x)
		s.see("update", s.q().Model(&AdvItem{ID: 1}).Where("name IN (?)OR grp = ?", "item 2", 99).Update("grp", 50), nil)
		var y AdvItem
		s.see("item 2 after", s.q().First(&y, 2), y)
	})
	// splitAnd cuts "id = ? AND grp = ?OR grp = ?" at AND and keeps
	// "id = ?" as a term of its own, though OR binds the rest apart.
	t.Run("split at AND", func(t *testing.T) {
		compare(t, compareOpts{only: "sqlite"}, setupAdvItems, func(t *testing.T, s *side) {
			var x AdvItem
			s.see("item 3", s.q().First(&x, 3), x)
			s.see("update", s.q().Model(&AdvItem{}).Where("id = ? AND grp = ?OR grp = ?", 1, 1, 3).Update("name", "changed"), nil)
			var y AdvItem
			s.see("item 3 after", s.q().First(&y, 3), y)
		})
	})
}

// The database compares keys by its own rules: uuid ignores case, char(n)
// ignores trailing spaces, NOCASE ignores case. A write naming a row by
// another spelling of its key changes the row cached under the database's
// spelling, but the plugin stamps only the spelling the write used.
func TestWritesByAnotherSpellingOfAKeyInvalidateIt(t *testing.T) {
	cases := []struct {
		name, only, colType, stored, written string
	}{
		{"uuid in upper case", "postgres", "uuid", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"},
		{"char(n) without its padding", "postgres", "char(6)", "ab    ", "ab"},
		{"NOCASE in upper case", "sqlite", "text COLLATE NOCASE", "ab", "AB"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			compare(t, compareOpts{only: tc.only}, func(t *testing.T, s *side) {
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
