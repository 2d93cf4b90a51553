package benchmarks

import (
	"testing"
	"time"

	"github.com/gorm-prefetch/prefetch"
)

// BenchmarkLoadInterleaved measures Load against hand-written Preload with
// the alternatives interleaved within every iteration (their order rotated
// from one iteration to the next), so that a machine shared with other
// work slows all of them alike: each alternative's time is reported as a
// ratio to Preload's over the same iterations ("x-preload"), beside
// Preload's own time per request ("preload-ns"). Scenarios (b), (c), (d)
// and the work of (h)'s handler without HTTP and JSON:
//
//   - load: Load of the whole slice (nested names for (d));
//   - load-each: Load record by record, as a lazy-loading loop writes it;
//   - load-again: a second Load of the slice (b) once it is loaded, alone;
//   - loop: the unmodified N+1 loop with the plugin.
func BenchmarkLoadInterleaved(b *testing.B) {
	for _, d := range dialects(b) {
		e := getEnv(b, d, defaultSizes())
		type alt struct {
			name string
			run  func() time.Duration // the time to count
		}
		timed := func(fn func()) func() time.Duration {
			return func() time.Duration { t0 := time.Now(); fn(); return time.Since(t0) }
		}
		scenarios := []struct {
			name    string
			preload func()
			alts    []alt
		}{
			{"b-orders-customer", func() {
				var os []Order
				must(b, e.plain.Preload("Customer").Find(&os).Error)
			}, []alt{
				{"load", timed(func() {
					db := e.request()
					var os []Order
					must(b, db.Find(&os).Error)
					must(b, prefetch.Load(db, &os, "Customer"))
				})},
				{"load-each", timed(func() {
					db := e.request()
					var os []Order
					must(b, db.Find(&os).Error)
					for i := range os {
						must(b, prefetch.Load(db, &os[i], "Customer"))
					}
				})},
				{"load-again", func() time.Duration {
					db := e.request()
					var os []Order
					must(b, db.Find(&os).Error)
					must(b, prefetch.Load(db, &os, "Customer"))
					t0 := time.Now()
					must(b, prefetch.Load(db, &os, "Customer"))
					return time.Since(t0)
				}},
				{"loop", timed(func() { ordersThenCustomers(b, e.request()) })},
			}},
			{"c-customer-orders", func() {
				var cs []Customer
				must(b, e.plain.Preload("Orders").Limit(100).Order("id").Find(&cs).Error)
			}, []alt{
				{"load", timed(func() {
					db := e.request()
					var cs []Customer
					must(b, db.Limit(100).Order("id").Find(&cs).Error)
					must(b, prefetch.Load(db, &cs, "Orders"))
				})},
				{"load-each", timed(func() {
					db := e.request()
					var cs []Customer
					must(b, db.Limit(100).Order("id").Find(&cs).Error)
					for i := range cs {
						must(b, prefetch.Load(db, &cs[i], "Orders"))
					}
				})},
				{"loop", timed(func() {
					db := e.request()
					var cs []Customer
					must(b, db.Limit(100).Order("id").Find(&cs).Error)
					for i := range cs {
						must(b, db.Model(&cs[i]).Association("Orders").Find(&cs[i].Orders))
					}
				})},
			}},
			{"d-three-levels", func() {
				var os []Order
				must(b, e.plain.Preload("Lines.Product").Limit(200).Order("id").Find(&os).Error)
			}, []alt{
				{"load", timed(func() {
					db := e.request()
					var os []Order
					must(b, db.Limit(200).Order("id").Find(&os).Error)
					must(b, prefetch.Load(db, &os, "Lines.Product"))
				})},
				{"load-each", timed(func() {
					db := e.request()
					var os []Order
					must(b, db.Limit(200).Order("id").Find(&os).Error)
					for i := range os {
						must(b, prefetch.Load(db, &os[i], "Lines"))
						for j := range os[i].Lines {
							must(b, prefetch.Load(db, &os[i].Lines[j], "Product"))
						}
					}
				})},
				{"loop", timed(func() {
					db := e.request()
					var os []Order
					must(b, db.Limit(200).Order("id").Find(&os).Error)
					for i := range os {
						must(b, db.Model(&os[i]).Association("Lines").Find(&os[i].Lines))
						for j := range os[i].Lines {
							l := &os[i].Lines[j]
							must(b, db.First(&l.Product, l.ProductID).Error)
						}
					}
				})},
			}},
			{"h-handler", func() {
				var os []Order
				must(b, e.plain.Preload("Customer").Preload("Lines").Limit(100).Order("id").Find(&os).Error)
			}, []alt{
				{"load-each", timed(func() {
					db := e.request()
					var os []Order
					must(b, db.Limit(100).Order("id").Find(&os).Error)
					for i := range os {
						must(b, prefetch.Load(db, &os[i], "Customer", "Lines"))
					}
				})},
				{"loop", timed(func() {
					db := e.request()
					var os []Order
					must(b, db.Limit(100).Order("id").Find(&os).Error)
					for i := range os {
						must(b, db.First(&os[i].Customer, os[i].CustomerID).Error)
						must(b, db.Where("order_id = ?", os[i].ID).Find(&os[i].Lines).Error)
					}
				})},
			}},
		}
		for _, sc := range scenarios {
			b.Run("db="+d+"/scenario="+sc.name, func(b *testing.B) {
				var base time.Duration
				spent := make([]time.Duration, len(sc.alts))
				n := len(sc.alts) + 1
				for i := 0; i < b.N; i++ {
					for k := 0; k < n; k++ {
						switch j := (i + k) % n; j {
						case 0:
							t0 := time.Now()
							sc.preload()
							base += time.Since(t0)
						default:
							spent[j-1] += sc.alts[j-1].run()
						}
					}
				}
				b.ReportMetric(float64(base.Nanoseconds())/float64(b.N), "preload-ns")
				for j, a := range sc.alts {
					b.ReportMetric(float64(spent[j])/float64(base), a.name+"-x-preload")
				}
			})
		}
	}
}
