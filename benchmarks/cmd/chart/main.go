// Command chart turns raw `go test -bench` output into what
// docs/benchmarks.md shows: a markdown table per scenario (medians and
// ratios), a chart of scenario (b), time per request of each alternative,
// and one of scenario (g), cost per record against scope size.
//
//	go run ./cmd/chart -out results/latest results/latest-sqlite.txt results/latest-postgres.txt
//
// The inputs (arguments, or -in when there are none) are read as one run:
// run.sh writes a file per database.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// sample is one benchmark line.
type sample struct {
	bench  string            // BenchmarkOrdersCustomer
	keys   map[string]string // db, alt, scope...
	values map[string]float64
}

var (
	lineRE  = regexp.MustCompile(`^(Benchmark\w+)(\S*)\s+\d+\s+(.*)$`)
	procsRE = regexp.MustCompile(`-\d+$`) // the GOMAXPROCS suffix
)

func parse(path string) ([]sample, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []sample
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := lineRE.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		s := sample{bench: m[1], keys: map[string]string{}, values: map[string]float64{}}
		for _, part := range strings.Split(strings.Trim(procsRE.ReplaceAllString(m[2], ""), "/"), "/") {
			if k, v, ok := strings.Cut(part, "="); ok {
				s.keys[k] = v
			}
		}
		f := strings.Fields(m[3])
		for i := 0; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				s.values[f[i+1]] = v
			}
		}
		out = append(out, s)
	}
	return out, sc.Err()
}

// median of the unit over samples matching bench and keys.
func median(samples []sample, bench string, unit string, keys map[string]string) (float64, bool) {
	var vs []float64
	for _, s := range samples {
		if s.bench != bench {
			continue
		}
		match := true
		for k, v := range keys {
			if s.keys[k] != v {
				match = false
			}
		}
		if v, ok := s.values[unit]; match && ok {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		return 0, false
	}
	sort.Float64s(vs)
	return vs[len(vs)/2], true
}

func values(samples []sample, bench, key string) []string {
	var out []string
	for _, s := range samples {
		if v := s.keys[key]; s.bench == bench && v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func main() {
	in := flag.String("in", "", "raw benchmark output, when no files are given as arguments (default: results/latest-*.txt, run.sh's latest run on each database)")
	out := flag.String("out", "results/latest", "prefix of the output files: PNG charts and a markdown file of tables")
	flag.Parse()
	inputs := flag.Args()
	if len(inputs) == 0 && *in != "" {
		inputs = []string{*in}
	}
	if len(inputs) == 0 {
		inputs, _ = filepath.Glob("results/latest-*.txt")
	}
	if len(inputs) == 0 {
		log.Fatal("no benchmark output: give files as arguments or with -in")
	}
	var samples []sample
	for _, path := range inputs {
		s, err := parse(path)
		if err != nil {
			log.Fatal(err)
		}
		samples = append(samples, s...)
	}
	md, err := os.Create(*out + "-tables.md")
	if err != nil {
		log.Fatal(err)
	}
	writeTables(md, samples)
	if err := md.Close(); err != nil {
		log.Fatal(err)
	}
	if err := ordersChart(samples, *out+"-orders-customer.png"); err != nil {
		log.Fatal(err)
	}
	if err := scopeChart(samples, *out+"-scope-size.png"); err != nil {
		log.Fatal(err)
	}
}

// ordersChart: scenario (b), one group of bars per database.
func ordersChart(samples []sample, path string) error {
	const bench = "BenchmarkOrdersCustomer"
	dbs, alts := values(samples, bench, "db"), values(samples, bench, "alt")
	if len(dbs) == 0 {
		return nil
	}
	p := plot.New()
	p.Title.Text = "1000 orders, then each order's customer (median time per request)"
	p.Y.Label.Text = "ms"
	w := vg.Points(14)
	for i, db := range dbs {
		var vs plotter.Values
		for _, alt := range alts {
			v, _ := median(samples, bench, "ns/op", map[string]string{"db": db, "alt": alt})
			vs = append(vs, v/1e6)
		}
		bars, err := plotter.NewBarChart(vs, w)
		if err != nil {
			return err
		}
		bars.Color = plotutil.Color(i)
		bars.Offset = w * vg.Length(float64(i)-float64(len(dbs)-1)/2)
		p.Add(bars)
		p.Legend.Add(db, bars)
	}
	p.Legend.Top = true
	p.NominalX(alts...)
	return p.Save(vg.Length(80+70*len(alts))*vg.Points(1), 320, path)
}

// scopeChart: scenario (g), ns per record against scope size, log scale.
func scopeChart(samples []sample, path string) error {
	const bench = "BenchmarkScopeSize"
	dbs := values(samples, bench, "db")
	if len(dbs) == 0 {
		return nil
	}
	p := plot.New()
	p.Title.Text = "Cost per record against scope size (orders, then each order's customer)"
	p.X.Label.Text = "records in the scope (log10)"
	p.Y.Label.Text = "ns per record"
	i := 0
	for _, db := range dbs {
		for _, alt := range []string{"prefetch-loop", "preload"} {
			var pts plotter.XYs
			for _, sc := range values(samples, bench, "scope") {
				n, _ := strconv.Atoi(sc)
				if v, ok := median(samples, bench, "ns/record", map[string]string{"db": db, "alt": alt, "scope": sc}); ok {
					pts = append(pts, plotter.XY{X: math.Log10(float64(n)), Y: v})
				}
			}
			if len(pts) == 0 {
				continue
			}
			sort.Slice(pts, func(a, b int) bool { return pts[a].X < pts[b].X })
			line, points, err := plotter.NewLinePoints(pts)
			if err != nil {
				return err
			}
			line.Color, points.Color = plotutil.Color(i), plotutil.Color(i)
			line.Dashes = plotutil.Dashes(i)
			p.Add(line, points)
			p.Legend.Add(fmt.Sprintf("%s %s", db, alt), line, points)
			i++
		}
	}
	p.Legend.Top = true
	return p.Save(640, 360, path)
}
