package prefetch_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// Helpers of the tests of raw SQL reading, connection state and key
// spellings.

// AdvItem has an integer key and a group column without an index.
type AdvItem struct {
	ID   uint `gorm:"primaryKey;autoIncrement:false"`
	Grp  int
	Name string
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
