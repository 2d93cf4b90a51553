package prefetch_test

import (
	"context"
	"testing"

	"github.com/gorm-prefetch/prefetch"
)

// SELECT *'s column list is shared by the request caches of a database. A
// column added by a migration tool run outside the process (which the
// plugin cannot see) must not be left out of a later request's reads: that
// request starts with an empty cache and reads what plain GORM reads.
func TestANewRequestSeesAColumnAddedOutsideTheProcess(t *testing.T) {
	compare(t, compareOpts{}, setupAdvItems, func(t *testing.T, s *side) {
		first := s.q()
		var x AdvItemAhead
		res := first.Select("id", "grp", "name").First(&x, 1)
		s.see("item 1 before the migration", res, x)
		var y AdvItem
		s.see("item 2 before the migration", first.First(&y, 2), y)

		// The migration, run by another tool.
		for _, q := range []string{
			"ALTER TABLE adv_items ADD COLUMN note text",
			"UPDATE adv_items SET note = 'noted'",
		} {
			_, err := s.sqlDB.Exec(q)
			s.seeErr(q, err, nil)
		}

		// A new request.
		if s.plugin {
			s.ctx = prefetch.NewContext(context.Background())
		}
		var xs []AdvItemAhead
		s.see("the columns the old code knew", s.q().Select("id", "grp", "name").Order("id").Find(&xs), xs)
		var z AdvItemAhead
		// Take, not First: another SQL text than the reads before the migration
		// (PostgreSQL would refuse a statement prepared before it).
		s.see("item 1 whole", s.q().Take(&z, 1), z)
	})
}
