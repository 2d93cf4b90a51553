package prefetch_test

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorm-prefetch/prefetch"
	"github.com/gorm-prefetch/prefetch/internal/sqlcount"
	"github.com/stretchr/testify/require"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/schema"
)

// The differential test runs one seeded random sequence of operations on two
// identical databases, one through the plugin with request caches renewed
// now and then, one plain, and requires every read to agree.
//
//	go test -run Differential -args -steps=100000 -seeds=1,2,3,4

var (
	diffSteps = flag.Int("steps", 1500, "operations per seed in TestDifferential")
	diffSeeds = flag.String("seeds", "1,2,3", "comma-separated seeds for TestDifferential")
)

type DCustomer struct {
	ID        uint
	Name      string
	Email     *string
	Score     int
	Orders    []DOrder
	DeletedAt gorm.DeletedAt
}

type DOrder struct {
	ID          uint
	DCustomerID uint
	DCustomer   DCustomer
	Amount      int
	Note        []byte
}

// diffDB is one side of the differential test.
type diffDB struct {
	db  *gorm.DB
	ctx context.Context

	dialect string
	dir     string   // sqlite: the directory of the database, for attached files
	alt     string   // postgres: a schema holding other rows of the customers table
	hooks   *hookLog // what DHooked's hooks saw
	count   *sqlcount.Counter
}

// diffOp is one kind of operation of the differential test. run draws its
// random values from r, a copy of the same state for both databases, so
// both sides do the same thing.
type diffOp struct {
	name string
	w    int
	run  func(d *diffDB, r *rand.Rand) outcome
}

func (d *diffDB) q() *gorm.DB { return d.db.WithContext(d.ctx) }

func TestDifferential(t *testing.T) {
	for _, s := range strings.Split(*diffSeeds, ",") {
		seed, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
		require.NoError(t, err)
		for _, path := range servedPaths(true) {
			t.Run(fmt.Sprintf("sqlite/seed=%d/%s", seed, path), func(t *testing.T) {
				defer forceReplay(path)()
				a, b := diffSQLite(t, true), diffSQLite(t, false)
				runDifferential(t, seed, a, b)
			})
			t.Run(fmt.Sprintf("postgres/seed=%d/%s", seed, path), func(t *testing.T) {
				dsn := postgresDSN(t)
				defer forceReplay(path)()
				a, b := diffPostgres(t, dsn, true), diffPostgres(t, dsn, false)
				runDifferential(t, seed, a, b)
			})
		}
	}
}

// forceReplay sends served rows through the replay when path is "replay",
// until the function it returns is called.
func forceReplay(path string) func() {
	prefetch.ForceReplay(path == "replay")
	return func() { prefetch.ForceReplay(false) }
}

func diffConfig(naming schema.Namer) *gorm.Config {
	var tick int64
	var mu sync.Mutex
	return &gorm.Config{Logger: quiet, NamingStrategy: naming, NowFunc: func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		tick++
		return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(tick) * time.Second)
	}}
}

func diffSQLite(t *testing.T, plugin bool) *diffDB {
	dsn := filepath.Join(t.TempDir(), "d.db") + "?_journal_mode=WAL&_busy_timeout=5000"
	sqlDB, count, err := sqlcount.OpenSQLite(dsn)
	require.NoError(t, err)
	t.Cleanup(func() { sqlDB.Close() })
	db, err := gorm.Open(sqlite.New(sqlite.Config{Conn: sqlDB}), diffConfig(schema.NamingStrategy{}))
	require.NoError(t, err)
	return diffSetup(t, db, plugin, &diffDB{dialect: "sqlite", dir: filepath.Dir(dsn), count: count})
}

func diffPostgres(t *testing.T, dsn string, plugin bool) *diffDB {
	sqlDB, count, err := sqlcount.OpenPostgres(dsn)
	require.NoError(t, err)
	t.Cleanup(func() { sqlDB.Close() })
	naming := schema.NamingStrategy{TablePrefix: fmt.Sprintf("d%d_%d_", os.Getpid(), tableSeq.Add(1))}
	db, err := gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), diffConfig(naming))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Migrator().DropTable(&DOrder{}, &DCustomer{}) })
	return diffSetup(t, db, plugin, &diffDB{dialect: "postgres", alt: naming.TablePrefix + "alt", count: count})
}

