package prefetch_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// Tenant isolation on PostgreSQL, under the three common patterns:
//   - schema per tenant, chosen by search_path (SET on a connection taken
//     with db.Connection, or SET LOCAL in a transaction);
//   - row-level security reading a setting (set_config(..., true) in a
//     transaction, or SET on a connection);
//   - a tenant column every statement names.
//
// Both tenants have rows with the same ids. A seeded random run interleaves
// tenants and patterns on a few request contexts, with writes, and batches
// of concurrent reads; every read must equal plain GORM's and no row may
// belong to another tenant (each row names its tenant).
//
//	go test -run TenantIsolation -args -tenant-steps=500   # a quick run

var tenantSteps = flag.Int("tenant-steps", 10000, "steps of the randomized run in TestTenantIsolation")

const tenantRows = 12

// RLSUser is a row of one tenant in a table shared under row-level security.
type RLSUser struct {
	Tenant string `gorm:"primaryKey;size:8"`
	ID     uint   `gorm:"primaryKey;autoIncrement:false"`
	Name   string
}

func (RLSUser) TableName() string { return "rls_users" }

// ColUser is a row of one tenant in a table shared by a tenant column.
type ColUser struct {
	Tenant string `gorm:"primaryKey;size:8"`
	ID     uint   `gorm:"primaryKey;autoIncrement:false"`
	Name   string
}

func (ColUser) TableName() string { return "col_users" }

// setupTenants creates the tables of the three patterns, each with rows
// 1..tenantRows of tenants a and b.
func setupTenants(t *testing.T, s *side) {
	require.NoError(t, s.db.AutoMigrate(&RLSUser{}, &ColUser{}))
	for _, tn := range []string{"a", "b"} {
		sch := s.newSchema(t, "t"+tn)
		s.must(t, s.db.Exec("CREATE TABLE "+sch+".tenant_users (id bigint PRIMARY KEY, tenant text, name text)"))
		for id := 1; id <= tenantRows; id++ {
			name := fmt.Sprintf("%s%d", tn, id)
			s.must(t, s.db.Exec("INSERT INTO "+sch+".tenant_users VALUES (?, ?, ?)", id, tn, name))
			s.must(t, s.db.Create(&RLSUser{Tenant: tn, ID: uint(id), Name: name}))
			s.must(t, s.db.Create(&ColUser{Tenant: tn, ID: uint(id), Name: name}))
		}
	}
	for _, q := range []string{
		"ALTER TABLE rls_users ENABLE ROW LEVEL SECURITY",
		"ALTER TABLE rls_users FORCE ROW LEVEL SECURITY",
		"CREATE POLICY by_tenant ON rls_users USING (tenant = current_setting('app.tenant', true))",
	} {
		s.must(t, s.db.Exec(q))
	}
}

// tenantRun is one side of the randomized run.
type tenantRun struct {
	s    *side
	ctxs []context.Context
	bad  []string // rows of another tenant, found by checkTenant
	mu   sync.Mutex
}

// tenantOp is one operation on one tenant under one pattern: reads return
// what they saw, writes what they changed.
type tenantOp func(db *gorm.DB, tenant string, r *rand.Rand) []any

func tenantIDs(r *rand.Rand) []int {
	ids := make([]int, 1+r.IntN(4))
	for i := range ids {
		ids[i] = 1 + r.IntN(tenantRows+2) // a few ids with no row
	}
	return ids
}

