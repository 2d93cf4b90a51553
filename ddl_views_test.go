package prefetch_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// Views and DDL: a view shows its base tables' rows, so what was read
// through it is stale once they change; a write through an updatable view
// changes its base table; DDL changes what a SELECT returns (new columns,
// a new view definition, a temporary table shadowing a table); TRUNCATE ...
// CASCADE empties every table that references the truncated one.

// Ledger is a base table.
type Ledger struct {
	ID      uint
	Balance int
	Name    string
}

// RichLedger reads the view of ledgers with a balance over 100.
type RichLedger struct {
	ID      uint
	Balance int
	Name    string
}

func (RichLedger) TableName() string { return "rich_ledgers" }

// LedgerWithNote reads ledgers once a note column has been added.
type LedgerWithNote struct {
	ID      uint
	Balance int
	Name    string
	Note    string `gorm:"default:n"`
}

func (LedgerWithNote) TableName() string { return "ledgers" }

// LedgerEntry references ledgers through a foreign key declared in SQL only.
type LedgerEntry struct {
	ID       uint
	LedgerID uint
	Amount   int
}

const richView = "CREATE VIEW rich_ledgers AS SELECT id, balance, name FROM ledgers WHERE balance > 100"

// setupLedgers creates ledgers 1-3 (balances 150, 250, 50), the view, an
// INSTEAD OF trigger that makes it updatable on SQLite (PostgreSQL updates
// a simple view by itself), and ledger entries referencing ledgers.
func setupLedgers(t *testing.T, s *side) {
	require.NoError(t, s.db.AutoMigrate(&Ledger{}))
	s.must(t, s.db.Create(&[]Ledger{{Balance: 150, Name: "a"}, {Balance: 250, Name: "b"}, {Balance: 50, Name: "c"}}))
	s.must(t, s.db.Exec(richView))
	if s.dialect == "sqlite" {
		s.must(t, s.db.Exec(`CREATE TRIGGER rich_ledgers_update INSTEAD OF UPDATE ON rich_ledgers BEGIN
			UPDATE ledgers SET balance = NEW.balance, name = NEW.name WHERE id = OLD.id; END`))
	}
	s.must(t, s.db.Exec("CREATE TABLE ledger_entries (id integer PRIMARY KEY, ledger_id integer REFERENCES ledgers (id), amount integer)"))
	s.must(t, s.db.Exec("INSERT INTO ledger_entries VALUES (1, 1, 10), (2, 1, 20), (3, 2, 30)"))
}

func readLedger(s *side, step string, db *gorm.DB, id int) {
	var l Ledger
	s.see(step, db.First(&l, id), l)
}

func readRich(s *side, step string, db *gorm.DB, id int) {
	var l RichLedger
	s.see(step, db.First(&l, id), l)
}

