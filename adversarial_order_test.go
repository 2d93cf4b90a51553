package prefetch_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// The order of served rows: the database's own order where the statement
// has no ORDER BY, its collation where it orders by the key.

// AdvIndexed has an index on its group column.
type AdvIndexed struct {
	ID  uint `gorm:"primaryKey;autoIncrement:false"`
	Grp int  `gorm:"index"`
}

// AdvCode has a text key: SQLite stores its rows in rowid order, not key
// order.
type AdvCode struct {
	Code string `gorm:"primaryKey"`
	Grp  int
	Name string
}

// Without ORDER BY the database returns rows in its own order: PostgreSQL's
// heap order (an updated row moves to the end), SQLite's rowid order for a
// table whose key is not the rowid. Served rows come sorted by key instead.
func TestAdversarialUnorderedResultsKeepTheDatabasesOrder(t *testing.T) {
	t.Run("collection after an update", func(t *testing.T) {
		compareAdv(t, compareOpts{only: "postgres"}, func(t *testing.T, s *side) {
			require.NoError(t, s.db.AutoMigrate(&AdvItem{}))
			for id := 1; id <= 3; id++ {
				s.must(t, s.db.Create(&AdvItem{ID: uint(id), Grp: 7, Name: fmt.Sprint("item ", id)}))
			}
			s.must(t, s.db.Model(&AdvItem{ID: 1}).Update("name", "item 1 renamed"))
		}, func(t *testing.T, s *side) {
			for i := range 2 {
				var xs []AdvItem
				s.see(fmt.Sprint("group 7, read ", i), s.q().Where("grp = ?", 7).Find(&xs), xs)
			}
		})
	})
	// Preload fills a has-many slice in the order the database returned
	// its rows.
	t.Run("Preload after an update", func(t *testing.T) {
		compareAdv(t, compareOpts{only: "postgres"}, func(t *testing.T, s *side) {
			require.NoError(t, s.db.AutoMigrate(allModels()...))
			s.must(t, s.db.Create(&Customer{ID: 1, Name: "c1"}))
			s.must(t, s.db.Create(&[]Order{{ID: 1, CustomerID: 1, Amount: 1}, {ID: 2, CustomerID: 1, Amount: 2}}))
			s.must(t, s.db.Model(&Order{ID: 1}).Update("amount", 10))
		}, func(t *testing.T, s *side) {
			for i := range 2 {
				var c Customer
				s.see(fmt.Sprint("customer 1 with its orders, read ", i), s.q().Preload("Orders").First(&c, 1), c.Orders)
			}
		})
	})
	// An index on the collection column returns rows in its own order.
	t.Run("several values through an index", func(t *testing.T) {
		compareAdv(t, compareOpts{only: "sqlite"}, func(t *testing.T, s *side) {
			require.NoError(t, s.db.AutoMigrate(&AdvIndexed{}))
			for id, grp := range []int{2, 1, 2, 1} {
				s.must(t, s.db.Create(&AdvIndexed{ID: uint(id + 1), Grp: grp}))
			}
		}, func(t *testing.T, s *side) {
			for i := range 2 {
				var xs []AdvIndexed
				s.see(fmt.Sprint("groups 1 and 2, read ", i), s.q().Where("grp IN ?", []int{1, 2}).Find(&xs), xs)
			}
		})
	})
	t.Run("text key", func(t *testing.T) {
		compareAdv(t, compareOpts{}, func(t *testing.T, s *side) {
			require.NoError(t, s.db.AutoMigrate(&AdvCode{}))
			for _, c := range []string{"c", "a", "b"} {
				s.must(t, s.db.Create(&AdvCode{Code: c, Grp: 7, Name: "code " + c}))
			}
		}, func(t *testing.T, s *side) {
			for i := range 2 {
				var xs []AdvCode
				s.see(fmt.Sprint("group 7, read ", i), s.q().Where("grp = ?", 7).Find(&xs), xs)
			}
		})
	})
}

// A legacy table keeps integer ids in a text column. The database sorts
// them as text ("10" before "9"); the plugin, reading the Go field's type,
// sorts them as numbers.
func TestAdversarialOrderByAKeyStoredAsText(t *testing.T) {
	compareAdv(t, compareOpts{}, func(t *testing.T, s *side) {
		s.must(t, s.db.Exec("CREATE TABLE adv_legacy (id varchar(10) PRIMARY KEY, name text)"))
		s.must(t, s.db.Exec("INSERT INTO adv_legacy VALUES ('9', 'nine'), ('10', 'ten')"))
	}, func(t *testing.T, s *side) {
		for i := range 2 {
			var xs []AdvLegacy
			s.see(fmt.Sprint("ordered by id, read ", i), s.q().Order("id").Find(&xs, []string{"9", "10"}), xs)
		}
		var last AdvLegacy
		s.see("last", s.q().Where("id IN ?", []string{"9", "10"}).Last(&last), last)
	})
}

type AdvLegacy struct {
	ID   int `gorm:"primaryKey;autoIncrement:false"`
	Name string
}

func (AdvLegacy) TableName() string { return "adv_legacy" }
