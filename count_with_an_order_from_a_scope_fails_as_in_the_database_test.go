package prefetch_test

import (
	"fmt"
	"testing"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Count removes the ORDER BY of the chain it is called on, but not one a
// scope adds: scopes run after, inside the query processor. PostgreSQL then
// refuses count(*) with ORDER BY id ("must appear in the GROUP BY clause");
// the statement must fail with the plugin too, not be answered from a
// cached collection.
func TestCountWithAnOrderFromAScopeFailsAsInTheDatabase(t *testing.T) {
	setup := func(t *testing.T, s *side) { seedLoops(t, s.db, 6) }
	newest := func(d *gorm.DB) *gorm.DB { return d.Order("id desc") }
	compare(t, compareOpts{}, setup, func(t *testing.T, s *side) {
		var cs []LCustomer
		s.see("customers", s.q().Order("id").Find(&cs), len(cs))
		for _, c := range cs {
			var os []LOrder
			s.see(fmt.Sprintf("orders %d", c.ID), s.q().Where("l_customer_id = ?", c.ID).Find(&os), len(os))
		}
		for _, c := range cs {
			var n int64
			s.see(fmt.Sprintf("count %d", c.ID), s.q().Model(&LOrder{}).Where("l_customer_id = ?", c.ID).Scopes(newest).Count(&n), n)
		}
	})
}

// A statement that selects count(*) and has an ORDER BY, built with Find
// into an *int64 (GORM's Count drops the ORDER BY; this does not), fails on
// PostgreSQL as well.
func TestCountStarWithOrderIntoAnInt64FailsAsInTheDatabase(t *testing.T) {
	setup := func(t *testing.T, s *side) { seedLoops(t, s.db, 6) }
	compare(t, compareOpts{}, setup, func(t *testing.T, s *side) {
		var cs []LCustomer
		s.see("customers", s.q().Order("id").Find(&cs), len(cs))
		for _, c := range cs {
			var os []LOrder
			s.see(fmt.Sprintf("orders %d", c.ID), s.q().Where("l_customer_id = ?", c.ID).Find(&os), len(os))
		}
		for _, c := range cs {
			var n int64
			res := s.q().Model(&LOrder{}).Clauses(clause.Select{Expression: clause.Expr{SQL: "count(*)"}}).
				Where("l_customer_id = ?", c.ID).Order("id").Find(&n)
			s.see(fmt.Sprintf("count %d", c.ID), res, n)
		}
	})
}
