package prefetch_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
	"gorm.io/gorm/callbacks"
)

// Review of the fast path (issue 8): observe.go decides whether someone may
// read a served statement's SQL from the names of the query chain's
// callbacks, and counts every name starting with "gorm:" as GORM's own. A
// user's callback registered under such a name, or one that replaces a GORM
// callback (gorm:after_query wrapped to audit reads), reads
// tx.Statement.SQL as another plugin's would: plain GORM shows it the SQL
// it ran, the plugin an empty string.

func TestCallbackRegisteredUnderAGormNameSeesTheSQLPlainGORMBuilt(t *testing.T) {
	traced := map[*side]*[]string{}
	compare(t, compareOpts{}, func(t *testing.T, s *side) {
		require.NoError(t, s.db.AutoMigrate(&Customer{}, &Order{}))
		s.must(t, s.db.Create(&[]Customer{{Name: "a"}, {Name: "b"}}))
		s.must(t, s.db.Create(&[]Order{{CustomerID: 1}, {CustomerID: 2}}))
		sqls := new([]string)
		traced[s] = sqls
		require.NoError(t, s.db.Callback().Query().After("gorm:query").Register("gorm:audit", func(tx *gorm.DB) {
			*sqls = append(*sqls, fmt.Sprintf("%s %v", tx.Statement.SQL.String(), tx.Statement.Vars))
		}))
	}, func(t *testing.T, s *side) {
		var all []Order
		s.see("all", s.q().Find(&all), len(all))
		var o Order
		s.see("served", s.q().First(&o, 2), o.CustomerID)
		s.note("traced", *traced[s])
	})
}

func TestReplacedAfterQueryCallbackSeesTheSQLPlainGORMBuilt(t *testing.T) {
	traced := map[*side]*[]string{}
	compare(t, compareOpts{}, func(t *testing.T, s *side) {
		require.NoError(t, s.db.AutoMigrate(&Customer{}, &Order{}))
		s.must(t, s.db.Create(&[]Customer{{Name: "a"}, {Name: "b"}}))
		s.must(t, s.db.Create(&[]Order{{CustomerID: 1}, {CustomerID: 2}}))
		sqls := new([]string)
		traced[s] = sqls
		require.NoError(t, s.db.Callback().Query().Replace("gorm:after_query", func(tx *gorm.DB) {
			*sqls = append(*sqls, fmt.Sprintf("%s %v", tx.Statement.SQL.String(), tx.Statement.Vars))
			callbacks.AfterQuery(tx)
		}))
	}, func(t *testing.T, s *side) {
		var all []Order
		s.see("all", s.q().Find(&all), len(all))
		var o Order
		s.see("served", s.q().First(&o, 2), o.CustomerID)
		s.note("traced", *traced[s])
	})
}
