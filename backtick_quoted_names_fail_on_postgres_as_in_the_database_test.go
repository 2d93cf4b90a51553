package prefetch_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// PostgreSQL does not accept MySQL's backtick quotes: a raw ORDER BY or
// condition naming a column as `id` is a syntax error there, which plain
// GORM returns. The plugin reads the name as the column (where.go unquote,
// used by shapes_loops.go orderItems and by exprTerm) and answers from the
// cache.

type TickCustomer struct {
	ID     uint
	Name   string
	Orders []TickOrder
}

type TickOrder struct {
	ID             uint
	TickCustomerID uint
	Status         int
}

func seedTicks(t *testing.T, s *side) {
	t.Helper()
	require.NoError(t, s.db.AutoMigrate(&TickCustomer{}, &TickOrder{}))
	for i := 1; i <= 4; i++ {
		c := TickCustomer{Name: fmt.Sprint("c", i)}
		s.must(t, s.db.Create(&c))
		for j := 0; j < 3; j++ {
			s.must(t, s.db.Create(&TickOrder{TickCustomerID: c.ID, Status: j}))
		}
	}
}

var backtickShapes = []struct {
	name string
	run  func(tx *gorm.DB, id uint) (any, error)
}{
	{"latest by a backtick-quoted key", func(tx *gorm.DB, id uint) (any, error) {
		var o TickOrder
		err := tx.Where("tick_customer_id = ?", id).Order("`id` desc").First(&o).Error
		return o, err
	}},
	{"collection ordered by a backtick-quoted, qualified key", func(tx *gorm.DB, id uint) (any, error) {
		var os []TickOrder
		err := tx.Where("tick_customer_id = ?", id).Order("`tick_orders`.`id`").Find(&os).Error
		return os, err
	}},
	{"filter on a backtick-quoted column", func(tx *gorm.DB, id uint) (any, error) {
		var os []TickOrder
		err := tx.Where("tick_customer_id = ?", id).Where("`status` = ?", 1).Find(&os).Error
		return os, err
	}},
	{"collection by a backtick-quoted column", func(tx *gorm.DB, id uint) (any, error) {
		var os []TickOrder
		err := tx.Where("`tick_customer_id` = ?", id).Find(&os).Error
		return os, err
	}},
	{"count by a backtick-quoted column", func(tx *gorm.DB, id uint) (any, error) {
		var n int64
		err := tx.Model(&TickOrder{}).Where("`tick_customer_id` = ?", id).Count(&n).Error
		return n, err
	}},
}

func TestBacktickQuotedNamesFailOnPostgresAsInTheDatabase(t *testing.T) {
	for _, sh := range backtickShapes {
		t.Run(sh.name, func(t *testing.T) {
			compare(t, compareOpts{}, seedTicks, func(t *testing.T, s *side) {
				var cs []TickCustomer
				s.see("customers", s.q().Order("id").Find(&cs), len(cs))
				var os []TickOrder
				s.see("orders", s.q().Order("id").Find(&os), len(os))
				for _, c := range cs {
					v, err := sh.run(s.q(), c.ID)
					s.seeErr(fmt.Sprint(sh.name, " ", c.ID), err, v)
				}
			})
		})
	}
}
