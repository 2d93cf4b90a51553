package prefetch_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/gorm-prefetch/prefetch"
	"gorm.io/gorm"
)

// warmUp runs fn in a request of its own, uncounted and unobserved: what
// the plugin learns there about the tables, later requests know.
func warmUp(s *side, fn func(db *gorm.DB)) {
	ctx := context.Background()
	if s.plugin {
		ctx = prefetch.NewContext(ctx)
	}
	fn(s.db.WithContext(ctx))
}

// AdvTextCust keeps integer ids in a text column (a legacy table); orders
// refer to it by integer.
type AdvTextCust struct {
	ID   int `gorm:"primaryKey;autoIncrement:false"`
	Name string
}

func (AdvTextCust) TableName() string { return "adv_text_custs" }

type AdvTextOrder struct {
	ID            uint `gorm:"primaryKey;autoIncrement:false"`
	AdvTextCustID int
	AdvTextCust   AdvTextCust
}

func (AdvTextOrder) TableName() string { return "adv_text_orders" }

// The first lookup of an N+1 loop loads the customers of every order in
// one batch. When that batch shows the table cannot be served (its key
// column holds text), that lookup still goes to the database: the first
// time the process meets such a table costs one query more (a documented
// exception). From then on the plugin knows, in every request: the loop
// costs what it costs without the plugin.
func TestALoopOverATableOfTextKeysNeverCostsMoreQueries(t *testing.T) {
	compareCounts(t, compareOpts{}, func(t *testing.T, s *side) {
		s.must(t, s.db.Exec("CREATE TABLE adv_text_custs (id varchar(10) PRIMARY KEY, name text)"))
		s.must(t, s.db.Exec("CREATE TABLE adv_text_orders (id integer PRIMARY KEY, adv_text_cust_id integer)"))
		s.must(t, s.db.Exec("INSERT INTO adv_text_custs VALUES ('1', 'one'), ('2', 'two'), ('3', 'three')"))
		s.must(t, s.db.Exec("INSERT INTO adv_text_orders VALUES (1, 1), (2, 2), (3, 3)"))
	}, func(t *testing.T, s *side) {
		warmUp(s, func(db *gorm.DB) {
			var os []AdvTextOrder
			db.Find(&os)
			for _, o := range os {
				db.First(&AdvTextCust{}, o.AdvTextCustID)
			}
		})
		var os []AdvTextOrder
		s.counted("orders", func() { s.see("orders", s.q().Order("id").Find(&os), os) })
		for _, o := range os {
			var c AdvTextCust
			s.counted(fmt.Sprint("customer of order ", o.ID), func() {
				s.see(fmt.Sprint("customer of order ", o.ID), s.q().First(&c, o.AdvTextCustID), c)
			})
		}
	})
}

// AdvDupCust is a table without a primary key constraint whose ids repeat.
type AdvDupCust struct {
	ID   uint `gorm:"primaryKey;autoIncrement:false"`
	Name string
}

func (AdvDupCust) TableName() string { return "adv_dup_custs" }

type AdvDupOrder struct {
	ID           uint `gorm:"primaryKey;autoIncrement:false"`
	AdvDupCustID uint
	AdvDupCust   AdvDupCust
}

func (AdvDupOrder) TableName() string { return "adv_dup_orders" }

// Same, when the batch shows that the model's key repeats in the table.
func TestALoopOverATableWhoseKeysRepeatNeverCostsMoreQueries(t *testing.T) {
	compareCounts(t, compareOpts{}, func(t *testing.T, s *side) {
		s.must(t, s.db.Exec("CREATE TABLE adv_dup_custs (id integer, name text)"))
		s.must(t, s.db.Exec("CREATE TABLE adv_dup_orders (id integer PRIMARY KEY, adv_dup_cust_id integer)"))
		s.must(t, s.db.Exec("INSERT INTO adv_dup_custs VALUES (1, 'one'), (2, 'two'), (2, 'two again')"))
		s.must(t, s.db.Exec("INSERT INTO adv_dup_orders VALUES (1, 1), (2, 2)"))
	}, func(t *testing.T, s *side) {
		warmUp(s, func(db *gorm.DB) {
			var os []AdvDupOrder
			db.Find(&os)
			for _, o := range os {
				db.Where("id = ?", o.AdvDupCustID).Order("name").First(&AdvDupCust{})
			}
		})
		var os []AdvDupOrder
		s.counted("orders", func() { s.see("orders", s.q().Order("id").Find(&os), os) })
		for _, o := range os {
			var c AdvDupCust
			s.counted(fmt.Sprint("customer of order ", o.ID), func() {
				res := s.q().Where("id = ?", o.AdvDupCustID).Order("name").First(&c)
				s.see(fmt.Sprint("customer of order ", o.ID), res, c)
			})
		}
	})
}
