package prefetch

import "errors"

// Errors returned by [Load], [Invalidate], [Prime], [IsLoaded],
// [Plugin.Initialize] and statements made under [WithStrict]. Match them with
// [errors.Is]: the returned errors wrap them with the place where the problem
// was found.
var (
	// ErrInvalidDest reports a destination that [Load] cannot fill: nil, not a
	// pointer to a struct or slice, or a slice of non-structs.
	ErrInvalidDest = errors.New("prefetch: invalid destination")

	// ErrNotModel reports a destination whose type GORM cannot parse as a model.
	ErrNotModel = errors.New("prefetch: destination is not a model")

	// ErrUnknownName reports a name given to [Load] that is neither an
	// association nor a column of the model.
	ErrUnknownName = errors.New("prefetch: unknown association or column")

	// ErrUnknownTable reports a table given to [Invalidate] that no model or
	// statement of a database with the plugin has named.
	ErrUnknownTable = errors.New("prefetch: unknown table")

	// ErrInvalidKey reports an id given to [Invalidate] that cannot be a
	// primary key of the table.
	ErrInvalidKey = errors.New("prefetch: invalid key")

	// ErrUnknownColumns reports a table whose columns the request cache
	// does not know yet, given to [Prime].
	ErrUnknownColumns = errors.New("prefetch: the table's columns are not known yet")

	// ErrWarmOutsidePool reports a [Warm] given a transaction or a
	// connection taken with db.Connection: what it reads there may be
	// uncommitted, or read under a session state (a local search_path)
	// other requests do not have, so it never fills from it. Call Warm on
	// the database handle itself.
	ErrWarmOutsidePool = errors.New("prefetch: Warm runs on the database's pool, not in a transaction or on a connection")

	// ErrInvalidConfig reports a [Plugin] field with a value it cannot use.
	ErrInvalidConfig = errors.New("prefetch: invalid configuration")

	// ErrLazyLoad reports a statement that loads one record's data where a
	// result held many (an N+1), made under [WithStrict]. The error names
	// the call site and the fix.
	ErrLazyLoad = errors.New("prefetch: lazy load")
)
