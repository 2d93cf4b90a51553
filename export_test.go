package prefetch

// AnyArray lets benchmarks compare PostgreSQL batch loads bound as one array
// (true, the default) with IN lists.
var AnyArray = &anyArray
