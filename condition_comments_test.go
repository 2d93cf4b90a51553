package prefetch_test

import (
	"testing"
)

// A string condition ending in a line comment comments out whatever GORM
// joins after it on the same line, the primary-key condition of Model
// included: the write reaches every row the condition holds. (PostgreSQL
// rejects the statement: its bound key is then a parameter it cannot type;
// SQLite runs it.)
func TestAConditionEndingInALineCommentInvalidatesWhatItReaches(t *testing.T) {
	compare(t, compareOpts{only: "sqlite"}, setupAdvItems, func(t *testing.T, s *side) {
		readItems(s, "before", s.q(), 2)
		s.see("update", noTx(s.q()).Model(&AdvItem{ID: 1}).Where("grp >= ? -- every group from the first", 1).Update("name", "changed"), nil)
		readItems(s, "after", s.q(), 2)
	})
}