func diffSetup(t *testing.T, db *gorm.DB, plugin bool, d *diffDB) *diffDB {
	require.NoError(t, db.AutoMigrate(&DCustomer{}, &DOrder{}))
	d.db, d.ctx, d.hooks = db, context.Background(), &hookLog{}
	if plugin {
		require.NoError(t, db.Use(prefetch.Plugin{BatchSize: 7, MaxRows: 60}))
		d.ctx = prefetch.NewContext(context.Background())
	}
	for i := 1; i <= 20; i++ {
		c := DCustomer{Name: fmt.Sprintf("c%d", i), Score: i % 4}
		require.NoError(t, db.Create(&c).Error)
		for j := 0; j < i%4; j++ {
			require.NoError(t, db.Create(&DOrder{DCustomerID: c.ID, Amount: i*10 + j, Note: []byte{byte(i)}}).Error)
		}
	}
	diffSetupState(t, d)
	return d
}

// outcome is what a read returned, in a form two databases can agree on.
type outcome struct {
	Err  string
	Rows int64
	Val  any
}

func outcomeOf(res *gorm.DB, val any) outcome {
	o := outcome{Rows: res.RowsAffected, Val: val}
	switch {
	case res.Error == nil:
	case errors.Is(res.Error, gorm.ErrRecordNotFound):
		o.Err = "not found"
	default:
		o.Err = "error" // messages name tables, which differ
	}
	return o
}

func sortByID[T any](s []T, id func(T) uint) []T {
	slices.SortFunc(s, func(a, b T) int { return int(id(a)) - int(id(b)) })
	return s
}

