package prefetch

import (
	"flag"
	"fmt"
	"os"
	"reflect"
	"sync"

	"gorm.io/gorm"
	"gorm.io/gorm/callbacks"
)

// AnyArray lets benchmarks compare PostgreSQL batch loads bound as one array
// (true, the default) with IN lists.
var AnyArray = &anyArray

// ForceReplay sends every served result through the replay (replay.go)
// instead of the direct copy (direct_copy.go) while on is true: the
// reference path the tests compare the fast path with.
func ForceReplay(on bool) { forceReplay.Store(on) }

// PrepareThenBuild is prepareQuery then buildQuery: a stand-in for
// gorm:query in DryRun that builds the SQL as the plugin does.
func PrepareThenBuild(db *gorm.DB) {
	prepareQuery(db)
	buildQuery(db)
}

func init() {
	// PREFETCH_FORCE_REPLAY=1 runs a whole test binary on the reference path.
	if os.Getenv("PREFETCH_FORCE_REPLAY") != "" {
		forceReplay.Store(true)
	}
	prepareCheck = checkPrepare
}

// ForceSlowLoad sends every Load through GORM's preload (the path Load took
// before its fast path, load_fast.go) while on is true. ForceReplay and
// PREFETCH_FORCE_REPLAY do too.
func ForceSlowLoad(on bool) { forceSlowLoad.Store(on) }

// FastLoads returns how many associations Load's fast path has loaded.
func FastLoads() int64 { return fastLoads.Load() }

// ReferencePathForced reports whether ForceReplay or PREFETCH_FORCE_REPLAY
// keeps every Load off its fast path.
func ReferencePathForced() bool { return forceReplay.Load() }

// checkPrepare fails a statement, in every test of the package, when
// preparing then building a copy of it gives other SQL, values or errors
// than BuildQuerySQL on another copy.
//
// It is off in a run that measures benchmarks (-test.bench), whose numbers
// must be those of the plugin alone.
func checkPrepare(db *gorm.DB) {
	if benchmarking() {
		return
	}
	copyOf := func() *gorm.DB {
		tx := db.Session(&gorm.Session{Context: db.Statement.Context}) // copies the statement
		tx.Statement.BuildClauses = db.Statement.BuildClauses
		return tx
	}
	ref, got := copyOf(), copyOf()
	callbacks.BuildQuerySQL(ref)
	PrepareThenBuild(got)
	if ref.Statement.SQL.String() != got.Statement.SQL.String() ||
		!reflect.DeepEqual(ref.Statement.Vars, got.Statement.Vars) || fmt.Sprint(ref.Error) != fmt.Sprint(got.Error) ||
		!reflect.DeepEqual(ref.Statement.Clauses, got.Statement.Clauses) {
		db.AddError(fmt.Errorf("prefetch test: prepared statement differs:\nGORM:     %s %v (%v) %#v\nprepared: %s %v (%v) %#v",
			ref.Statement.SQL.String(), ref.Statement.Vars, ref.Error, ref.Statement.Clauses,
			got.Statement.SQL.String(), got.Statement.Vars, got.Error, got.Statement.Clauses))
	}
}

var benchmarking = sync.OnceValue(func() bool {
	f := flag.Lookup("test.bench")
	return f != nil && f.Value.String() != ""
})

// SharedBeforeFill, when it holds a function, is called once between the
// database read and the fill of the shared cache: tests make a write there
// to force the stale-set race.
var SharedBeforeFill = &sharedBeforeFill

// FenceRetryPause is the first pause between retries of an undelivered
// invalidation.
var FenceRetryPause = &fenceRetryPause
