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

// A statement selecting a column the table lacks fails at the database,
// in one statement. Widening it first loads the rows of its scope, which
// cannot hold that column: the statement still goes to the database, one
// query more.
func TestSelectingAColumnMissingFromTheTableCostsOneQuery(t *testing.T) {
	compareCounts(t, compareOpts{}, setupAdvItems, func(t *testing.T, s *side) {
		var xs []AdvItemAhead
		s.counted("some columns of every item", func() { s.see("list", s.q().Select("id", "name").Find(&xs), len(xs)) })
		var x AdvItemAhead
		s.counted("item 1 with the missing column", func() {
			res := s.q().Select("id", "note").First(&x, 1)
			s.see("item 1 with note", res, res.Error != nil)
		})
	})
}

// The same for a condition that the column be NULL.
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
