package prefetch_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gorm-prefetch/prefetch"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/schema"
)

// Hot-path benchmarks, each against its baseline in the same run. The
// comparisons with other libraries live in the benchmarks/ module.
//
//	go test -run '^$' -bench . -benchmem -count 6 | benchstat -

// benchDBs opens one in-memory SQLite database twice: with and without the
// plugin.
func benchDBs(b *testing.B, customers, ordersPer int) (plugin, plain *gorm.DB) {
	return benchDBsOn(b, "sqlite", customers, ordersPer)
}

// benchDBsOn opens one database twice, with and without the plugin: an
// in-memory SQLite database, or tables of their own on the PostgreSQL of
// PREFETCH_TEST_POSTGRES_DSN (skipped without it).
func benchDBsOn(b *testing.B, dialect string, customers, ordersPer int) (plugin, plain *gorm.DB) {
	b.Helper()
	var open func() *gorm.DB
	switch dialect {
	case "sqlite":
		dsn := fmt.Sprintf("file:bench%p?mode=memory&cache=shared", b)
		open = func() *gorm.DB {
			db, err := gorm.Open(sqlite.Open(dsn), &gorm.Config{Logger: quiet})
			if err != nil {
				b.Fatal(err)
			}
			sqlDB, _ := db.DB()
			sqlDB.SetMaxOpenConns(1)
			b.Cleanup(func() { sqlDB.Close() })
			return db
		}
	case "postgres":
		dsn := os.Getenv("PREFETCH_TEST_POSTGRES_DSN")
		if dsn == "" {
			b.Skip("PREFETCH_TEST_POSTGRES_DSN not set: skipping PostgreSQL benchmark")
		}
		naming := schema.NamingStrategy{TablePrefix: fmt.Sprintf("bench%d_%d_", os.Getpid(), benchSeq.Add(1))}
		open = func() *gorm.DB {
			db, err := gorm.Open(postgres.Open(dsn), &gorm.Config{Logger: quiet, NamingStrategy: naming})
			if err != nil {
				b.Fatal(err)
			}
			sqlDB, _ := db.DB()
			b.Cleanup(func() { sqlDB.Close() })
			return db
		}
	}
	plain, plugin = open(), open()
	if err := plugin.Use(prefetch.Plugin{}); err != nil {
		b.Fatal(err)
	}
	if dialect == "postgres" {
		b.Cleanup(func() { _ = plain.Migrator().DropTable(&Order{}, &Customer{}) })
	}
	if err := plain.AutoMigrate(&Customer{}, &Order{}); err != nil {
		b.Fatal(err)
	}
	cs := make([]Customer, customers)
	for i := range cs {
		cs[i].Name = fmt.Sprintf("customer %d", i+1)
	}
	plain.CreateInBatches(&cs, 500)
	var os []Order
	for i := range cs {
		for j := 0; j < ordersPer; j++ {
			os = append(os, Order{CustomerID: cs[i].ID, Amount: j})
		}
	}
	if len(os) > 0 {
		plain.CreateInBatches(&os, 500)
	}
	return plugin, plain
}

var benchSeq atomic.Int64

func BenchmarkFirstByKey(b *testing.B) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		b.Run(dialect, func(b *testing.B) { benchFirstByKey(b, dialect) })
	}
}

// benchFirstByKey is scenario (a): First by key, with its floors: DryRun
// (GORM's per-call work including building the SQL) and no-SQL (GORM's
// per-call work for any plugin replacing gorm:query), plain GORM, and the
// plugin serving from the request cache through the direct copy and
// through the replay.
func benchFirstByKey(b *testing.B, dialect string) {
	plugin, plain := benchDBsOn(b, dialect, 100, 0)
	run := func(name string, db func() *gorm.DB) {
		b.Run(name, func(b *testing.B) {
			if strings.HasSuffix(name, "-replay") {
				prefetch.ForceReplay(true)
				defer prefetch.ForceReplay(false)
			}
			b.ReportAllocs()
			tx := db()
			defer cpuPerOp(b)()
			for i := 0; i < b.N; i++ {
				var c Customer
				if err := tx.First(&c, 1+i%100).Error; err != nil && !tx.DryRun {
					b.Fatal(err)
				}
			}
		})
	}
	served := func() *gorm.DB {
		db := plugin.WithContext(prefetch.NewContext(context.Background()))
		var all []Customer
		db.Find(&all)
		return db
	}
	run("plain", func() *gorm.DB { return plain })
	run("floor-dryrun", func() *gorm.DB { return plain.Session(&gorm.Session{DryRun: true}) })
	run("floor-nosql", func() *gorm.DB { return noSQLFloor(b, plain) })
	run("plugin-no-context", func() *gorm.DB { return plugin })
	run("prefetch-served", served)
	run("prefetch-served-replay", served)
}

