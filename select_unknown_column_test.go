package prefetch_test

import (
	"testing"
)

// AdvItemWithExtra is AdvItem with a field the table has no column for (a
// column not migrated yet, or one only some queries select).
type AdvItemWithExtra struct {
	ID    uint `gorm:"primaryKey;autoIncrement:false"`
	Grp   int
	Name  string
	Extra string `gorm:"-:migration"`
}

func (AdvItemWithExtra) TableName() string { return "adv_items" }

// A statement selecting a column the table lacks fails at the database.
// Widening it first loads the rows of its scope, which cannot hold that
// column either: the statement still goes to the database, one query more.
func TestSelectingAColumnTheTableLacksCostsNoBatchLoad(t *testing.T) {
	compareCounts(t, compareOpts{}, setupAdvItems, func(t *testing.T, s *side) {
		var xs []AdvItemWithExtra
		s.counted("some columns of every item", func() { s.see("list", s.q().Select("id", "name").Find(&xs), len(xs)) })
		var x AdvItemWithExtra
		s.counted("item 1 with the missing column", func() {
			res := s.q().Select("id", "extra").First(&x, 1)
			s.see("item 1 with extra", res, res.Error != nil)
		})
	})
}
