package prefetch

// AnyArray lets benchmarks compare PostgreSQL batch loads bound as one array
// (true, the default) with IN lists.
var AnyArray = &anyArray

// SharedBeforeFill, when it holds a function, is called once between the
// database read and the fill of the shared cache: tests make a write there
// to force the stale-set race.
var SharedBeforeFill = &sharedBeforeFill

// FenceRetryPause is the first pause between retries of an undelivered
// invalidation.
var FenceRetryPause = &fenceRetryPause
