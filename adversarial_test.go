package prefetch_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// Adversarial tests: call sequences where the plugin's answer differs from
// plain GORM's. Each one failed on the code it was written against.

// AdvItem has an integer key and a group column without an index.
type AdvItem struct {
	ID   uint `gorm:"primaryKey;autoIncrement:false"`
	Grp  int
	Name string
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