func TestViewsAndDDLNeverServeStaleRows(t *testing.T) {
	cases := []struct {
		name string
		opts compareOpts
		run  func(t *testing.T, s *side)
	}{
		{"a view after its base table is updated", compareOpts{}, func(t *testing.T, s *side) {
			readRich(s, "through the view", s.q(), 1)
			readRich(s, "through the view, 2", s.q(), 2)
			s.see("update the base table", s.q().Model(&Ledger{ID: 1}).Update("balance", 10), nil)
			s.see("update the base table, 2", s.q().Model(&Ledger{ID: 2}).Update("name", "renamed"), nil)
			readRich(s, "through the view after", s.q(), 1)
			readRich(s, "through the view after, 2", s.q(), 2)
		}},
		{"a view known from the catalog", compareOpts{}, func(t *testing.T, s *side) {
			// The view exists before this handle is opened: the plugin must
			// know it from the catalog.
			_, h, _ := s.openHandle(t, s.plugin)
			db := h.WithContext(s.ctx)
			readRich(s, "through the view", db, 1)
			s.see("update the base table", db.Model(&Ledger{ID: 1}).Update("balance", 10), nil)
			readRich(s, "through the view after", db, 1)
		}},
		{"a write through an updatable view", compareOpts{}, func(t *testing.T, s *side) {
			readLedger(s, "base row", s.q(), 2)
			readRich(s, "view row", s.q(), 2)
			s.see("update through the view", s.q().Model(&RichLedger{ID: 2}).Update("name", "via the view"), nil)
			readLedger(s, "base row after", s.q(), 2)
			readRich(s, "view row after", s.q(), 2)
		}},
		{"the view replaced", compareOpts{}, func(t *testing.T, s *side) {
			readRich(s, "old definition", s.q(), 1)
			readRich(s, "old definition, 3", s.q(), 3)
			if s.dialect == "postgres" {
				s.see("replace", s.q().Exec("CREATE OR REPLACE VIEW rich_ledgers AS SELECT id, balance, upper(name) AS name FROM ledgers WHERE balance > 10"), nil)
			} else {
				s.see("drop", s.q().Exec("DROP VIEW rich_ledgers"), nil)
				readRich(s, "no view", s.q(), 1)
				s.see("create", s.q().Exec("CREATE VIEW rich_ledgers AS SELECT id, balance, upper(name) AS name FROM ledgers WHERE balance > 10"), nil)
			}
			readRich(s, "new definition", s.q(), 1)
			readRich(s, "new definition, 3", s.q(), 3)
		}},
		{"a column added by ALTER TABLE", compareOpts{}, func(t *testing.T, s *side) {
			var all []Ledger
			s.see("SELECT * before", s.q().Order("id").Find(&all), all)
			s.see("alter", s.q().Exec("ALTER TABLE ledgers ADD COLUMN note varchar(20) DEFAULT 'n'"), nil)
			var some Ledger
			s.see("some columns", s.q().Select("id", "balance", "name").First(&some, 1), some)
			var wide LedgerWithNote
			s.see("SELECT * after", s.q().First(&wide, 1), wide)
			var wides []LedgerWithNote
			s.see("SELECT * after, all", s.q().Find(&wides, []int{1, 2}), sorted(wides, func(a, b LedgerWithNote) int { return int(a.ID) - int(b.ID) }))
		}},
		{"a column added by the migrator", compareOpts{}, func(t *testing.T, s *side) {
			var all []Ledger
			s.see("SELECT * before", s.q().Find(&all, []int{1, 2}), sorted(all, func(a, b Ledger) int { return int(a.ID) - int(b.ID) }))
			s.seeErr("add column", s.q().Migrator().AddColumn(&LedgerWithNote{}, "Note"), nil)
			var some Ledger
			s.see("some columns", s.q().Select("id", "balance", "name").First(&some, 2), some)
			var wide LedgerWithNote
			s.see("SELECT * after", s.q().First(&wide, 2), wide)
		}},
		{"TRUNCATE ... CASCADE", compareOpts{only: "postgres"}, func(t *testing.T, s *side) {
			var e LedgerEntry
			s.see("entry", s.q().First(&e, 1), e)
			readLedger(s, "ledger", s.q(), 1)
			s.see("truncate", s.q().Exec("TRUNCATE ledgers CASCADE"), nil)
			e = LedgerEntry{}
			s.see("entry after", s.q().First(&e, 1), e)
			readLedger(s, "ledger after", s.q(), 1)
		}},
		{"a temporary table shadowing a table", compareOpts{oneConn: true}, func(t *testing.T, s *side) {
			readLedger(s, "table", s.q(), 1)
			s.see("create temp", s.q().Exec("CREATE TEMP TABLE ledgers AS SELECT id, balance + 1000 AS balance, name FROM ledgers"), nil)
			readLedger(s, "temporary table", s.q(), 1)
			s.see("drop temp", s.q().Exec("DROP TABLE ledgers"), nil)
			readLedger(s, "table again", s.q(), 1)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			compare(t, tc.opts, setupLedgers, tc.run)
		})
	}
}
