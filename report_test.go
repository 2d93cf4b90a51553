package prefetch_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// line returns the line it is called from.
func line() int {
	_, _, n, _ := runtime.Caller(1)
	return n
}

// n1Case is an N+1 loop: a query whose result forms a scope (origin), then
// one statement per record (loop). Both return what the loop read, so the
// suggested Preload can be checked against it.
type n1Case struct {
	name     string
	table    string // table of the rows the loop loads, without prefix
	model    string
	relation string
	columns  []string
	// run runs the loop and returns what it read and the lines of the
	// origin query and of the loop's statement.
	run func(t *testing.T, db *gorm.DB) (read map[uint]string, origin, loop int)
	// preload reads the same with Preload(relation) on the origin query.
	preload func(t *testing.T, db *gorm.DB, relation string) map[uint]string
}

var n1Cases = []n1Case{
	{
		name: "belongs-to", table: "customers", model: "Order", relation: "Customer",
		run: func(t *testing.T, db *gorm.DB) (map[uint]string, int, int) {
			var orders []Order
			origin := line() + 1
			require.NoError(t, db.Order("id").Find(&orders).Error)
			read := map[uint]string{}
			loop := line() + 3
			for _, o := range orders {
				var c Customer
				require.NoError(t, db.First(&c, o.CustomerID).Error)
				read[o.ID] = c.Name
			}
			return read, origin, loop
		},
		preload: func(t *testing.T, db *gorm.DB, relation string) map[uint]string {
			var orders []Order
			require.NoError(t, db.Preload(relation).Order("id").Find(&orders).Error)
			read := map[uint]string{}
			for _, o := range orders {
				read[o.ID] = o.Customer.Name
			}
			return read
		},
	},
	{
		name: "has-many", table: "orders", model: "Customer", relation: "Orders",
		run: func(t *testing.T, db *gorm.DB) (map[uint]string, int, int) {
			var cs []Customer
			origin := line() + 1
			require.NoError(t, db.Order("id").Find(&cs).Error)
			read := map[uint]string{}
			loop := line() + 3
			for _, c := range cs {
				var os []Order
				require.NoError(t, db.Where("customer_id = ?", c.ID).Order("id").Find(&os).Error)
				read[c.ID] = fmt.Sprint(amounts(os))
			}
			return read, origin, loop
		},
		preload: func(t *testing.T, db *gorm.DB, relation string) map[uint]string {
			var cs []Customer
			require.NoError(t, db.Preload(relation, func(db *gorm.DB) *gorm.DB { return db.Order("id") }).Order("id").Find(&cs).Error)
			read := map[uint]string{}
			for _, c := range cs {
				read[c.ID] = fmt.Sprint(amounts(c.Orders))
			}
			return read
		},
	},
	{
		name: "has-one", table: "profiles", model: "Customer", relation: "Profile",
		run: func(t *testing.T, db *gorm.DB) (map[uint]string, int, int) {
			var cs []Customer
			origin := line() + 1
			require.NoError(t, db.Order("id").Find(&cs).Error)
			read := map[uint]string{}
			loop := line() + 3
			for _, c := range cs {
				var ps []Profile
				require.NoError(t, db.Where("customer_id = ?", c.ID).Find(&ps).Error)
				read[c.ID] = fmt.Sprint(bios(ps))
			}
			return read, origin, loop
		},
		preload: func(t *testing.T, db *gorm.DB, relation string) map[uint]string {
			var cs []Customer
			require.NoError(t, db.Preload(relation).Order("id").Find(&cs).Error)
			read := map[uint]string{}
			for _, c := range cs {
				var ps []Profile
				if c.Profile != nil {
					ps = append(ps, *c.Profile)
				}
				read[c.ID] = fmt.Sprint(bios(ps))
			}
			return read
		},
	},
	{
		name: "columns", table: "customers", model: "Customer", columns: []string{"Email", "CreatedAt"},
		run: func(t *testing.T, db *gorm.DB) (map[uint]string, int, int) {
			var cs []Customer
			origin := line() + 1
			require.NoError(t, db.Select("id", "name", "region_id", "notes", "deleted_at").Order("id").Find(&cs).Error)
			read := map[uint]string{}
			loop := line() + 3
			for _, c := range cs {
				var full Customer
				require.NoError(t, db.Select("id", "email", "created_at").First(&full, c.ID).Error)
				read[c.ID] = fmt.Sprint(full.Email != nil, full.CreatedAt.Unix())
			}
			return read, origin, loop
		},
	},
}

func amounts(os []Order) []int {
	out := make([]int, len(os))
	for i, o := range os {
		out[i] = o.Amount
	}
	return out
}

func bios(ps []Profile) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Bio
	}
	return out
}