// The operations of each pattern. db is already bound to the tenant (a
// connection or a transaction) except for the tenant-column pattern.
var (
	schemaOps = []tenantOp{
		func(db *gorm.DB, _ string, r *rand.Rand) []any {
			var u TenantUser
			res := db.First(&u, 1+r.IntN(tenantRows+2))
			return []any{errText(res.Error), res.RowsAffected, u}
		},
		func(db *gorm.DB, _ string, r *rand.Rand) []any {
			var us []TenantUser
			res := db.Find(&us, tenantIDs(r))
			return []any{errText(res.Error), res.RowsAffected, sortByID(us, func(u TenantUser) uint { return u.ID })}
		},
		func(db *gorm.DB, _ string, r *rand.Rand) []any {
			res := db.Model(&TenantUser{ID: uint(1 + r.IntN(tenantRows))}).Update("name", fmt.Sprintf("w%d", r.IntN(1000)))
			return []any{errText(res.Error), res.RowsAffected}
		},
	}
	rlsOps = []tenantOp{
		func(db *gorm.DB, _ string, r *rand.Rand) []any {
			var u RLSUser
			res := db.Where("id = ?", 1+r.IntN(tenantRows+2)).Take(&u)
			return []any{errText(res.Error), res.RowsAffected, u}
		},
		func(db *gorm.DB, _ string, r *rand.Rand) []any {
			var us []RLSUser
			res := db.Where("id IN ?", tenantIDs(r)).Find(&us)
			return []any{errText(res.Error), res.RowsAffected, sortByID(us, func(u RLSUser) uint { return u.ID })}
		},
		func(db *gorm.DB, _ string, r *rand.Rand) []any {
			res := db.Model(&RLSUser{}).Where("id = ?", 1+r.IntN(tenantRows)).Update("name", fmt.Sprintf("w%d", r.IntN(1000)))
			return []any{errText(res.Error), res.RowsAffected}
		},
	}
	columnOps = []tenantOp{
		func(db *gorm.DB, tenant string, r *rand.Rand) []any {
			var u ColUser
			res := db.Where("tenant = ? AND id = ?", tenant, 1+r.IntN(tenantRows+2)).Take(&u)
			return []any{errText(res.Error), res.RowsAffected, u}
		},
		func(db *gorm.DB, tenant string, r *rand.Rand) []any {
			var us []ColUser
			res := db.Where("tenant = ? AND id IN ?", tenant, tenantIDs(r)).Find(&us)
			return []any{errText(res.Error), res.RowsAffected, sortByID(us, func(u ColUser) uint { return u.ID })}
		},
		func(db *gorm.DB, tenant string, r *rand.Rand) []any {
			res := db.Model(&ColUser{}).Where("tenant = ? AND id = ?", tenant, 1+r.IntN(tenantRows)).Update("name", fmt.Sprintf("w%d", r.IntN(1000)))
			return []any{errText(res.Error), res.RowsAffected}
		},
	}
)

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// step runs one to three operations of one pattern for one tenant, in the
// way the pattern binds a tenant. readOnly leaves the writes out.
func (tr *tenantRun) step(ctx context.Context, r *rand.Rand, readOnly bool) []any {
	tenant := []string{"a", "b"}[r.IntN(2)]
	pattern, mode := r.IntN(3), r.IntN(2)
	n := 1 + r.IntN(3)
	run := func(db *gorm.DB, ops []tenantOp) []any {
		out := []any{pattern, mode, tenant}
		for range n {
			k := r.IntN(len(ops))
			if readOnly {
				k = r.IntN(len(ops) - 1)
			}
			got := ops[k](db.Session(&gorm.Session{}), tenant, r)
			tr.checkTenant(tenant, got)
			out = append(out, got)
		}
		return out
	}
	db := tr.s.db.WithContext(ctx)
	var out []any
	inTx := func(set string, args []any, ops []tenantOp) {
		err := db.Transaction(func(tx *gorm.DB) error {
			if err := tx.Exec(set, args...).Error; err != nil {
				return err
			}
			out = run(tx, ops)
			return nil
		})
		out = append(out, errText(err))
	}
	onConn := func(set, reset string, ops []tenantOp) {
		err := db.Connection(func(c *gorm.DB) error {
			if err := c.Session(&gorm.Session{}).Exec(set).Error; err != nil {
				return err
			}
			out = run(c, ops)
			return c.Session(&gorm.Session{}).Exec(reset).Error
		})
		out = append(out, errText(err))
	}
	schema := tr.s.name("t" + tenant)
	switch {
	case pattern == 0 && mode == 0:
		onConn("SET search_path TO "+schema, "RESET search_path", schemaOps)
	case pattern == 0:
		inTx("SET LOCAL search_path TO "+schema, nil, schemaOps)
	case pattern == 1 && mode == 0:
		onConn("SET app.tenant = '"+tenant+"'", "RESET app.tenant", rlsOps)
	case pattern == 1:
		inTx("SELECT set_config('app.tenant', ?, true)", []any{tenant}, rlsOps)
	case mode == 0:
		out = run(db, columnOps)
	default:
		inTx("SELECT 1", nil, columnOps)
	}
	return out
}

