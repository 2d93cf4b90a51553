package prefetch

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"unicode"
)

// Site is one place where the code of a request loaded records one at a
// time (an N+1) and the plugin batched the loads. Without the plugin, the
// site costs Statements queries; with it, Queries.
type Site struct {
	// File, Line and Function locate the statements: the first frame of
	// the stack outside GORM and this package.
	File     string
	Line     int
	Function string

	// Table is the table whose rows were loaded.
	Table string
	// Model is the model whose records were touched one at a time: Order
	// when each order's Customer is loaded. Empty when the plugin cannot
	// tell.
	Model string
	// Relation is the association of Model that was loaded ("Customer"),
	// when the models declare one.
	Relation string
	// Columns are the columns (Go field names) loaded one row at a time,
	// when the site loads columns of rows read with a Select rather than an
	// association. nil with an empty Relation means every column.
	Columns []string

	// Statements counts the statements the site's batch loads answered:
	// the one made here that started each load, the next ones of its loop,
	// and any later statement (from any line) served from the rows they
	// loaded.
	Statements int
	// Queries counts the batch-load queries the plugin ran for them.
	Queries int

	// OriginFile and OriginLine locate the query whose result formed the
	// scope the batch loads covered; empty when the plugin cannot tell.
	OriginFile string
	OriginLine int

	// Fix is the change that removes the N+1 without the plugin, as a user
	// would write it.
	Fix string
}

// Report is the N+1 sites of a request, in the order they were first seen.
type Report []Site

// ReportOf returns the N+1 sites of the request cache in ctx, made with
// [WithReport]. It returns nil when the request has no report.
func ReportOf(ctx context.Context) Report {
	in := valOf(nonNil(ctx)).in
	if in == nil || !in.report {
		return nil
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	var out Report
	for _, s := range in.order {
		c := *s
		c.Columns = append([]string(nil), s.Columns...)
		out = append(out, c)
	}
	return out
}

// String formats the report for people: one paragraph per site.
func (r Report) String() string {
	if len(r) == 0 {
		return "prefetch: no N+1 sites\n"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "prefetch: %d N+1 %s\n", len(r), plural(len(r), "site", "sites"))
	for _, s := range r {
		fmt.Fprintf(&b, "  %s\n", s)
	}
	return b.String()
}

// String describes the site on one line: where, what, how many statements
// and queries, and the fix.
func (s Site) String() string {
	return fmt.Sprintf("%s: %s, %d %s answered by %d %s; %s",
		s.at(), s.loads(), s.Statements, plural(s.Statements, "statement", "statements"),
		s.Queries, plural(s.Queries, "query", "queries"), s.fixText())
}

// lazyText describes a lazy load, for strict mode's errors and warnings.
func (s Site) lazyText() string {
	return fmt.Sprintf("%s: %s loaded one record at a time; %s", s.at(), s.loads(), s.fixText())
}

// LogValue makes a site a group of attributes in structured logs.
func (s Site) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("at", s.at()),
		slog.String("loads", s.loads()),
		slog.Int("statements", s.Statements),
		slog.Int("queries", s.Queries),
		slog.String("fix", s.Fix),
	)
}

func (s Site) at() string { return callSite{file: s.File, line: s.Line}.String() }

// loads says what was loaded one at a time: "customers (Order.Customer)".
func (s Site) loads() string {
	switch {
	case s.Relation != "":
		return fmt.Sprintf("%s (%s.%s)", s.Table, s.Model, s.Relation)
	case len(s.Columns) > 0:
		return fmt.Sprintf("%s columns %s", s.Table, strings.Join(s.Columns, ", "))
	case s.Model != "":
		return fmt.Sprintf("%s of %s", s.Table, s.Model)
	}
	return s.Table
}

func (s Site) fixText() string {
	if s.Fix == "" {
		return "no fix known"
	}
	return "fix: " + s.Fix
}

// fixFor writes the fix of a site, from what it loads and where its scope
// came from.
func fixFor(s *Site, origin callSite, viaPreload bool) string {
	records := "&" + varName(s.Model)
	switch {
	case s.Relation != "" && origin.known() && viaPreload:
		return fmt.Sprintf(`a nested Preload("….%s") on the query at %s, whose Preload loaded these records, or prefetch.Load(tx, %s, %q)`,
			s.Relation, origin, records, s.Relation)
	case s.Relation != "" && origin.known():
		return fmt.Sprintf(`Preload(%q) on the query at %s, or prefetch.Load(tx, %s, %q) after it`,
			s.Relation, origin, records, s.Relation)
	case s.Relation != "":
		return fmt.Sprintf(`prefetch.Load(tx, %s, %q) before the loop`, records, s.Relation)
	case len(s.Columns) > 0 && origin.known():
		return fmt.Sprintf(`select %s too in the query at %s, or prefetch.Load(tx, %s, %s) after it`,
			strings.Join(s.Columns, ", "), origin, records, quoteAll(s.Columns))
	case len(s.Columns) > 0:
		return fmt.Sprintf(`prefetch.Load(tx, %s, %s) before the loop`, records, quoteAll(s.Columns))
	case s.Model != "" && origin.known():
		return fmt.Sprintf(`declare the association of %s to %s and Preload it on the query at %s`, s.Model, s.Table, origin)
	}
	return ""
}

// varName guesses the variable a user holds records of a model in: Order ->
// orders, Category -> categories.
func varName(model string) string {
	if model == "" {
		return "records"
	}
	r := []rune(model)
	r[0] = unicode.ToLower(r[0])
	n := string(r)
	switch {
	case strings.HasSuffix(n, "y") && len(n) > 1 && !strings.ContainsRune("aeiou", rune(n[len(n)-2])):
		return n[:len(n)-1] + "ies"
	case strings.HasSuffix(n, "s"), strings.HasSuffix(n, "x"), strings.HasSuffix(n, "ch"), strings.HasSuffix(n, "sh"):
		return n + "es"
	}
	return n + "s"
}

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
