package prefetch_test

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// Load's fast path (load_fast.go) against GORM's preload: the same calls on
// plain GORM and with the plugin, once with the fast path on and once
// forced through GORM's preload, must observe the same records, field by
// field, down to which records share a pointer and the capacity of the
// slices preload makes.

type lfRegion struct {
	ID   uint
	Name string
}

type lfCustomer struct {
	ID        uint
	Name      string
	Email     *string
	Notes     []byte
	Score     float64
	Active    bool
	RegionID  *uint
	Region    *lfRegion
	Orders    []lfOrder   `gorm:"foreignKey:CustomerID"`
	Profile   *lfProfile  `gorm:"foreignKey:CustomerID"`
	Tickets   []*lfTicket `gorm:"foreignKey:CustomerID"`
	CreatedAt time.Time
	DeletedAt gorm.DeletedAt
}

type lfOrder struct {
	ID         uint
	CustomerID uint
	Customer   lfCustomer
	Amount     int
	Note       sql.NullString
	Hooked     []lfHooked `gorm:"foreignKey:OrderID"`
}

type lfProfile struct {
	ID         uint
	CustomerID uint
	Bio        string
}

type lfTicket struct {
	ID         uint
	CustomerID uint
	Title      string
	DeletedAt  gorm.DeletedAt
}

// lfHooked has an AfterFind hook: the fast path leaves it to GORM's
// preload unless hooks are skipped.
type lfHooked struct {
	ID      uint
	OrderID uint
	Seen    string `gorm:"-"`
}

func (h *lfHooked) AfterFind(tx *gorm.DB) error {
	h.Seen = fmt.Sprintf("after find %d", h.ID)
	return nil
}

// lfCode and lfItem: a text key.
type lfCode struct {
	Code  string `gorm:"primaryKey"`
	Label string
}

type lfItem struct {
	ID       uint
	CodeCode string
	Code     *lfCode `gorm:"foreignKey:CodeCode;references:Code"`
}

// lfPart has a composite key, and lfPartUse refers to it: two references,
// left to GORM's preload.
type lfPart struct {
	Maker string `gorm:"primaryKey"`
	No    int    `gorm:"primaryKey;autoIncrement:false"`
	Name  string
	Uses  []lfPartUse `gorm:"foreignKey:PartMaker,PartNo;references:Maker,No"`
}

type lfPartUse struct {
	ID        uint
	PartMaker string
	PartNo    int
	Where     string
}

var lfDay = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

func lfSeed(t *testing.T, s *side) {
	db := s.db.Session(&gorm.Session{})
	db.Config.DisableForeignKeyConstraintWhenMigrating = true // orders of missing customers
	require.NoError(t, db.AutoMigrate(&lfRegion{}, &lfCustomer{}, &lfOrder{}, &lfProfile{}, &lfTicket{}, &lfHooked{},
		&lfCode{}, &lfItem{}, &lfPart{}, &lfPartUse{}))
	s.must(t, db.Create([]lfRegion{{Name: "north"}, {Name: "south"}}))
	one, two := uint(1), uint(2)
	mail := "a@example.com"
	cs := []lfCustomer{
		{Name: "ann", Email: &mail, Notes: []byte("vip"), Score: 1.5, Active: true, RegionID: &one},
		{Name: "bob", RegionID: &two, Notes: []byte{}},
		{Name: "cid"},
		{Name: "dee (deleted)", RegionID: &one},
		{Name: "eve", Score: -2},
		{Name: "fay", RegionID: &two},
	}
	for i := range cs {
		cs[i].CreatedAt = lfDay.Add(time.Duration(i) * time.Hour)
	}
	s.must(t, db.Create(&cs))
	s.must(t, db.Model(&lfCustomer{}).Where("id = ?", 4).Update("deleted_at", lfDay))
	orders := []lfOrder{
		{CustomerID: 1, Amount: 10}, {CustomerID: 2, Amount: 20, Note: sql.NullString{String: "gift", Valid: true}},
		{CustomerID: 1, Amount: 30}, {CustomerID: 4, Amount: 40}, {CustomerID: 999, Amount: 50},
		{CustomerID: 0, Amount: 60}, {CustomerID: 5, Amount: 70}, {CustomerID: 2, Amount: 80},
	}
	s.must(t, db.Create(&orders))
	s.must(t, db.Create([]lfProfile{{CustomerID: 1, Bio: "first"}, {CustomerID: 3, Bio: "third"}, {CustomerID: 3, Bio: "third again"}}))
	s.must(t, db.Create([]lfTicket{{CustomerID: 1, Title: "t1"}, {CustomerID: 2, Title: "t2"}, {CustomerID: 1, Title: "t3"}}))
	s.must(t, db.Model(&lfTicket{}).Where("id = ?", 3).Update("deleted_at", lfDay))
	s.must(t, db.Create([]lfHooked{{OrderID: 1}, {OrderID: 1}, {OrderID: 2}}))
	s.must(t, db.Create([]lfCode{{Code: "a", Label: "alpha"}, {Code: "b", Label: "beta"}}))
	s.must(t, db.Create([]lfItem{{CodeCode: "a"}, {CodeCode: "b"}, {CodeCode: "a"}, {CodeCode: "zz"}}))
	s.must(t, db.Create([]lfPart{{Maker: "acme", No: 1, Name: "bolt"}, {Maker: "acme", No: 2, Name: "nut"}}))
	s.must(t, db.Create([]lfPartUse{{PartMaker: "acme", PartNo: 1, Where: "left"}, {PartMaker: "acme", PartNo: 1, Where: "right"}}))
}

