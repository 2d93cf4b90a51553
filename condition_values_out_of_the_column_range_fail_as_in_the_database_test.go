package prefetch_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// A bound value that does not fit the column's type (70000 for a smallint,
// 2^40 for an integer) is refused by PostgreSQL's driver before the
// statement is sent: plain GORM returns that error. The plugin compares the
// value with cached rows and answers instead (shapes_loops.go filters,
// analyze.go intersected value sets).

type RangeCustomer struct {
	ID     int16
	Name   string
	Orders []RangeOrder
}

type RangeOrder struct {
	ID              int32
	RangeCustomerID int16
	Level           int16
	Rank            int32
	Paid            bool
}

func seedRange(t *testing.T, s *side) {
	t.Helper()
	require.NoError(t, s.db.AutoMigrate(&RangeCustomer{}, &RangeOrder{}))
	for i := 1; i <= 4; i++ {
		c := RangeCustomer{Name: fmt.Sprint("c", i)}
		s.must(t, s.db.Create(&c))
		for j := 0; j < 3; j++ {
			s.must(t, s.db.Create(&RangeOrder{RangeCustomerID: c.ID, Level: int16(j), Rank: int32(j), Paid: j%2 == 0}))
		}
	}
}

var outOfRangeShapes = []struct {
	name string
	run  func(tx *gorm.DB, id int16) (any, error)
}{
	{"filter beyond smallint", func(tx *gorm.DB, id int16) (any, error) {
		var os []RangeOrder
		err := tx.Where("range_customer_id = ? AND level = ?", id, 40000).Find(&os).Error
		return os, err
	}},
	{"filter list with a value beyond integer", func(tx *gorm.DB, id int16) (any, error) {
		var os []RangeOrder
		err := tx.Where("range_customer_id = ? AND rank IN ?", id, []int64{1, 1 << 40}).Find(&os).Error
		return os, err
	}},
	{"latest with a filter beyond smallint", func(tx *gorm.DB, id int16) (any, error) {
		var o RangeOrder
		err := tx.Where(map[string]any{"range_customer_id": id, "level": -40000}).Order("id desc").First(&o).Error
		return o, err
	}},
	{"count with a filter beyond smallint", func(tx *gorm.DB, id int16) (any, error) {
		var n int64
		err := tx.Model(&RangeOrder{}).Where(map[string]any{"range_customer_id": id, "level": 70000}).Count(&n).Error
		return n, err
	}},
	{"collection values intersected with one beyond smallint", func(tx *gorm.DB, id int16) (any, error) {
		var os []RangeOrder
		err := tx.Where("range_customer_id = ?", id).Where("range_customer_id IN ?", []int64{int64(id), 1 << 20}).Find(&os).Error
		return os, err
	}},
	{"keys intersected with one beyond integer", func(tx *gorm.DB, id int16) (any, error) {
		var os []RangeOrder
		err := tx.Where("id = ?", int32(id)).Where("id IN ?", []int64{int64(id), 1 << 40}).Find(&os).Error
		return os, err
	}},
}

func TestConditionValuesOutOfTheColumnRangeFailAsInTheDatabase(t *testing.T) {
	for _, sh := range outOfRangeShapes {
		t.Run(sh.name, func(t *testing.T) {
			compare(t, compareOpts{}, seedRange, func(t *testing.T, s *side) {
				var cs []RangeCustomer
				s.see("customers", s.q().Order("id").Find(&cs), len(cs))
				var os []RangeOrder
				s.see("orders", s.q().Order("id").Find(&os), len(os))
				for _, c := range cs {
					v, err := sh.run(s.q(), c.ID)
					s.seeErr(fmt.Sprint(sh.name, " ", c.ID), err, v)
				}
			})
		})
	}
}
