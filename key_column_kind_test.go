package prefetch_test

import (
	"fmt"
	"testing"
)

// Keys kept in a column of another kind than the model's key type.

// A legacy table keeps integer ids in a text column. The database sorts
// them as text ("10" before "9"); the plugin, reading the Go field's type,
// sorts them as numbers.
func TestKeysStoredAsTextAreNeverServed(t *testing.T) {
	compare(t, compareOpts{}, func(t *testing.T, s *side) {
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
