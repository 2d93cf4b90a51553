package prefetch_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// Prime puts rows the caller holds into the request cache. What it stores
// must be what the database would return: a later statement answered from
// primed rows must return what plain GORM returns.

// primeOn primes records through db on the plugin side only (plain GORM
// has no Prime).
func (s *side) primeOn(t *testing.T, db *gorm.DB, records any) {
	t.Helper()
	if s.plugin {
		require.NoError(t, prefetch.Prime(db, records))
	}
}

// readWholeElsewhere reads the table whole in the request, then drops its
// rows: SELECT *'s column list is known to the request cache, and what a
// later statement gets comes from what Prime stored.
func (s *side) readWholeElsewhere(t *testing.T, dest any) {
	t.Helper()
	s.must(t, s.q().Find(dest))
	if s.plugin {
		require.NoError(t, prefetch.Invalidate(s.ctx, dest))
	}
}

// A model field the table has no column for (gorm:"-:migration") holds
// its zero value in the caller's records. Selecting that column fails at
// the database: primed rows must not answer it.
func TestPrimedRowsNeverHideAColumnTheTableLacks(t *testing.T) {
	compare(t, compareOpts{}, setupAdvItems, func(t *testing.T, s *side) {
		var held []AdvItemWithExtra
		s.must(t, s.q().Find(&held))
		var fresh []AdvItemWithExtra
		s.readWholeElsewhere(t, &fresh)
		s.primeOn(t, s.q(), held)
		var x AdvItemWithExtra
		res := s.q().Select("id", "extra").First(&x, 1)
		s.see("item 1 with the column the table lacks", res, x)
	})
}

// A NULL read into a plain string comes back as "": the caller's record
// cannot tell NULL from the empty string, so Prime must not store "".
func TestPrimedZeroValuesNeverStandForNULL(t *testing.T) {
	compare(t, compareOpts{}, func(t *testing.T, s *side) {
		setupAdvItems(t, s)
		s.must(t, s.db.Exec("UPDATE adv_items SET name = NULL WHERE id = 1"))
	}, func(t *testing.T, s *side) {
		var warm []AdvItem
		s.readWholeElsewhere(t, &warm)
		var held []AdvItem
		s.must(t, s.db.WithContext(context.Background()).Raw("SELECT * FROM adv_items").Scan(&held))
		s.primeOn(t, s.q(), held)
		var x AdvItem
		s.see("item 1 whose name is NULL", s.q().Where(map[string]any{"name": nil}).First(&x, 1), x)
		var y AdvItemNullable
		s.see("item 1 through a model with a nullable name", s.q().First(&y, 1), y.Name == nil)
	})
}

// AdvItemNullable is AdvItem with a name that can be NULL.
type AdvItemNullable struct {
	ID   uint `gorm:"primaryKey;autoIncrement:false"`
	Grp  int
	Name *string
}

func (AdvItemNullable) TableName() string { return "adv_items" }

// AdvWriteOnly has a column GORM writes but never reads (a password hash):
// records read through it hold its zero value, whatever the database holds.
type AdvWriteOnly struct {
	ID     uint `gorm:"primaryKey;autoIncrement:false"`
	Name   string
	Secret string `gorm:"->:false;<-:create"`
}

func (AdvWriteOnly) TableName() string { return "adv_write_only" }

// AdvWriteOnlyAdmin reads the same table with the column readable.
type AdvWriteOnlyAdmin struct {
	ID     uint `gorm:"primaryKey;autoIncrement:false"`
	Name   string
	Secret string
}

func (AdvWriteOnlyAdmin) TableName() string { return "adv_write_only" }

func TestPrimeNeverStoresColumnsTheModelDoesNotRead(t *testing.T) {
	compare(t, compareOpts{}, func(t *testing.T, s *side) {
		require.NoError(t, s.db.AutoMigrate(&AdvWriteOnlyAdmin{}))
		s.must(t, s.db.Create(&AdvWriteOnly{ID: 1, Name: "ann", Secret: "hash-of-ann"}))
	}, func(t *testing.T, s *side) {
		var warm []AdvWriteOnlyAdmin
		s.readWholeElsewhere(t, &warm)
		var held []AdvWriteOnly
		s.must(t, s.db.WithContext(context.Background()).Find(&held))
		s.primeOn(t, s.q(), held)
		var admin AdvWriteOnlyAdmin
		s.see("the secret, read by a model that reads it", s.q().First(&admin, 1), admin)
	})
}

// Rows read inside a transaction hold what the transaction wrote, which
// nobody else sees until it commits. Primed through the transaction, they
// must not answer reads made outside it.
func TestRowsPrimedInATransactionNeverReachReadsOutsideIt(t *testing.T) {
	compare(t, compareOpts{}, setupAdvItems, func(t *testing.T, s *side) {
		var warm []AdvItem
		s.readWholeElsewhere(t, &warm)
		err := s.q().Transaction(func(tx *gorm.DB) error {
			s.must(t, tx.Model(&AdvItem{ID: 1}).Update("name", "written inside"))
			var in AdvItem
			s.see("inside", tx.First(&in, 1), in)
			s.primeOn(t, tx, &in)
			var out AdvItem
			s.see("outside, while the transaction is open", s.q().First(&out, 1), out)
			return errors.New("roll back")
		})
		s.seeErr("transaction", err, nil)
		var after AdvItem
		s.see("after the rollback", s.q().First(&after, 1), after)
	})
}

// A legacy table keeps integer ids in a text column: the database sorts
// them as text. A request that learnt it (by reading the table) never
// serves it; a request primed with its rows must not either.
func TestPrimedRowsOfATableOfTextKeysAreNeverServed(t *testing.T) {
	compare(t, compareOpts{}, func(t *testing.T, s *side) {
		s.must(t, s.db.Exec("CREATE TABLE adv_legacy (id varchar(10) PRIMARY KEY, name text)"))
		s.must(t, s.db.Exec("INSERT INTO adv_legacy VALUES ('9', 'nine'), ('10', 'ten')"))
	}, func(t *testing.T, s *side) {
		var held []AdvLegacy
		s.readWholeElsewhere(t, &held)
		s.primeOn(t, s.q(), held)
		var xs []AdvLegacy
		s.see("ordered by id", s.q().Order("id").Find(&xs, []string{"9", "10"}), xs)
	})
}

// Rows read from another table than the model's (an archive with the
// same columns), primed through a handle naming that table, must not
// answer reads of the model's own table.
func TestRowsPrimedFromAnotherTableNeverAnswerTheModelsTable(t *testing.T) {
	compare(t, compareOpts{}, func(t *testing.T, s *side) {
		setupAdvItems(t, s)
		s.must(t, s.db.Exec("CREATE TABLE adv_items_archive AS SELECT * FROM adv_items"))
		s.must(t, s.db.Exec("UPDATE adv_items_archive SET name = 'archived'"))
	}, func(t *testing.T, s *side) {
		var warm []AdvItem
		s.readWholeElsewhere(t, &warm)
		archive := s.q().Table("adv_items_archive")
		var held []AdvItem
		s.must(t, archive.Find(&held))
		s.primeOn(t, s.q().Table("adv_items_archive"), held)
		var x AdvItem
		s.see("item 1 of the live table", s.q().First(&x, 1), x)
	})
}
