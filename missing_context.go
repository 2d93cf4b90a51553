package prefetch

import (
	"sync"

	"gorm.io/gorm"
	"gorm.io/gorm/callbacks"
)

// Noticing a missing request context (Plugin.WarnMissingContext): without
// one the plugin does nothing, silently. A key lookup repeated at one line
// of code with no cache is what an N+1 loop run outside a request cache
// looks like.

// maxWatchedSites bounds the lines remembered.
const maxWatchedSites = 1000

// missingContext counts key lookups without a request cache by call site.
type missingContext struct {
	mu   sync.Mutex
	seen map[callSite]int // protected by mu
}

func (st *state) noteMissingContext(db *gorm.DB) {
	if db.Error != nil || db.DryRun || db.Statement.Schema == nil {
		return
	}
	callbacks.BuildQuerySQL(db)
	if db.Error != nil {
		return
	}
	p := analyze(db)
	if p == nil || !p.byKey {
		return
	}
	site, _ := callers().site()
	if !site.known() {
		return
	}
	m := &st.missing
	m.mu.Lock()
	if m.seen == nil {
		m.seen = map[callSite]int{}
	}
	n := m.seen[site]
	if n == 0 && len(m.seen) >= maxWatchedSites {
		m.mu.Unlock()
		return
	}
	m.seen[site] = n + 1
	m.mu.Unlock()
	if n+1 != 2 {
		return
	}
	const msg = "prefetch: %s looks rows of %s up by key again with no request cache in its context: " +
		"wrap the request's context with prefetch.NewContext (or prefetch.Middleware) and use db.WithContext(ctx)"
	db.Logger.Warn(db.Statement.Context, msg, site, p.table)
	if st.cfg.Logger != nil {
		st.cfg.Logger.WarnContext(db.Statement.Context, "prefetch: key lookups with no request cache",
			"site", site.String(), "table", p.table)
	}
}
