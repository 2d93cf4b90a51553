package prefetch_test

import (
	"context"
	"fmt"
	"testing"
)

// PBParent and PBChild: a boolean field kept in an integer column, which
// PostgreSQL's driver returns as an integer (and scans into the bool).
type PBParent struct {
	ID       uint
	Children []PBChild
}

type PBChild struct {
	ID         uint
	PBParentID uint
	Flag       bool `gorm:"type:integer"`
}

// Prime must store a boolean field as the driver returns its column: an
// integer column behind a bool field holds integers, which PostgreSQL
// refuses to compare with a boolean. A filter on it after Prime must fail
// as in the database, not be answered from the primed rows.
func TestPrimedBooleansInAnIntegerColumnFailAsInTheDatabase(t *testing.T) {
	setup := func(t *testing.T, s *side) {
		s.must(t, s.db.Exec("DROP TABLE IF EXISTS pb_children"))
		s.must(t, s.db.Exec("DROP TABLE IF EXISTS pb_parents"))
		if err := s.db.AutoMigrate(&PBParent{}, &PBChild{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.db.Migrator().DropTable(&PBChild{}, &PBParent{}) })
		for i := 1; i <= 3; i++ {
			s.must(t, s.db.Create(&PBParent{ID: uint(i)}))
			for j := 0; j < 2; j++ {
				s.must(t, s.db.Exec("INSERT INTO pb_children (pb_parent_id, flag) VALUES (?, 1)", i))
			}
		}
	}
	compare(t, compareOpts{only: "postgres"}, setup, func(t *testing.T, s *side) {
		var warm []PBChild
		s.readWholeElsewhere(t, &warm)
		var held []PBChild
		s.must(t, s.db.WithContext(context.Background()).Order("id").Find(&held))
		// Primed first: the collections loaded next keep the primed rows.
		s.primeOn(t, s.q(), held)
		var ps []PBParent
		s.see("parents", s.q().Order("id").Find(&ps), len(ps))
		for _, p := range ps {
			var cs []PBChild
			s.see(fmt.Sprintf("children %d", p.ID), s.q().Where("pb_parent_id = ?", p.ID).Order("id").Find(&cs), cs)
		}
		for _, p := range ps {
			var cs []PBChild
			res := s.q().Where(map[string]any{"pb_parent_id": p.ID, "flag": true}).Order("id").Find(&cs)
			s.see(fmt.Sprintf("flagged children %d", p.ID), res, cs)
		}
	})
}
