package prefetch_test

import (
	"testing"
)

// AdvItemAhead is AdvItem as a newer version of the code sees it: its Note
// column is not in the table yet (the table was made by another tool, or
// the migration adding it has not run). Nothing in the model says so.
type AdvItemAhead struct {
	ID   uint `gorm:"primaryKey;autoIncrement:false"`
	Grp  int
	Name string
	Note string
}

func (AdvItemAhead) TableName() string { return "adv_items" }

// A statement requiring NULL in a column the table lacks (a field
// migrations skip) fails at the database, in one statement: it must not
// cost a batch load first.
func TestRequiringNULLInAColumnTheTableLacksCostsOneQuery(t *testing.T) {
	compareCounts(t, compareOpts{}, setupAdvItems, func(t *testing.T, s *side) {
		var xs []AdvItemWithExtra
		s.counted("some columns of every item", func() { s.see("list", s.q().Select("id", "name").Find(&xs), len(xs)) })
		var x AdvItemWithExtra
		s.counted("item 1 whose missing column is NULL", func() {
			res := s.q().Where(map[string]any{"extra": nil}).First(&x, 1)
			s.see("item 1 where extra IS NULL", res, res.Error != nil)
		})
	})
}
