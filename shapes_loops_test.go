package prefetch_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// Loop shapes over a parent's collection: its latest row, its rows in one
// status, how many rows it has. Each is measured at the driver, plain GORM
// against the plugin, and compared with plain GORM's results.

type LCustomer struct {
	ID     uint
	Name   string
	Orders []LOrder
}

type LOrder struct {
	ID          uint
	LCustomerID uint
	Status      int
	Paid        bool
	Grade       *int
	Note        string
	DeletedAt   gorm.DeletedAt
}

// seedLoops creates n customers; customer i has i%4 orders (some none),
// statuses 0..2, paid on every other order, a NULL grade on every third, and
// one soft-deleted order per customer with three.
func seedLoops(t *testing.T, db *gorm.DB, n int) {
	t.Helper()
	require.NoError(t, db.AutoMigrate(&LCustomer{}, &LOrder{}))
	for i := 1; i <= n; i++ {
		c := LCustomer{Name: fmt.Sprintf("c%d", i)}
		require.NoError(t, db.Create(&c).Error)
		for j := 0; j < i%4; j++ {
			o := LOrder{LCustomerID: c.ID, Status: (i + j) % 3, Paid: j%2 == 0, Note: fmt.Sprintf("n%d", j)}
			if j%3 != 1 {
				r := i*10 + j
				o.Grade = &r
			}
			require.NoError(t, db.Create(&o).Error)
			if j == 2 {
				// Soft-deleted at a fixed time, so that both sides agree.
				at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
				require.NoError(t, db.Model(&o).Update("deleted_at", at).Error)
			}
		}
	}
}

// loopShapes are the per-parent statements measured, as code writes them.
var loopShapes = []struct {
	name string
	run  func(tx *gorm.DB, id uint) error
}{
	{"Order(id desc).First", func(tx *gorm.DB, id uint) error {
		var o LOrder
		return tx.Where("l_customer_id = ?", id).Order("id desc").First(&o).Error
	}},
	{"Order(table.id DESC).First", func(tx *gorm.DB, id uint) error {
		var o LOrder
		return tx.Where("l_customer_id = ?", id).Order(tableOf(tx, &LOrder{}) + ".id DESC").First(&o).Error
	}},
	{"Last", func(tx *gorm.DB, id uint) error {
		var o LOrder
		return tx.Where("l_customer_id = ?", id).Last(&o).Error
	}},
	{"Order(id).Take", func(tx *gorm.DB, id uint) error {
		var o LOrder
		return tx.Where("l_customer_id = ?", id).Order("id").Take(&o).Error
	}},
	{"status filter", func(tx *gorm.DB, id uint) error {
		var os []LOrder
		return tx.Where("l_customer_id = ? AND status = ?", id, 1).Find(&os).Error
	}},
	{"filter first, then the key", func(tx *gorm.DB, id uint) error {
		var os []LOrder
		return tx.Where("status IN ?", []int{0, 2}).Where("l_customer_id = ?", id).Find(&os).Error
	}},
	{"struct condition", func(tx *gorm.DB, id uint) error {
		var os []LOrder
		return tx.Where(&LOrder{LCustomerID: id, Status: 2}).Find(&os).Error
	}},
	{"boolean filter", func(tx *gorm.DB, id uint) error {
		var os []LOrder
		return tx.Where(map[string]any{"l_customer_id": id, "paid": true}).Find(&os).Error
	}},
	{"filter and latest", func(tx *gorm.DB, id uint) error {
		var o LOrder
		return tx.Where("l_customer_id = ? AND paid = ?", id, false).Order("id desc").First(&o).Error
	}},
	{"Association.Count", func(tx *gorm.DB, id uint) error {
		_, err := countOrders(tx, id)
		return err
	}},
	{"Model.Count", func(tx *gorm.DB, id uint) error {
		var n int64
		return tx.Model(&LOrder{}).Where("l_customer_id = ?", id).Count(&n).Error
	}},
}

func countOrders(tx *gorm.DB, id uint) (int64, error) {
	a := tx.Model(&LCustomer{ID: id}).Association("Orders")
	n := a.Count()
	return n, a.Error
}