// cpuPerOp starts measuring the process's CPU time; the function it
// returns reports it per operation as cpu-ns/op. On a shared machine wall
// time includes waiting for a CPU; CPU time (the database server's
// excluded) does not, and is the steadier measure of the plugin's own work.
func cpuPerOp(b *testing.B) func() {
	start := processCPU()
	return func() { b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op") }
}

// noSQLFloor returns a handle on plain's database whose gorm:query copies
// one cached Customer into the destination: GORM's own per-call cost for
// any plugin that replaces gorm:query, with no SQL built and no scan.
func noSQLFloor(b *testing.B, plain *gorm.DB) *gorm.DB {
	b.Helper()
	db, err := gorm.Open(plain.Dialector, &gorm.Config{Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	var row Customer
	if err := plain.First(&row, 1).Error; err != nil {
		b.Fatal(err)
	}
	err = db.Callback().Query().Replace("gorm:query", func(tx *gorm.DB) {
		if c, ok := tx.Statement.Dest.(*Customer); ok {
			*c = row
			tx.RowsAffected = 1
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	return db
}

// BenchmarkUncacheable measures the plugin's cost on statements it cannot
// help: a join and an aggregate.
func BenchmarkUncacheable(b *testing.B) {
	plugin, plain := benchDBs(b, 100, 2)
	stmts := map[string]func(db *gorm.DB) error{
		"joins": func(db *gorm.DB) error {
			var os []Order
			return db.Joins("Customer").Where("orders.id < ?", 10).Find(&os).Error
		},
		"count": func(db *gorm.DB) error {
			var n int64
			return db.Model(&Order{}).Where("amount = ?", 1).Count(&n).Error
		},
	}
	for _, name := range []string{"joins", "count"} {
		stmt := stmts[name]
		for _, side := range []string{"plain", "plugin-no-context", "plugin-request"} {
			b.Run(name+"/"+side, func(b *testing.B) {
				db := plain
				switch side {
				case "plugin-no-context":
					db = plugin
				case "plugin-request":
					db = plugin.WithContext(prefetch.NewContext(context.Background()))
				}
				b.ReportAllocs()
				defer cpuPerOp(b)()
				for i := 0; i < b.N; i++ {
					if err := stmt(db); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkOrdersThenCustomers is the N+1 loop: 1000 orders, then each
// order's customer.
func BenchmarkOrdersThenCustomers(b *testing.B) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		b.Run(dialect, func(b *testing.B) { benchOrdersThenCustomers(b, dialect) })
	}
}

func benchOrdersThenCustomers(b *testing.B, dialect string) {
	plugin, plain := benchDBsOn(b, dialect, 1000, 1)
	loop := func(db *gorm.DB) {
		var os []Order
		db.Find(&os)
		for _, o := range os {
			var c Customer
			db.First(&c, o.CustomerID)
		}
	}
	b.Run("plain-n+1", func(b *testing.B) {
		b.ReportAllocs()
		defer cpuPerOp(b)()
		for i := 0; i < b.N; i++ {
			loop(plain)
		}
	})
	b.Run("preload", func(b *testing.B) {
		b.ReportAllocs()
		defer cpuPerOp(b)()
		for i := 0; i < b.N; i++ {
			var os []Order
			plain.Preload("Customer").Find(&os)
		}
	})
	for _, path := range []string{"", "-replay"} {
		b.Run("prefetch-loop"+path, func(b *testing.B) {
			prefetch.ForceReplay(path != "")
			defer prefetch.ForceReplay(false)
			b.ReportAllocs()
			defer cpuPerOp(b)()
			for i := 0; i < b.N; i++ {
				loop(plugin.WithContext(prefetch.NewContext(context.Background())))
			}
		})
	}
	b.Run("prefetch-load", func(b *testing.B) {
		b.ReportAllocs()
		defer cpuPerOp(b)()
		for i := 0; i < b.N; i++ {
			db := plugin.WithContext(prefetch.NewContext(context.Background()))
			var os []Order
			db.Find(&os)
			if err := prefetch.Load(db, &os, "Customer"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkBatchLoadPostgres compares binding a batch's keys as one array
// parameter (col = ANY($1)) with an IN list, on PostgreSQL: orders, then each
// order's customer, for several scope sizes.
func BenchmarkBatchLoadPostgres(b *testing.B) {
	dsn := os.Getenv("PREFETCH_TEST_POSTGRES_DSN")
	if dsn == "" {
		b.Skip("PREFETCH_TEST_POSTGRES_DSN not set: skipping PostgreSQL benchmark")
	}
	db, err := gorm.Open(postgres.Open(dsn), &gorm.Config{Logger: quiet,
		NamingStrategy: schema.NamingStrategy{TablePrefix: fmt.Sprintf("bench%d_", os.Getpid())}})
	if err != nil {
		b.Fatal(err)
	}
	if err := db.Use(prefetch.Plugin{}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Migrator().DropTable(&Order{}, &Customer{}) })
	if err := db.AutoMigrate(&Customer{}, &Order{}); err != nil {
		b.Fatal(err)
	}
	cs := make([]Customer, 1000)
	for i := range cs {
		cs[i].Name = fmt.Sprint("c", i)
	}
	db.CreateInBatches(&cs, 500)
	os := make([]Order, 1000)
	for i := range os {
		os[i] = Order{CustomerID: cs[i].ID}
	}
	db.CreateInBatches(&os, 500)
	defer func(v bool) { *prefetch.AnyArray = v }(*prefetch.AnyArray)
	for _, n := range []int{10, 100, 1000} {
		for _, mode := range []string{"in-list", "any-array"} {
			b.Run(fmt.Sprintf("scope=%d/%s", n, mode), func(b *testing.B) {
				*prefetch.AnyArray = mode == "any-array"
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					tx := db.WithContext(prefetch.NewContext(context.Background()))
					var orders []Order
					tx.Where("id <= ?", os[n-1].ID).Find(&orders)
					for _, o := range orders {
						var c Customer
						tx.First(&c, o.CustomerID)
					}
				}
			})
		}
	}
}

// BenchmarkLoad compares Load with hand-written Preload: 1000 orders, then
// each order's customer, loaded for the whole slice, record by record, and
// again once loaded; "slow" forces GORM's preload (the path Load took
// before its fast path). load-one-cached is one per-record Load whose rows
// are cached: its allocations are the per-call cost.
func BenchmarkLoad(b *testing.B) {
	plugin, plain := benchDBs(b, 1000, 1)
	request := func() (*gorm.DB, []Order) {
		db := plugin.WithContext(prefetch.NewContext(context.Background()))
		var os []Order
		if err := db.Find(&os).Error; err != nil {
			b.Fatal(err)
		}
		return db, os
	}
	loadAll := func(db *gorm.DB, os []Order) {
		if err := prefetch.Load(db, &os, "Customer"); err != nil {
			b.Fatal(err)
		}
	}
	loadEach := func(db *gorm.DB, os []Order) {
		for i := range os {
			if err := prefetch.Load(db, &os[i], "Customer"); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("alt=preload", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			var os []Order
			plain.Preload("Customer").Find(&os)
		}
	})
	for _, slow := range []bool{false, true} {
		suffix := ""
		if slow {
			suffix = "-slow"
		}
		set := func() { prefetch.ForceSlowLoad(slow) }
		b.Run("alt=load"+suffix, func(b *testing.B) {
			set()
			defer prefetch.ForceSlowLoad(false)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				loadAll(request())
			}
		})
		b.Run("alt=load-each"+suffix, func(b *testing.B) {
			set()
			defer prefetch.ForceSlowLoad(false)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				loadEach(request())
			}
		})
		b.Run("alt=load-again"+suffix, func(b *testing.B) {
			set()
			defer prefetch.ForceSlowLoad(false)
			db, os := request()
			loadAll(db, os)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				loadAll(db, os)
			}
		})
		b.Run("alt=load-one-cached"+suffix, func(b *testing.B) {
			set()
			defer prefetch.ForceSlowLoad(false)
			db, os := request()
			loadAll(db, os)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := prefetch.Load(db, &os[i%len(os)], "Customer"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
