package prefetch_test

import (
	"fmt"
	"testing"

	"gorm.io/gorm"
)

// AdvAudited records, from its AfterFind hook, the SQL of the statement
// that read it (an audit trail, a tracing hook).
type AdvAudited struct {
	ID   uint `gorm:"primaryKey;autoIncrement:false"`
	Name string
	sql  string
}

func (AdvAudited) TableName() string { return "adv_audited" }

func (a *AdvAudited) AfterFind(tx *gorm.DB) error {
	a.sql = tx.Statement.SQL.String()
	return nil
}

// A hook that reads the statement's SQL sees the SQL GORM built, whether
// the row came from the database or from the request cache: the comment
// that marks served statements for the logger is not part of it.
func TestHooksSeeTheStatementPlainGORMBuilt(t *testing.T) {
	compare(t, compareOpts{}, func(t *testing.T, s *side) {
		s.must(t, s.db.Exec("CREATE TABLE adv_audited (id integer PRIMARY KEY, name text)"))
		s.must(t, s.db.Exec("INSERT INTO adv_audited VALUES (1, 'one'), (2, 'two')"))
	}, func(t *testing.T, s *side) {
		for i := range 2 {
			var a AdvAudited
			res := s.q().First(&a, 1)
			s.see(fmt.Sprint("item 1, read ", i), res, a.sql)
		}
	})
}
