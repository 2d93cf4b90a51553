package prefetch_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gorm-prefetch/prefetch/internal/sqlcount"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
	"gorm.io/gorm/schema"
)

// Steps of TestDifferential for what changes rows without a GORM write to
// them: two models on one table, session state, DDL and views mid-workload,
// raw BEGIN/COMMIT/ROLLBACK on a connection, hooks that re-read, and
// cancelled contexts.

// DAccount and DAccountByNumber are two models of one table with different
// primary keys.
type DAccount struct {
	ID     uint
	Number int `gorm:"uniqueIndex"`
	Name   string
}

type DAccountByNumber struct {
	Number int `gorm:"primaryKey;autoIncrement:false"`
	ID     uint
	Name   string
}

func (DAccountByNumber) TableName(n schema.Namer) string { return n.TableName("DAccount") }

// DNote is a side table that gains and loses a column; DNoteWide reads it
// with the column.
type DNote struct {
	ID   uint
	Body string
}

type DNoteWide struct {
	ID    uint
	Body  string
	Extra *string
}

func (DNoteWide) TableName(n schema.Namer) string { return n.TableName("DNote") }

// DRichCustomer reads a view of d_customers whose definition the test
// replaces.
type DRichCustomer struct {
	ID    uint
	Name  string
	Score int
}

// DAttached lives only in SQLite files the test attaches.
type DAttached struct {
	ID     uint
	Tenant string
}

func (DAttached) TableName() string { return "d_attached" }

// DHooked re-reads itself after every update and records what it saw.
type DHooked struct {
	ID   uint
	Name string
}

func (h *DHooked) AfterUpdate(tx *gorm.DB) error {
	log, _ := tx.Statement.Context.Value(hookLogKey{}).(*hookLog)
	if log == nil {
		return nil
	}
	var fresh DHooked
	err := tx.Session(&gorm.Session{NewDB: true}).First(&fresh, h.ID).Error
	log.mu.Lock()
	defer log.mu.Unlock()
	log.seen = append(log.seen, fmt.Sprintf("%+v %v", fresh, err))
	return nil
}

func viewDDL(d *diffDB, minScore int) []string {
	view, table := tableOf(d.db, &DRichCustomer{}), tableOf(d.db, &DCustomer{})
	sel := fmt.Sprintf("SELECT id, name, score FROM %s WHERE score >= %d AND deleted_at IS NULL", table, minScore)
	if d.dialect == "postgres" {
		return []string{"CREATE OR REPLACE VIEW " + view + " AS " + sel}
	}
	return []string{"DROP VIEW IF EXISTS " + view, "CREATE VIEW " + view + " AS " + sel}
}

func diffSetupState(t *testing.T, d *diffDB) {
	db := d.db
	require.NoError(t, db.AutoMigrate(&DAccount{}, &DNote{}, &DHooked{}))
	for i := 1; i <= 15; i++ {
		require.NoError(t, db.Create(&DAccount{Number: 16 - i, Name: fmt.Sprintf("a%d", i)}).Error)
	}
	for i := 1; i <= 10; i++ {
		require.NoError(t, db.Create(&DNote{Body: fmt.Sprintf("note %d", i)}).Error)
		require.NoError(t, db.Create(&DHooked{Name: fmt.Sprintf("h%d", i)}).Error)
	}
	for _, q := range viewDDL(d, 1) {
		require.NoError(t, db.Exec(q).Error)
	}
	switch d.dialect {
	case "postgres":
		table := tableOf(db, &DCustomer{})
		require.NoError(t, db.Exec("CREATE SCHEMA "+d.alt).Error)
		require.NoError(t, db.Exec(fmt.Sprintf("CREATE TABLE %s.%s (LIKE %s INCLUDING ALL)", d.alt, table, table)).Error)
		for i := 1; i <= 10; i++ {
			require.NoError(t, db.Exec(fmt.Sprintf("INSERT INTO %s.%s (id, name, score) VALUES (?, ?, ?)", d.alt, table), i, fmt.Sprintf("alt%d", i), 7).Error)
		}
		t.Cleanup(func() {
			_ = db.Exec("DROP VIEW IF EXISTS " + tableOf(db, &DRichCustomer{})).Error
			_ = db.Exec("DROP SCHEMA IF EXISTS " + d.alt + " CASCADE").Error
			_ = db.Migrator().DropTable(&DAccount{}, &DNote{}, &DHooked{})
		})
	case "sqlite":
		for _, tenant := range []string{"a", "b"} {
			f, _, err := sqlcount.OpenSQLite(filepath.Join(d.dir, tenant+".db"))
			require.NoError(t, err)
			_, err = f.Exec("CREATE TABLE d_attached (id integer PRIMARY KEY, tenant text)")
			require.NoError(t, err)
			for i := 1; i <= 5; i++ {
				_, err = f.Exec("INSERT INTO d_attached VALUES (?, ?)", i, tenant)
				require.NoError(t, err)
			}
			require.NoError(t, f.Close())
		}
	}
}

