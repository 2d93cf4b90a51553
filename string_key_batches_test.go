package prefetch_test

import (
	"fmt"
	"testing"
)

// Keys that name no row. A batch load proves integer keys absent; a text
// key with no row stays unknown after the batch, so its statement must not
// cost a batch load on top of its own query.

type CodeParent struct {
	Code string `gorm:"primaryKey"`
	Name string
}

type CodeChild struct {
	ID         uint `gorm:"primaryKey;autoIncrement:false"`
	ParentCode string
	Parent     CodeParent `gorm:"foreignKey:ParentCode;references:Code"`
}

func setupCodes(t *testing.T, s *side) {
	s.must(t, s.db.Exec("CREATE TABLE code_parents (code text PRIMARY KEY, name text)"))
	s.must(t, s.db.Exec("CREATE TABLE code_children (id integer PRIMARY KEY, parent_code text)"))
	s.must(t, s.db.Exec("INSERT INTO code_parents VALUES ('a', 'parent a'), ('b', 'parent b')"))
	s.must(t, s.db.Exec("INSERT INTO code_children VALUES (1, 'a'), (2, 'gone'), (3, 'b'), (4, 'lost')"))
}

func TestTextKeysWithNoRowNeverCostMoreQueries(t *testing.T) {
	compareCounts(t, compareOpts{}, setupCodes, func(t *testing.T, s *side) {
		var children []CodeChild
		s.counted("children", func() { s.see("children", s.q().Order("id").Find(&children), len(children)) })
		for _, c := range children {
			s.counted(fmt.Sprint("parent of ", c.ID), func() {
				var p CodeParent
				s.see(fmt.Sprint("parent of ", c.ID), s.q().First(&p, "code = ?", c.ParentCode), p)
			})
		}
	})
}