// checkTenant records every row in got that belongs to another tenant.
func (tr *tenantRun) checkTenant(tenant string, got []any) {
	for _, v := range got {
		rv := reflect.ValueOf(v)
		rows := []reflect.Value{rv}
		if rv.Kind() == reflect.Slice {
			rows = rows[:0]
			for i := range rv.Len() {
				rows = append(rows, rv.Index(i))
			}
		}
		for _, row := range rows {
			if row.Kind() != reflect.Struct {
				continue
			}
			if f := row.FieldByName("Tenant"); f.IsValid() && f.String() != "" && f.String() != tenant {
				tr.mu.Lock()
				tr.bad = append(tr.bad, fmt.Sprintf("tenant %s got %+v", tenant, row.Interface()))
				tr.mu.Unlock()
			}
		}
	}
}

func TestTenantIsolation(t *testing.T) {
	for _, path := range servedPaths(true) {
		t.Run(path, func(t *testing.T) {
			defer forceReplay(path)()
			if testing.Short() && *tenantSteps > 1000 {
				*tenantSteps = 1000
			}
			newRun := func(s *side) *tenantRun {
				tr := &tenantRun{s: s}
				for range 3 {
					tr.ctxs = append(tr.ctxs, tr.newCtx())
				}
				return tr
			}
			plainSide := openSide(t, "postgres", false, compareOpts{})
			plugSide := openSide(t, "postgres", true, compareOpts{})
			setupTenants(t, plainSide)
			setupTenants(t, plugSide)
			plain, plug := newRun(plainSide), newRun(plugSide)
			rng := rand.New(rand.NewPCG(7, 11))
			for step := 0; step < *tenantSteps; step++ {
				s1, s2 := rng.Uint64(), rng.Uint64()
				c := rng.IntN(len(plain.ctxs))
				var want, got any
				switch k := rng.IntN(20); {
				case k == 0: // a new request on one of the contexts
					plain.ctxs[c], plug.ctxs[c] = plain.newCtx(), plug.newCtx()
					continue
				case k <= 2: // concurrent reads on several contexts, one shared
					want = plain.concurrent(s1, s2)
					got = plug.concurrent(s1, s2)
				default:
					want = plain.step(plain.ctxs[c], rand.New(rand.NewPCG(s1, s2)), false)
					got = plug.step(plug.ctxs[c], rand.New(rand.NewPCG(s1, s2)), false)
				}
				require.Empty(t, plain.bad, "plain GORM returned another tenant's rows: the test is wrong")
				require.Empty(t, plug.bad, "step %d: rows of another tenant", step)
				if !reflect.DeepEqual(want, got) {
					w, _ := json.Marshal(want)
					g, _ := json.Marshal(got)
					t.Fatalf("step %d: the plugin disagrees with plain GORM\nplain:  %s\nplugin: %s", step, w, g)
				}
			}
		})
	}
}

func (tr *tenantRun) newCtx() context.Context {
	if tr.s.plugin {
		return prefetch.NewContext(context.Background())
	}
	return context.Background()
}

// concurrent runs four read-only steps at once, two of them on one context.
func (tr *tenantRun) concurrent(s1, s2 uint64) []any {
	out := make([]any, 4)
	var wg sync.WaitGroup
	for i := range out {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := tr.ctxs[max(i-1, 0)%len(tr.ctxs)]
			out[i] = tr.step(ctx, rand.New(rand.NewPCG(s1+uint64(i), s2)), true)
		}()
	}
	wg.Wait()
	return out
}