func TestReportNamesTheLoopTheScopesQueryAndCountsWhatTheDriverSees(t *testing.T) {
	for _, tc := range n1Cases {
		t.Run(tc.name, func(t *testing.T) {
			each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
				e.seed(t, 12, 2)
				ctx := prefetch.NewContext(context.Background(), prefetch.WithReport())
				var read map[uint]string
				var origin, loop int
				withPlugin := e.queries(t, func() { read, origin, loop = tc.run(t, e.db.WithContext(ctx)) })
				var plainRead map[uint]string
				plain := e.queries(t, func() { plainRead, _, _ = tc.run(t, e.plain) })
				require.Equal(t, plainRead, read)

				r := prefetch.ReportOf(ctx)
				require.Len(t, r, 1, r.String())
				s := r[0]
				require.Equal(t, "report_test.go", filepath.Base(s.File))
				require.Equal(t, loop, s.Line, r.String())
				require.Equal(t, "report_test.go", filepath.Base(s.OriginFile))
				require.Equal(t, origin, s.OriginLine, r.String())
				require.NotEmpty(t, s.Function)
				require.Equal(t, e.table(tc.table), s.Table)
				require.Equal(t, tc.model, s.Model)
				require.Equal(t, tc.relation, s.Relation)
				require.Equal(t, tc.columns, s.Columns)
				// Without the plugin the loop sends one query per statement;
				// with it, the batch loads: each beside the origin query.
				require.Equal(t, plain-1, int64(s.Statements), r.String())
				require.Equal(t, withPlugin-1, int64(s.Queries), r.String())
				at := fmt.Sprintf("report_test.go:%d", origin)
				require.Contains(t, s.Fix, at)

				if tc.preload == nil {
					return
				}
				require.Contains(t, s.Fix, fmt.Sprintf("Preload(%q) on the query at", tc.relation))
				var preloaded map[uint]string
				e.requireQueries(t, 2, func() { preloaded = tc.preload(t, e.plain, s.Relation) })
				require.Equal(t, plainRead, preloaded)
			})
		})
	}
}

// table returns the name of a table under the env's naming (PostgreSQL
// tests prefix theirs).
func (e *env) table(name string) string {
	return e.plain.NamingStrategy.TableName(name)
}

func TestReportLeavesOutPreloadLoadAndServedLookups(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		e.seed(t, 12, 2)
		ctx := prefetch.NewContext(context.Background(), prefetch.WithReport())
		db := e.db.WithContext(ctx)

		var orders []Order
		require.NoError(t, db.Preload("Customer").Find(&orders).Error)
		for _, o := range orders {
			require.NoError(t, db.First(&Customer{}, o.CustomerID).Error) // served: Preload loaded them
		}
		var cs []Customer
		require.NoError(t, db.Find(&cs).Error)
		require.NoError(t, prefetch.Load(db, &cs, "Orders", "Profile"))
		var more []Order
		require.NoError(t, db.Where("amount > ?", 0).Find(&more).Error)
		for i := range more {
			require.NoError(t, prefetch.Load(db, &more[i], "Lines"))
		}
		require.Empty(t, prefetch.ReportOf(ctx))
		require.Equal(t, "prefetch: no N+1 sites\n", prefetch.ReportOf(ctx).String())
	})
}

func TestReportIsNilWithoutWithReport(t *testing.T) {
	e := openSQLite(t, prefetch.Plugin{})
	e.seed(t, 5, 1)
	for _, ctx := range []context.Context{
		context.Background(),
		prefetch.NewContext(context.Background()),
		prefetch.NewContext(context.Background(), prefetch.WithStrictLog(nil)),
	} {
		db := e.db.WithContext(ctx)
		var orders []Order
		require.NoError(t, db.Find(&orders).Error)
		for _, o := range orders {
			require.NoError(t, db.First(&Customer{}, o.CustomerID).Error)
		}
		require.Nil(t, prefetch.ReportOf(ctx))
	}
}

func TestReportCountsStatementsOfEveryLoopAnsweredByASitesRows(t *testing.T) {
	e := openSQLite(t, prefetch.Plugin{})
	e.seed(t, 10, 2)
	ctx := prefetch.NewContext(context.Background(), prefetch.WithReport())
	db := e.db.WithContext(ctx)
	var orders []Order
	require.NoError(t, db.Find(&orders).Error)
	for _, o := range orders {
		require.NoError(t, db.First(&Customer{}, o.CustomerID).Error)
	}
	for _, o := range orders[:5] { // again, from another line: served from the same rows
		require.NoError(t, db.First(&Customer{}, o.CustomerID).Error)
	}
	r := prefetch.ReportOf(ctx)
	require.Len(t, r, 1)
	require.Equal(t, len(orders)+5, r[0].Statements)
	require.Equal(t, 1, r[0].Queries)
}