func TestLoopShapesAreOneBatchLoad(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		seedLoops(t, e.plain, 10)
		t.Cleanup(func() { _ = e.plain.Migrator().DropTable(&LOrder{}, &LCustomer{}) })
		loop := func(tx *gorm.DB, run func(*gorm.DB, uint) error) {
			var cs []LCustomer
			require.NoError(t, tx.Order("id").Find(&cs).Error)
			for _, c := range cs {
				if err := run(tx, c.ID); err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
					t.Fatal(err)
				}
			}
		}
		for _, s := range loopShapes {
			t.Run(s.name, func(t *testing.T) {
				e.requireQueries(t, 11, func() { loop(e.plain, s.run) })
				_, tx := e.request()
				e.requireQueries(t, 2, func() { loop(tx, s.run) })
			})
		}
	})
}

// moreShapes are statements near the loop shapes that must give plain
// GORM's answers whether or not the plugin serves them.
var moreShapes = []struct {
	name  string
	fails bool // on some database: not run inside a transaction, which PostgreSQL would abort
	run   func(tx *gorm.DB, id uint) (any, error)
}{
	{"grade filter (NULLs)", false, func(tx *gorm.DB, id uint) (any, error) {
		var os []LOrder
		err := tx.Where("l_customer_id = ? AND grade IN ?", id, []int{int(id) * 10, int(id)*10 + 2}).Find(&os).Error
		return os, err
	}},
	{"grade IS NULL", false, func(tx *gorm.DB, id uint) (any, error) {
		var os []LOrder
		err := tx.Where(map[string]any{"l_customer_id": id, "grade": nil}).Order("id desc").Find(&os).Error
		return os, err
	}},
	{"unscoped latest", false, func(tx *gorm.DB, id uint) (any, error) {
		var o LOrder
		err := tx.Unscoped().Where("l_customer_id = ?", id).Order("id desc").First(&o).Error
		return o, err
	}},
	{"unscoped count", false, func(tx *gorm.DB, id uint) (any, error) {
		var n int64
		err := tx.Unscoped().Model(&LOrder{}).Where("l_customer_id = ? AND status = ?", id, 1).Count(&n).Error
		return n, err
	}},
	{"ties by status", false, func(tx *gorm.DB, id uint) (any, error) {
		var o LOrder
		err := tx.Where("l_customer_id = ?", id).Order("status desc, id").First(&o).Error
		return o, err
	}},
	{"key then an unknown column", true, func(tx *gorm.DB, id uint) (any, error) {
		var o LOrder
		err := tx.Where("l_customer_id = ?", id).Order("id desc, nosuch").First(&o).Error
		return o, err
	}},
	{"key desc NULLS LAST", false, func(tx *gorm.DB, id uint) (any, error) {
		var os []LOrder
		err := tx.Where("l_customer_id = ?", id).Order("id desc nulls last").Limit(2).Find(&os).Error
		return os, err
	}},
	{"text filter", false, func(tx *gorm.DB, id uint) (any, error) {
		var os []LOrder
		err := tx.Where("l_customer_id = ? AND note = ?", id, "n1").Find(&os).Error
		return os, err
	}},
	{"integer compared with a boolean", true, func(tx *gorm.DB, id uint) (any, error) {
		var os []LOrder
		err := tx.Where("l_customer_id = ? AND paid = ?", id, 1).Find(&os).Error
		return os, err
	}},
	{"count by keys", false, func(tx *gorm.DB, id uint) (any, error) {
		var n int64
		err := tx.Model(&LOrder{}).Where("id IN ?", []uint{id, id + 1, id + 40}).Count(&n).Error
		return n, err
	}},
	{"count with limit", false, func(tx *gorm.DB, id uint) (any, error) {
		var n int64
		err := tx.Model(&LOrder{}).Where("l_customer_id = ?", id).Limit(0).Count(&n).Error
		return n, err
	}},
	{"latest of two parents", false, func(tx *gorm.DB, id uint) (any, error) {
		var o LOrder
		err := tx.Where("l_customer_id IN ?", []uint{id, id + 1}).Order("id desc").First(&o).Error
		return o, err
	}},
}

