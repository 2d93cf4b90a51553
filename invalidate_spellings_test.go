package prefetch_test

import (
	"testing"

	"github.com/gorm-prefetch/prefetch"
)

// Invalidate with a key spelled as the database holds it equal to the
// cached one (NOCASE, uuid case) must drop the cached row, as a write by
// that spelling through GORM does.
func TestInvalidateByAnotherSpellingOfAKeyDropsTheRow(t *testing.T) {
	compare(t, compareOpts{only: "sqlite"}, func(t *testing.T, s *side) {
		s.must(t, s.db.Exec("CREATE TABLE adv_keyed (id text COLLATE NOCASE PRIMARY KEY, name text)"))
		s.must(t, s.db.Exec("INSERT INTO adv_keyed VALUES ('ab', 'before')"))
	}, func(t *testing.T, s *side) {
		read := func(step string) {
			var k AdvKeyed
			s.see(step, s.q().First(&k, "id = ?", "ab"), k)
		}
		read("read by the stored key")
		// A write GORM does not see, by another spelling of the key.
		_, err := s.sqlDB.Exec("UPDATE adv_keyed SET name = 'after' WHERE id = 'AB'")
		s.seeErr("write outside GORM", err, nil)
		s.seeErr("invalidate by that spelling", prefetch.Invalidate(s.ctx, &AdvKeyed{}, "AB"), nil)
		read("read after Invalidate")
	})
}
