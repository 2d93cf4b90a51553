package prefetch

// AnyArray lets benchmarks compare PostgreSQL batch loads bound as one array
// (true, the default) with IN lists.
var AnyArray = &anyArray

// ForceSlowLoad sends every Load through GORM's preload, the reference
// path the fast path (load_fast.go) is compared with.
var ForceSlowLoad = &forceSlowLoad