func TestLoopShapesMatchPlainGORM(t *testing.T) {
	setup := func(t *testing.T, s *side) { seedLoops(t, s.db, 12) }
	compare(t, compareOpts{}, setup, func(t *testing.T, s *side) {
		pass := func(label string, tx *gorm.DB, inTx bool) {
			var cs []LCustomer
			s.see(label+" customers", tx.Order("id").Find(&cs), len(cs))
			for _, c := range cs {
				for _, sh := range loopShapes {
					var o LOrder
					var os []LOrder
					var val any
					err := sh.run(tx.Session(&gorm.Session{}), c.ID)
					// The shapes' own results, read again into values.
					switch {
					case sh.name == "Association.Count" || sh.name == "Model.Count":
						val, err = countOrders(tx, c.ID)
					case sh.name == "status filter":
						err = tx.Where("l_customer_id = ? AND status = ?", c.ID, 1).Find(&os).Error
						val = os
					default:
						val = o
					}
					s.seeErr(fmt.Sprintf("%s %s %d", label, sh.name, c.ID), err, val)
				}
				for _, sh := range moreShapes {
					if sh.fails && inTx {
						continue
					}
					val, err := sh.run(tx, c.ID)
					s.seeErr(fmt.Sprintf("%s %s %d", label, sh.name, c.ID), err, val)
				}
			}
		}
		pass("first", s.q(), false)
		// Writes between reads: a status change, a soft delete, a new
		// order, a hard delete, a grade set to NULL.
		s.must(t, s.q().Model(&LOrder{}).Where("id = ?", 2).Update("status", 1))
		s.must(t, s.q().Delete(&LOrder{}, 4))
		s.must(t, s.q().Create(&LOrder{LCustomerID: 3, Status: 1, Paid: true}))
		s.must(t, s.q().Unscoped().Delete(&LOrder{}, 5))
		s.must(t, s.q().Model(&LOrder{}).Where("id = ?", 6).Update("grade", nil))
		pass("after writes", s.q(), false)
		s.seeErr("transaction", s.q().Transaction(func(tx *gorm.DB) error {
			s.must(t, tx.Model(&LOrder{}).Where("id = ?", 7).Updates(map[string]any{"status": 2, "paid": false}))
			pass("in transaction", tx, true)
			s.must(t, tx.Create(&LOrder{LCustomerID: 5, Status: 2}))
			pass("in transaction after create", tx, true)
			return errors.New("roll back")
		}), nil)
		pass("after rollback", s.q(), false)
	})
}

// loopShapeOps are TestDifferential's steps for the loop shapes: a page of
// customers, then per customer its latest order, its orders of some
// amounts, and how many orders it has.
func loopShapeOps() []diffOp {
	page := func(d *diffDB) []DCustomer {
		var cs []DCustomer
		d.q().Order("id").Limit(12).Find(&cs)
		return cs
	}
	return []diffOp{
		{"latest per parent", 1, func(d *diffDB, r *rand.Rand) outcome {
			orders := []string{"id desc", "id", tableOf(d.db, &DOrder{}) + ".id DESC"}
			order := orders[r.IntN(len(orders))]
			var out []any
			for _, c := range page(d) {
				var o DOrder
				q := d.q().Where("d_customer_id = ?", c.ID).Order(order)
				if r.IntN(2) == 0 {
					out = append(out, outcomeOf(q.First(&o), o))
				} else {
					out = append(out, outcomeOf(q.Last(&o), o))
				}
			}
			return outcome{Val: out}
		}},
		{"filtered per parent", 1, func(d *diffDB, r *rand.Rand) outcome {
			var out []any
			for _, c := range page(d) {
				var os []DOrder
				amounts := []int{int(c.ID)*10 + r.IntN(3), r.IntN(300)}
				res := d.q().Where("amount IN ? AND d_customer_id = ?", amounts, c.ID).Find(&os)
				out = append(out, outcomeOf(res, sortByID(os, func(o DOrder) uint { return o.ID })))
			}
			return outcome{Val: out}
		}},
		{"count per parent", 1, func(d *diffDB, r *rand.Rand) outcome {
			var out []any
			for _, c := range page(d) {
				if r.IntN(2) == 0 {
					a := d.q().Model(&c).Association("Orders")
					out = append(out, a.Count(), a.Error == nil)
					continue
				}
				var n int64
				res := d.q().Model(&DOrder{}).Where(&DOrder{DCustomerID: c.ID, Amount: int(c.ID) * 10}).Count(&n)
				out = append(out, outcomeOf(res, n))
			}
			var n int64
			res := d.q().Model(&DCustomer{}).Where("id IN ?", []int{1 + r.IntN(34), 1 + r.IntN(34)}).Count(&n)
			return outcome{Val: append(out, outcomeOf(res, n))}
		}},
	}
}