// ctlOutcome is the outcome of a statement that writes no row (session,
// transaction control, DDL): its error only, as SQLite reports for it the
// changes of whatever statement its connection ran last.
func ctlOutcome(res *gorm.DB) outcome {
	o := outcomeOf(res, nil)
	o.Rows = 0
	return o
}

// errOutcome is outcomeOf that names context errors.
func errOutcome(res *gorm.DB, val any) outcome {
	o := outcomeOf(res, val)
	if errors.Is(res.Error, context.Canceled) {
		o.Err = "canceled"
	}
	return o
}

func stateOps() []diffOp {
	key := func(r *rand.Rand, n int) int { return 1 + r.IntN(n) }
	return []diffOp{
		{"two models: by id", 2, func(d *diffDB, r *rand.Rand) outcome {
			var a DAccount
			return outcomeOf(d.q().First(&a, key(r, 17)), a)
		}},
		{"two models: by number", 2, func(d *diffDB, r *rand.Rand) outcome {
			var a DAccountByNumber
			return outcomeOf(d.q().First(&a, key(r, 17)), a)
		}},
		{"two models: write through one", 1, func(d *diffDB, r *rand.Rand) outcome {
			name := fmt.Sprintf("w%d", r.IntN(1000))
			if r.IntN(2) == 0 {
				return outcomeOf(d.q().Model(&DAccountByNumber{Number: key(r, 15)}).Update("name", name), nil)
			}
			return outcomeOf(d.q().Model(&DAccount{ID: uint(key(r, 15))}).Update("name", name), nil)
		}},
		{"session state", 2, func(d *diffDB, r *rand.Rand) outcome {
			k1, k2 := key(r, 12), key(r, 12)
			var out []any
			if d.dialect == "postgres" {
				err := d.q().Transaction(func(tx *gorm.DB) error {
					var before, after, other DCustomer
					out = append(out, outcomeOf(tx.First(&before, k1), before))
					out = append(out, ctlOutcome(tx.Exec("SET LOCAL search_path TO "+d.alt)))
					out = append(out, outcomeOf(tx.First(&after, k1), after))
					out = append(out, outcomeOf(tx.First(&other, k2), other))
					return nil
				})
				return outcome{Val: append(out, err == nil)}
			}
			file := filepath.Join(d.dir, []string{"a", "b"}[r.IntN(2)]+".db")
			err := d.q().Connection(func(c *gorm.DB) error {
				var x, y DAttached
				out = append(out, ctlOutcome(c.Session(&gorm.Session{}).Exec("ATTACH DATABASE ? AS ten", file)))
				out = append(out, outcomeOf(c.Session(&gorm.Session{}).First(&x, k1%6), x))
				out = append(out, ctlOutcome(c.Session(&gorm.Session{}).Exec("DETACH DATABASE ten")))
				out = append(out, outcomeOf(c.Session(&gorm.Session{}).First(&y, k1%6), y))
				return nil
			})
			return outcome{Val: append(out, err == nil)}
		}},
		{"alter table", 1, func(d *diffDB, r *rand.Rand) outcome {
			if d.dialect == "postgres" {
				// pgx caches prepared statements per connection, and
				// PostgreSQL fails one whose SELECT * columns changed
				// ("cached plan must not change result type") on whichever
				// connection runs it next: plain GORM itself is not
				// deterministic there. ddl_views_test.go covers ALTER TABLE
				// on PostgreSQL.
				return outcome{}
			}
			table := tableOf(d.db, &DNote{})
			if d.db.Migrator().HasColumn(&DNoteWide{}, "extra") {
				return ctlOutcome(d.q().Exec("ALTER TABLE " + table + " DROP COLUMN extra"))
			}
			return ctlOutcome(d.q().Exec(fmt.Sprintf("ALTER TABLE %s ADD COLUMN extra varchar(10) DEFAULT 'x%d'", table, r.IntN(100))))
		}},
		{"notes", 2, func(d *diffDB, r *rand.Rand) outcome {
			var wide DNoteWide
			var narrow DNote
			var list []DNoteWide
			return outcome{Val: []any{
				outcomeOf(d.q().Select("id", "body").First(&narrow, key(r, 11)), narrow),
				outcomeOf(d.q().First(&wide, key(r, 11)), wide),
				outcomeOf(d.q().Find(&list, []int{key(r, 11), key(r, 11)}), sortByID(list, func(n DNoteWide) uint { return n.ID })),
			}}
		}},
		{"replace view", 1, func(d *diffDB, r *rand.Rand) outcome {
			var out []any
			for _, q := range viewDDL(d, r.IntN(4)) {
				out = append(out, ctlOutcome(d.q().Exec(q)))
			}
			return outcome{Val: out}
		}},
		{"view reads", 2, func(d *diffDB, r *rand.Rand) outcome {
			var one DRichCustomer
			var list []DRichCustomer
			return outcome{Val: []any{
				outcomeOf(d.q().First(&one, key(r, 34)), one),
				outcomeOf(d.q().Find(&list, []int{key(r, 34), key(r, 34), key(r, 34)}), sortByID(list, func(c DRichCustomer) uint { return c.ID })),
			}}
		}},
		{"raw transaction on a connection", 2, func(d *diffDB, r *rand.Rand) outcome {
			k, score, end := key(r, 34), r.IntN(100), []string{"COMMIT", "ROLLBACK", "/* c */ rollback"}[r.IntN(3)]
			table := tableOf(d.db, &DCustomer{})
			var out []any
			err := d.q().Connection(func(c *gorm.DB) error {
				var inside, after DCustomer
				out = append(out, ctlOutcome(c.Session(&gorm.Session{}).Exec("BEGIN")))
				out = append(out, outcomeOf(c.Session(&gorm.Session{}).Exec("UPDATE "+table+" SET score = ? WHERE id = ?", score, k), nil))
				out = append(out, outcomeOf(c.Session(&gorm.Session{}).First(&inside, k), inside))
				out = append(out, ctlOutcome(c.Session(&gorm.Session{}).Exec(end)))
				out = append(out, outcomeOf(c.Session(&gorm.Session{}).First(&after, k), after))
				return nil
			})
			var pooled DCustomer
			out = append(out, err == nil, outcomeOf(d.q().First(&pooled, k), pooled))
			return outcome{Val: out}
		}},
		{"hooked update", 2, func(d *diffDB, r *rand.Rand) outcome {
			k := key(r, 10)
			db := d.db.WithContext(context.WithValue(d.ctx, hookLogKey{}, d.hooks))
			if r.IntN(2) == 0 {
				db = db.Session(&gorm.Session{SkipDefaultTransaction: true})
			}
			var before, after DHooked
			o1 := outcomeOf(db.First(&before, k), before)
			o2 := outcomeOf(db.Model(&DHooked{ID: uint(k)}).Update("name", fmt.Sprintf("h%d", r.IntN(1000))), nil)
			o3 := outcomeOf(db.First(&after, k), after)
			d.hooks.mu.Lock()
			seen := strings.Join(d.hooks.seen, "; ")
			d.hooks.seen = nil
			d.hooks.mu.Unlock()
			return outcome{Val: []any{o1, o2, seen, o3}}
		}},
		{"cancelled context", 2, func(d *diffDB, r *rand.Rand) outcome {
			ctx, cancel := context.WithCancel(d.ctx)
			cancel()
			var c DCustomer
			var cs []DCustomer
			return outcome{Val: []any{
				errOutcome(d.db.WithContext(ctx).First(&c, key(r, 34)), c),
				errOutcome(d.db.WithContext(ctx).Find(&cs, []int{key(r, 34), key(r, 34)}), len(cs)),
			}}
		}},
	}
}
