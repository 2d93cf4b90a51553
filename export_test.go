package prefetch

import "os"

// AnyArray lets benchmarks compare PostgreSQL batch loads bound as one array
// (true, the default) with IN lists.
var AnyArray = &anyArray

// ForceReplay sends every served result through the replay (replay.go)
// instead of the direct copy (direct_copy.go) while on is true: the
// reference path the tests compare the fast path with.
func ForceReplay(on bool) { forceReplay.Store(on) }

func init() {
	// PREFETCH_FORCE_REPLAY=1 runs a whole test binary on the reference path.
	if os.Getenv("PREFETCH_FORCE_REPLAY") != "" {
		forceReplay.Store(true)
	}
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
