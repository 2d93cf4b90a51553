package prefetch_test

import (
	"cmp"
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// Row identity belongs to the table: two models on one table with different
// primary keys name different rows by the same value, and a write or an
// Invalidate through one reaches the rows read through the other.

// Account is keyed by id.
type Account struct {
	ID     uint
	Number int `gorm:"uniqueIndex"`
	Name   string
}

// AccountByNumber is a legacy model of the same table keyed by number.
type AccountByNumber struct {
	Number int `gorm:"primaryKey;autoIncrement:false"`
	ID     uint
	Name   string
}

func (AccountByNumber) TableName() string { return "accounts" }

// seedAccounts creates accounts 1..10 whose numbers run the other way
// (account 5 has number 6; number 5 is account 6).
func seedAccounts(t *testing.T, s *side) {
	s.must(t, s.db.Exec("DROP TABLE IF EXISTS accounts"))
	require.NoError(t, s.db.AutoMigrate(&Account{}))
	for id := 1; id <= 10; id++ {
		s.must(t, s.db.Create(&Account{ID: uint(id), Number: 11 - id, Name: fmt.Sprintf("account %d", id)}))
	}
}

func byAccountID(a, b Account) int                  { return cmp.Compare(a.ID, b.ID) }
func byAccountNumber(a, b AccountByNumber) int      { return cmp.Compare(a.Number, b.Number) }
func sorted[T any](xs []T, by func(a, b T) int) []T { slices.SortFunc(xs, by); return xs }

func TestTwoModelsOnOneTableNeverShareRows(t *testing.T) {
	firstByID := func(s *side, id int) {
		var a Account
		s.see(fmt.Sprintf("Account %d", id), s.q().First(&a, id), a)
	}
	firstByNumber := func(s *side, n int) {
		var a AccountByNumber
		s.see(fmt.Sprintf("AccountByNumber %d", n), s.q().First(&a, n), a)
	}
	cases := []struct {
		name string
		run  func(s *side)
	}{
		{"by id, then by number", func(s *side) { firstByID(s, 5); firstByNumber(s, 5) }},
		{"by number, then by id", func(s *side) { firstByNumber(s, 5); firstByID(s, 5) }},
		{"lists", func(s *side) {
			var as []Account
			s.see("Accounts 1-3", s.q().Find(&as, []int{1, 2, 3}), sorted(as, byAccountID))
			var bs []AccountByNumber
			s.see("AccountsByNumber 1-3", s.q().Find(&bs, []int{1, 2, 3}), sorted(bs, byAccountNumber))
		}},
		{"scope of one model, loop of the other", func(s *side) {
			var as []Account
			s.see("all Accounts", s.q().Order("id").Find(&as), as)
			for n := 1; n <= 10; n++ {
				firstByNumber(s, n)
			}
		}},
		{"a key only one model has", func(s *side) {
			// Number 0 names no account; id 10 does.
			firstByID(s, 10)
			firstByNumber(s, 0)
			firstByNumber(s, 10)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			compare(t, compareOpts{}, seedAccounts, func(t *testing.T, s *side) { tc.run(s) })
		})
	}
}

func TestWriteThroughOneModelReachesTheOther(t *testing.T) {
	cases := []struct {
		name  string
		read  func(s *side, step string)
		write func(s *side) *gorm.DB
	}{
		{"update by number, read by id", readAccount(3), func(s *side) *gorm.DB {
			return s.q().Model(&AccountByNumber{Number: 8}).Update("name", "renamed by number")
		}},
		{"update by id, read by number", readAccountByNumber(8), func(s *side) *gorm.DB {
			return s.q().Model(&Account{ID: 3}).Update("name", "renamed by id")
		}},
		{"delete by number, read by id", readAccount(3), func(s *side) *gorm.DB {
			return s.q().Delete(&AccountByNumber{Number: 8})
		}},
		{"save by number, read by id", readAccount(3), func(s *side) *gorm.DB {
			return s.q().Save(&AccountByNumber{Number: 8, ID: 3, Name: "saved by number"})
		}},
		{"create by number, read by id (absent before)", readAccount(42), func(s *side) *gorm.DB {
			return s.q().Create(&AccountByNumber{Number: 42, ID: 42, Name: "created by number"})
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			compare(t, compareOpts{}, seedAccounts, func(t *testing.T, s *side) {
				tc.read(s, "before")
				s.see("write", tc.write(s), nil)
				tc.read(s, "after")
			})
		})
	}
}

func readAccount(id int) func(s *side, step string) {
	return func(s *side, step string) {
		var a Account
		s.see(fmt.Sprintf("%s: Account %d", step, id), s.q().First(&a, id), a)
	}
}

func readAccountByNumber(n int) func(s *side, step string) {
	return func(s *side, step string) {
		var a AccountByNumber
		s.see(fmt.Sprintf("%s: AccountByNumber %d", step, n), s.q().First(&a, n), a)
	}
}

// Member has no TableName: Invalidate finds its table by its schema.
type Member struct {
	ID   uint
	Name string
}

// MemberCard reads the same table.
type MemberCard struct {
	ID   uint
	Name string
}

func (MemberCard) TableName() string { return "members" }

func TestInvalidateReachesRowsReadThroughAnotherModel(t *testing.T) {
	cases := []struct {
		name string
		ids  []any
	}{
		{"by key", []any{1}},
		{"whole table", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			setup := func(t *testing.T, s *side) {
				require.NoError(t, s.db.AutoMigrate(&Member{}))
				s.must(t, s.db.Create(&[]Member{{Name: "m1"}, {Name: "m2"}}))
			}
			compare(t, compareOpts{}, setup, func(t *testing.T, s *side) {
				var c MemberCard
				s.see("before", s.q().First(&c, 1), c)
				// A write the plugin cannot see, then the call that tells it.
				_, err := s.sqlDB.Exec("UPDATE members SET name = 'changed elsewhere' WHERE id = 1")
				require.NoError(t, err)
				invalidate(t, s.ctx, &Member{}, tc.ids...)
				c = MemberCard{}
				s.see("after Invalidate", s.q().First(&c, 1), c)
			})
		})
	}
}
