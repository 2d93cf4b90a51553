package prefetch_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// Foreign keys with ON DELETE actions declared in SQL only, not in the
// models' constraint tags: a delete of the parent must invalidate the
// children the database deletes or changes in cascade.

type CParent struct {
	ID   uint
	Name string
}

type CChild struct {
	ID        uint
	CParentID *uint
	Name      string
}

const cascadeDDL = `CREATE TABLE c_parents (id integer PRIMARY KEY, name text);
CREATE TABLE c_children (id integer PRIMARY KEY, c_parent_id integer REFERENCES c_parents (id) ON DELETE %s, name text)`

func TestCascadesDeclaredInSQLInvalidateChildren(t *testing.T) {
	for _, action := range []string{"CASCADE", "SET NULL"} {
		for _, via := range []string{"DDL run through GORM", "the catalog"} {
			t.Run(action+" from "+via, func(t *testing.T) {
				compare(t, compareOpts{}, func(t *testing.T, s *side) {}, func(t *testing.T, s *side) {
					db := s.q()
					for _, stmt := range splitStatements(fmt.Sprintf(cascadeDDL, action)) {
						if via == "the catalog" {
							_, err := s.sqlDB.Exec(stmt)
							require.NoError(t, err)
						} else {
							s.must(t, db.Exec(stmt))
						}
					}
					if via == "the catalog" {
						// A handle registered after the tables exist reads
						// their foreign keys from the catalog.
						_, h, _ := s.openHandle(t, s.plugin)
						db = h.WithContext(s.ctx)
					}
					s.must(t, db.Create(&CParent{ID: 1, Name: "p"}))
					one := uint(1)
					s.must(t, db.Create(&[]CChild{{ID: 1, CParentID: &one, Name: "a"}, {ID: 2, CParentID: &one, Name: "b"}}))
					readChildren(s, "before", db)
					s.see("delete the parent", db.Delete(&CParent{ID: 1}), nil)
					readChildren(s, "after", db)
				})
			})
		}
	}
}

func readChildren(s *side, step string, db *gorm.DB) {
	for _, id := range []uint{1, 2} {
		var c CChild
		s.see(fmt.Sprintf("%s: child %d", step, id), db.First(&c, id), c)
	}
	var cs []CChild
	s.see(step+": children", db.Find(&cs, []uint{1, 2}), cs)
}

func splitStatements(sql string) []string {
	var out []string
	for _, s := range strings.Split(sql, ";") {
		if strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	return out
}
