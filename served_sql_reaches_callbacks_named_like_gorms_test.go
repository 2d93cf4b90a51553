package prefetch_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/gorm-prefetch/prefetch"

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

// A callback under a gorm:* name that builds the SQL itself when it finds
// none (callbacks.BuildQuerySQL, a no-op on plain GORM, which built it
// already) appends the bound values to the served statement's Vars, which
// hold the plugin's shared servedVars mark: two goroutines serving reads
// write the same backing array (a data race under -race), and the
// values one goroutine's statement shows may be another's. It fails under
// -race only (the project's test runs use -race).
func TestCallbackBuildingTheSQLOfAServedStatementSharesNoMemory(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		e.seed(t, 4, 1)
		require.NoError(t, e.db.Callback().Query().After("gorm:query").Register("gorm:audit", func(tx *gorm.DB) {
			if tx.Statement.SQL.Len() == 0 {
				callbacks.BuildQuerySQL(tx)
			}
		}))
		_, db := e.request()
		var all []Order
		require.NoError(t, db.Find(&all).Error)
		var wg sync.WaitGroup
		for g := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 200 {
					var o Order
					id := all[(g+i)%len(all)].ID
					if err := db.First(&o, id).Error; err != nil || o.ID != id {
						t.Errorf("First(%d): %v, got %d", id, err, o.ID)
						return
					}
				}
			}()
		}
		wg.Wait()
	})
}

// Another plugin's callback registered After("*") once prefetch is in use
// runs after prefetch:mark_served, which has already put the served mark
// before the SQL: the callback reads "/* prefetch: served ... */ SELECT ..."
// where plain GORM shows it the SELECT.
func TestLastCallbackOfAnotherPluginSeesTheSQLPlainGORMBuilt(t *testing.T) {
	traced := map[*side]*[]string{}
	compare(t, compareOpts{}, func(t *testing.T, s *side) {
		require.NoError(t, s.db.AutoMigrate(&Customer{}, &Order{}))
		s.must(t, s.db.Create(&[]Customer{{Name: "a"}, {Name: "b"}}))
		s.must(t, s.db.Create(&[]Order{{CustomerID: 1}, {CustomerID: 2}}))
		sqls := new([]string)
		traced[s] = sqls
		require.NoError(t, s.db.Callback().Query().After("*").Register("metrics:last", func(tx *gorm.DB) {
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