// lfShape records what DeepEqual does not see: which records share the
// pointer of an association, and the length and capacity of slices.
func lfShape(records any, field string) []string {
	rv := reflect.Indirect(reflect.ValueOf(records))
	var out []string
	seen := map[uintptr]int{}
	for i := 0; i < rv.Len(); i++ {
		e := reflect.Indirect(rv.Index(i))
		if !e.IsValid() {
			out = append(out, "nil record")
			continue
		}
		f := e.FieldByName(field)
		switch f.Kind() {
		case reflect.Pointer:
			if f.IsNil() {
				out = append(out, "nil")
				continue
			}
			j, ok := seen[f.Pointer()]
			if !ok {
				j = i
				seen[f.Pointer()] = i
			}
			out = append(out, fmt.Sprintf("ptr of %d", j))
		case reflect.Slice:
			out = append(out, fmt.Sprintf("nil=%v len=%d cap=%d", f.IsNil(), f.Len(), f.Cap()))
		default:
			out = append(out, "value")
		}
	}
	return out
}

func lfScript(t *testing.T, s *side) {
	db := s.q()
	load := func(step string, db *gorm.DB, records any, field string, names ...string) {
		err := prefetch.Load(db, records, names...)
		s.seeErr(step, err, records)
		s.note(step+" shape", lfShape(records, field))
	}

	// Belongs-to over a slice: missing, soft-deleted and zero keys.
	var orders []lfOrder
	s.see("orders", db.Order("id").Find(&orders), nil)
	load("orders.Customer", db, &orders, "Customer", "Customer")
	load("orders.Customer again", db, &orders, "Customer", "Customer")

	// Each record alone, each association kind.
	var cs []lfCustomer
	s.see("customers", db.Order("id").Find(&cs), nil)
	for _, name := range []string{"Orders", "Profile", "Region", "Tickets"} {
		for i := range cs {
			err := prefetch.Load(db, &cs[i], name)
			s.seeErr(fmt.Sprintf("customer %d %s", cs[i].ID, name), err, nil)
		}
		s.note("customers "+name, cs)
		s.note("customers "+name+" shape", lfShape(&cs, name))
	}
	// And over the slice, loaded already.
	load("customers all", db, &cs, "Orders", "Orders", "Profile", "Region", "Tickets")

	// Pointers: nil elements, one record twice, records sharing a region.
	var ps []*lfCustomer
	s.see("customer pointers", db.Order("id").Find(&ps), nil)
	ps = append([]*lfCustomer{nil}, append(ps, ps[0], nil)...)
	load("pointers.Region", db, &ps, "Region", "Region")
	load("pointers.Tickets", db, &ps, "Tickets", "Tickets")

	// A zero key asks for nothing: the field is left as it was.
	o := lfOrder{ID: 6, Customer: lfCustomer{Name: "kept"}}
	s.seeErr("zero key", prefetch.Load(db, &o, "Customer"), o)
	// A record whose customer is missing: the field is emptied.
	o = lfOrder{ID: 5, CustomerID: 999, Customer: lfCustomer{Name: "dropped"}}
	s.seeErr("missing row", prefetch.Load(db, &o, "Customer"), o)

	// Unscoped: soft-deleted rows too.
	var os2 []lfOrder
	s.see("orders 2", db.Order("id").Find(&os2), nil)
	load("unscoped", db.Unscoped(), &os2, "Customer", "Customer")
	var cs2 []lfCustomer
	s.see("customers 2", db.Order("id").Find(&cs2), nil)
	load("unscoped tickets", db.Unscoped(), &cs2, "Tickets", "Tickets")

	// AfterFind hooks run as preload runs them; skipped hooks are skipped.
	var os3 []lfOrder
	s.see("orders 3", db.Order("id").Find(&os3), nil)
	for i := range os3 {
		s.seeErr("hooked", prefetch.Load(db, &os3[i], "Hooked"), os3[i].Hooked)
	}
	load("hooks skipped", db.Session(&gorm.Session{SkipHooks: true}), &os3, "Hooked", "Hooked")

	// A text key; a composite key.
	var items []lfItem
	s.see("items", db.Order("id").Find(&items), nil)
	for i := range items {
		s.seeErr("item code", prefetch.Load(db, &items[i], "Code"), items[i])
	}
	load("items codes", db, &items, "Code", "Code")
	var parts []lfPart
	s.see("parts", db.Order("no").Find(&parts), nil)
	load("parts uses", db, &parts, "Uses", "Uses")

	// Nested names and several names at once.
	var os4 []lfOrder
	s.see("orders 4", db.Order("id").Find(&os4), nil)
	load("nested", db, &os4, "Customer", "Customer.Region", "Customer.Orders", "Hooked")
	var cs3 []lfCustomer
	s.see("customers 3", db.Order("id").Find(&cs3), nil)
	load("three levels", db, &cs3, "Orders", "Orders.Customer.Region", "Orders.Hooked", "Profile", "Tickets")

	// Inside a transaction, and after a write.
	s.seeErr("transaction", db.Transaction(func(tx *gorm.DB) error {
		var os []lfOrder
		if err := tx.Order("id").Find(&os).Error; err != nil {
			return err
		}
		if err := tx.Model(&lfCustomer{}).Where("id = ?", 2).Update("name", "bob 2").Error; err != nil {
			return err
		}
		for i := range os {
			if err := prefetch.Load(tx, &os[i], "Customer"); err != nil {
				return err
			}
		}
		s.note("transaction orders", os)
		return nil
	}), nil)
	s.must(t, db.Model(&lfCustomer{}).Where("id = ?", 1).Update("name", "ann 2"))
	load("after a write", db, &orders, "Customer", "Customer")

	// Preload itself, for the record.
	var want []lfOrder
	s.see("preload", db.Preload("Customer").Order("id").Find(&want), want)
	s.note("load equals preload", reflect.DeepEqual(want, orders))
}

