package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// scenarios lists the benchmarks of docs/benchmarks.md, with the alternative
// that serves as "plain GORM" and the one that serves as "Preload".
var scenarios = []struct {
	bench, title, plain, preload string
}{
	{"BenchmarkRepeatedLookup", "(a) a primary-key lookup repeated within a request", "plain", "floor-dryrun"},
	{"BenchmarkOrdersCustomer", "(b) 1000 orders, then each order's customer", "plain-n+1", "preload"},
	{"BenchmarkCustomerOrders", "(c) 100 customers, then each customer's orders", "plain-n+1", "preload"},
	{"BenchmarkThreeLevels", "(d) 200 orders, their lines, each line's product", "plain-n+1", "preload"},
	{"BenchmarkUncacheable", "(e) statements prefetch cannot help", "plain", ""},
	{"BenchmarkUpdateByKey", "(f) updates by key", "plain", ""},
	{"BenchmarkScopeSize", "(g) scope sizes", "", "preload"},
	{"BenchmarkHTTP", "(h) an HTTP endpoint: JSON of 100 orders with customers and lines", "plain-n+1", "preload"},
	{"BenchmarkProductTags", "many2many: 100 products, then each product's tags", "plain-n+1", "preload"},
}

// writeTables writes one markdown table per scenario and database: median
// time, allocations and queries per op of each alternative, with ratios.
func writeTables(w io.Writer, samples []sample) {
	for _, sc := range scenarios {
		dbs := values(samples, sc.bench, "db")
		if len(dbs) == 0 {
			continue
		}
		fmt.Fprintf(w, "### %s\n\n", sc.title)
		groups := groupKeys(samples, sc.bench)
		for _, db := range dbs {
			for _, g := range groups {
				keys := map[string]string{"db": db}
				label := db
				for k, v := range g {
					keys[k] = v
					label += fmt.Sprintf(", %s=%s", k, v)
				}
				writeTable(w, samples, sc.bench, label, keys, sc.plain, sc.preload)
			}
		}
	}
}

// groupKeys returns the combinations of keys other than db and alt (stmt,
// scope) that split a scenario into several tables.
func groupKeys(samples []sample, bench string) []map[string]string {
	var out []map[string]string
	seen := map[string]bool{}
	for _, s := range samples {
		if s.bench != bench {
			continue
		}
		g := map[string]string{}
		var id []string
		for k, v := range s.keys {
			if k != "db" && k != "alt" {
				g[k] = v
				id = append(id, k+"="+v)
			}
		}
		slices.Sort(id)
		if key := strings.Join(id, ","); !seen[key] {
			seen[key] = true
			out = append(out, g)
		}
	}
	return out
}

func writeTable(w io.Writer, samples []sample, bench, label string, keys map[string]string, plain, preload string) {
	alts := []string{}
	for _, s := range samples {
		match := s.bench == bench
		for k, v := range keys {
			match = match && s.keys[k] == v
		}
		if match && !slices.Contains(alts, s.keys["alt"]) {
			alts = append(alts, s.keys["alt"])
		}
	}
	if len(alts) == 0 {
		return
	}
	get := func(alt, unit string) (float64, bool) {
		k := map[string]string{"alt": alt}
		for kk, v := range keys {
			k[kk] = v
		}
		return median(samples, bench, unit, k)
	}
	fmt.Fprintf(w, "%s:\n\n| alternative | time/op | allocs/op | queries/op | vs %s | vs %s |\n|---|---:|---:|---:|---:|---:|\n",
		label, orDash(plain), orDash(preload))
	base, _ := get(plain, "ns/op")
	pre, _ := get(preload, "ns/op")
	for _, alt := range alts {
		t, _ := get(alt, "ns/op")
		a, _ := get(alt, "allocs/op")
		q, _ := get(alt, "queries/op")
		extra := ""
		if v, ok := get(alt, "B/row"); ok {
			x, _ := get(alt, "x-struct")
			extra = fmt.Sprintf(" (%.0f B/row, %.2fx the struct)", v, x)
		}
		if v, ok := get(alt, "req/s"); ok {
			extra = fmt.Sprintf(" (%.0f req/s)", v)
		}
		fmt.Fprintf(w, "| %s%s | %s | %.0f | %g | %s | %s |\n", alt, extra, dur(t), a, q, ratio(t, base), ratio(t, pre))
	}
	fmt.Fprintln(w)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func ratio(v, base float64) string {
	if base == 0 || v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", v/base)
}

func dur(ns float64) string {
	switch {
	case ns >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	}
	return fmt.Sprintf("%.0f ns", ns)
}