func runDifferential(t *testing.T, seed uint64, a, b *diffDB) {
	rng := rand.New(rand.NewPCG(seed, seed*7919))
	ids := func(r *rand.Rand) []int {
		out := make([]int, 1+r.IntN(6))
		for i := range out {
			out[i] = 1 + r.IntN(34)
		}
		return out
	}
	type op = diffOp
	ops := []op{
		{"first", 10, func(d *diffDB, r *rand.Rand) outcome {
			var c DCustomer
			res := d.q().First(&c, 1+r.IntN(34))
			return outcomeOf(res, c)
		}},
		{"unscoped take", 4, func(d *diffDB, r *rand.Rand) outcome {
			var c DCustomer
			res := d.q().Unscoped().Take(&c, "id = ?", 1+r.IntN(34))
			return outcomeOf(res, c)
		}},
		{"find ids", 6, func(d *diffDB, r *rand.Rand) outcome {
			var cs []DCustomer
			res := d.q().Find(&cs, ids(r))
			return outcomeOf(res, sortByID(cs, func(c DCustomer) uint { return c.ID }))
		}},
		{"select", 4, func(d *diffDB, r *rand.Rand) outcome {
			var cs []DCustomer
			res := d.q().Select("id", "score").Where("id IN ?", ids(r)).Find(&cs)
			return outcomeOf(res, sortByID(cs, func(c DCustomer) uint { return c.ID }))
		}},
		{"orders loop", 5, func(d *diffDB, r *rand.Rand) outcome {
			var os []DOrder
			res := d.q().Where("amount < ?", r.IntN(300)).Order("id").Limit(60).Find(&os)
			out := []any{outcomeOf(res, os)}
			for _, o := range os {
				var c DCustomer
				out = append(out, outcomeOf(d.q().First(&c, o.DCustomerID), c))
			}
			return outcome{Val: out}
		}},
		{"preload", 3, func(d *diffDB, r *rand.Rand) outcome {
			var os []DOrder
			res := d.q().Preload("DCustomer").Where("amount > ?", r.IntN(300)).Order("id").Limit(60).Find(&os)
			return outcomeOf(res, os)
		}},
		{"association find", 4, func(d *diffDB, r *rand.Rand) outcome {
			var cs []DCustomer
			d.q().Order("id").Limit(40).Find(&cs)
			var out []any
			for i := range cs {
				var os []DOrder
				err := d.q().Model(&cs[i]).Association("Orders").Find(&os)
				out = append(out, err == nil, sortByID(os, func(o DOrder) uint { return o.ID }))
			}
			return outcome{Val: out}
		}},
		{"load", 4, func(d *diffDB, r *rand.Rand) outcome {
			var os []DOrder
			d.q().Order("id").Limit(60).Find(&os)
			for i := range os {
				if err := prefetch.Load(d.q(), &os[i], "DCustomer"); err != nil {
					return outcome{Err: "error"}
				}
			}
			var cs []DCustomer
			d.q().Select("id").Order("id").Limit(40).Find(&cs)
			for i := range cs {
				if err := prefetch.Load(d.q(), &cs[i], "Name", "Orders"); err != nil {
					return outcome{Err: "error"}
				}
				cs[i].Orders = sortByID(cs[i].Orders, func(o DOrder) uint { return o.ID })
			}
			return outcome{Val: []any{os, cs}}
		}},
		{"create", 4, func(d *diffDB, r *rand.Rand) outcome {
			c := DCustomer{Name: fmt.Sprintf("n%d", r.IntN(1000)), Score: r.IntN(4)}
			res := d.q().Create(&c)
			o := DOrder{DCustomerID: uint(1 + r.IntN(34)), Amount: r.IntN(300)}
			res2 := d.q().Create(&o)
			return outcome{Val: []any{outcomeOf(res, c.ID), outcomeOf(res2, o.ID)}}
		}},
		{"update by key", 6, func(d *diffDB, r *rand.Rand) outcome {
			res := d.q().Model(&DCustomer{ID: uint(1 + r.IntN(34))}).Updates(map[string]any{"name": fmt.Sprintf("u%d", r.IntN(1000)), "score": r.IntN(4)})
			return outcomeOf(res, nil)
		}},
		{"update by condition", 3, func(d *diffDB, r *rand.Rand) outcome {
			res := d.q().Model(&DOrder{}).Where("amount > ?", r.IntN(300)).Update("d_customer_id", 1+r.IntN(30))
			return outcomeOf(res, nil)
		}},
		{"save", 3, func(d *diffDB, r *rand.Rand) outcome {
			var c DCustomer
			if err := d.q().First(&c, 1+r.IntN(34)).Error; err != nil {
				return outcome{Err: "not found"}
			}
			email := fmt.Sprintf("e%d", r.IntN(100))
			c.Email = &email
			return outcomeOf(d.q().Save(&c), c)
		}},
		{"soft delete", 2, func(d *diffDB, r *rand.Rand) outcome {
			return outcomeOf(d.q().Delete(&DCustomer{}, 1+r.IntN(34)), nil)
		}},
		{"hard delete order", 2, func(d *diffDB, r *rand.Rand) outcome {
			return outcomeOf(d.q().Delete(&DOrder{}, 1+r.IntN(60)), nil)
		}},
		{"raw exec", 2, func(d *diffDB, r *rand.Rand) outcome {
			table := tableOf(d.db, &DCustomer{})
			return outcomeOf(d.q().Exec("UPDATE "+table+" SET score = score + 1 WHERE id = ?", 1+r.IntN(34)), nil)
		}},
		{"transaction", 3, func(d *diffDB, r *rand.Rand) outcome {
			commit := r.IntN(2) == 0
			key, name := 1+r.IntN(34), fmt.Sprintf("tx%d", r.IntN(1000))
			var inside, inSavepoint, after DCustomer
			err := d.q().Transaction(func(tx *gorm.DB) error {
				tx.Model(&DCustomer{ID: uint(key)}).Update("name", name)
				tx.First(&inside, key)
				// A savepoint rolled back.
				_ = tx.Transaction(func(tx2 *gorm.DB) error {
					tx2.Model(&DCustomer{ID: uint(key)}).Update("score", 99)
					tx2.First(&inSavepoint, key)
					return errors.New("roll back the savepoint")
				})
				tx.First(&after, key)
				if !commit {
					return errors.New("roll back")
				}
				return nil
			})
			return outcome{Val: []any{err == nil, inside, inSavepoint, after}}
		}},
		{"concurrent reads", 2, func(d *diffDB, r *rand.Rand) outcome {
			keys := ids(r)
			out := make([]outcome, len(keys))
			var wg sync.WaitGroup
			for i, k := range keys {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var c DCustomer
					out[i] = outcomeOf(d.q().First(&c, k), c)
				}()
			}
			wg.Wait()
			return outcome{Val: out}
		}},
		{"new request", 2, func(d *diffDB, r *rand.Rand) outcome {
			if d.ctx != context.Background() {
				d.ctx = prefetch.NewContext(context.Background())
			}
			return outcome{}
		}},
	}
	ops = append(ops, stateOps()...)
	ops = append(ops, loopShapeOps()...)
	total := 0
	for _, o := range ops {
		total += o.w
	}
	for step := 0; step < *diffSteps; step++ {
		pick := rng.IntN(total)
		var o op
		for _, o = range ops {
			if pick < o.w {
				break
			}
			pick -= o.w
		}
		s1, s2 := rng.Uint64(), rng.Uint64()
		a.count.Reset()
		got := o.run(a, rand.New(rand.NewPCG(s1, s2)))
		sent, log := a.count.Total(), a.count.Log()
		b.count.Reset()
		want := o.run(b, rand.New(rand.NewPCG(s1, s2)))
		// Never more queries than plain GORM, step by step.
		if plain := b.count.Total(); sent > plain {
			t.Fatalf("seed %d, step %d (%s): the plugin sent %d statements, plain GORM %d:\n%s",
				seed, step, o.name, sent, plain, strings.Join(log, "\n"))
		}
		if !reflect.DeepEqual(want, got) {
			w, _ := json.Marshal(want)
			g, _ := json.Marshal(got)
			t.Fatalf("seed %d, step %d (%s): the plugin's database disagrees\nplain:  %s\nplugin: %s", seed, step, o.name, w, g)
		}
	}
}