func TestLoadFastPathMatchesPreload(t *testing.T) {
	for _, slow := range []bool{false, true} {
		t.Run(fmt.Sprintf("slow=%v", slow), func(t *testing.T) {
			prefetch.ForceSlowLoad(slow)
			t.Cleanup(func() { prefetch.ForceSlowLoad(false) })
			compare(t, compareOpts{}, lfSeed, lfScript)
		})
	}
}

func TestLoadFastPathMatchesPreloadInStrictMode(t *testing.T) {
	compare(t, compareOpts{}, lfSeed, func(t *testing.T, s *side) {
		if s.plugin {
			s.ctx = prefetch.NewContext(context.Background(), prefetch.WithStrict())
		}
		lfScript(t, s)
	})
}

// TestLoadFastPathCountsWhatPreloadCounts runs the script on the plugin
// side twice, fast path on and off, with an Observer and with caches small
// enough to evict and batches small enough to split scopes: the records,
// the statements at the driver, the request's Stats and what the Observer
// was told must be the same.
func TestLoadFastPathCountsWhatPreloadCounts(t *testing.T) {
	for _, p := range []prefetch.Plugin{{}, {MaxRows: 4, BatchSize: 2}} {
		t.Run(fmt.Sprintf("MaxRows=%d,BatchSize=%d", p.MaxRows, p.BatchSize), func(t *testing.T) {
			forEachDB(t, "", func(t *testing.T, dialect string) {
				type run struct {
					obs     []observation
					queries []string
					stats   prefetch.Stats
					rec     *recorder
				}
				var runs []run
				for _, slow := range []bool{true, false} {
					prefetch.ForceSlowLoad(slow)
					rec := newRecorder()
					p := p
					p.Observer = rec
					s := openSide(t, dialect, true, compareOpts{plugin: p})
					lfSeed(t, s)
					s.ctx = prefetch.NewContext(context.Background())
					s.count.Reset()
					lfScript(t, s)
					runs = append(runs, run{obs: s.obs, queries: s.count.Log(), stats: prefetch.StatsOf(s.ctx), rec: rec})
				}
				prefetch.ForceSlowLoad(false)
				slow, fast := runs[0], runs[1]
				requireSameObservations(t, slow.obs, fast.obs, "Load fast path against GORM's preload")
				require.Equal(t, slow.queries, fast.queries, "statements at the driver")
				require.Equal(t, slow.stats, fast.stats, "Stats")
				require.Equal(t, slow.rec.served, fast.rec.served, "Observer: served")
				require.Equal(t, slow.rec.queried, fast.rec.queried, "Observer: queried")
				require.Equal(t, slow.rec.loads, fast.rec.loads, "Observer: batch loads")
				require.Equal(t, [2]int64{slow.rec.invalidations, slow.rec.evictions}, [2]int64{fast.rec.invalidations, fast.rec.evictions}, "Observer: drops")
			})
		})
	}
}
