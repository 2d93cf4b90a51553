// Package poolhook lets other packages of this module reach inside the
// connection-pool wrapper of package prefetch without widening its public
// API: prefetchtest counts the statements that reach the database there,
// beneath the plugin, so that counting changes nothing the plugin sees.
package poolhook

import "gorm.io/gorm"

// Wrap replaces the connection pool under the plugin registered on db with
// wrap(pool), and reports whether db has the plugin. Package prefetch sets
// it in its init. It must be called before db is used concurrently.
var Wrap func(db *gorm.DB, wrap func(gorm.ConnPool) gorm.ConnPool) bool
