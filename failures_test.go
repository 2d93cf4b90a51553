package prefetch_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// Failures stay failures: a cancelled or expired context fails as it does
// without the plugin, and a statement the database rejects (more bind
// variables than it accepts) is rejected with the plugin too, however much
// of its answer is cached.

func setupDCustomers(t *testing.T, s *side) {
	require.NoError(t, s.db.AutoMigrate(&DCustomer{}, &DOrder{}))
	for i := 1; i <= 6; i++ {
		c := DCustomer{Name: fmt.Sprintf("c%d", i), Score: i}
		s.must(t, s.db.Create(&c))
		for j := 0; j < i%3; j++ {
			s.must(t, s.db.Create(&DOrder{DCustomerID: c.ID, Amount: i*10 + j}))
		}
	}
}

func TestDoneContextsFailAsWithoutThePlugin(t *testing.T) {
	reads := []struct {
		name string
		run  func(s *side, step string, db *gorm.DB)
	}{
		{"First", func(s *side, step string, db *gorm.DB) {
			var c DCustomer
			s.see(step, db.First(&c, 2), c)
		}},
		{"Take", func(s *side, step string, db *gorm.DB) {
			var c DCustomer
			s.see(step, db.Take(&c, "id = ?", 2), c)
		}},
		{"Find by keys", func(s *side, step string, db *gorm.DB) {
			var cs []DCustomer
			s.see(step, db.Find(&cs, []int{1, 2, 3}), sortByID(cs, func(c DCustomer) uint { return c.ID }))
		}},
		{"a key with no row", func(s *side, step string, db *gorm.DB) {
			var c DCustomer
			s.see(step, db.Unscoped().First(&c, 99), c)
		}},
		{"Preload", func(s *side, step string, db *gorm.DB) {
			var os []DOrder
			s.see(step, db.Preload("DCustomer").Find(&os, []int{1, 2}), sortByID(os, func(o DOrder) uint { return o.ID }))
		}},
		{"Association Find", func(s *side, step string, db *gorm.DB) {
			var os []DOrder
			err := db.Model(&DCustomer{ID: 2}).Association("Orders").Find(&os)
			s.seeErr(step, err, sortByID(os, func(o DOrder) uint { return o.ID }))
		}},
	}
	dones := []struct {
		name string
		ctx  func(parent context.Context) context.Context
	}{
		{"cancelled", func(parent context.Context) context.Context {
			ctx, cancel := context.WithCancel(parent)
			cancel()
			return ctx
		}},
		{"expired", func(parent context.Context) context.Context {
			ctx, cancel := context.WithDeadline(parent, time.Now().Add(-time.Second))
			cancel() // the deadline has passed already: Err stays DeadlineExceeded
			return ctx
		}},
	}
	for _, d := range dones {
		for _, r := range reads {
			t.Run(d.name+"/"+r.name, func(t *testing.T) {
				compare(t, compareOpts{}, setupDCustomers, func(t *testing.T, s *side) {
					r.run(s, "live context", s.q())
					r.run(s, "done context", s.db.WithContext(d.ctx(s.ctx)))
					r.run(s, "live context again", s.q())
				})
			})
		}
	}
}

func TestStatementsPastTheBindLimitAreRejected(t *testing.T) {
	limit := map[string]int{"sqlite": 32766, "postgres": 65535}
	cases := []struct {
		name string
		ids  func(n int) []int
	}{
		{"distinct keys, all cached", func(n int) []int {
			ids := make([]int, n)
			for i := range ids {
				ids[i] = i + 1
			}
			return ids
		}},
		{"three keys repeated", func(n int) []int {
			ids := make([]int, n)
			for i := range ids {
				ids[i] = i%3 + 1
			}
			return ids
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			compare(t, compareOpts{}, setupDCustomers, func(t *testing.T, s *side) {
				ids := tc.ids(limit[s.dialect] + 1)
				// Cache every key first, in lists the database accepts
				// (Unscoped: keys with no row are cached as absent).
				distinct := slices.Compact(slices.Sorted(slices.Values(ids)))
				for chunk := range slices.Chunk(distinct, 10000) {
					var cs []DCustomer
					s.see("warm", s.q().Unscoped().Find(&cs, chunk), len(cs))
				}
				var cs []DCustomer
				res := s.q().Unscoped().Find(&cs, ids)
				s.see("past the limit", res, len(cs))
			})
		})
	}
}
