package prefetch_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

func TestStrictFailsALoopAtItsFirstLazyLoad(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		e.seed(t, 10, 2)
		ctx := prefetch.NewContext(context.Background(), prefetch.WithStrict())
		db := e.db.WithContext(ctx)

		var orders []Order
		origin := line() + 1
		require.NoError(t, db.Find(&orders).Error)
		var c Customer
		var err error
		at := line() + 1
		e.requireQueries(t, 0, func() { err = db.First(&c, orders[0].CustomerID).Error })
		require.ErrorIs(t, err, prefetch.ErrLazyLoad)
		require.Zero(t, c.ID, "the destination is left as it was")
		msg := err.Error()
		require.Contains(t, msg, fmt.Sprintf("strict_test.go:%d", at))
		require.Contains(t, msg, `Preload("Customer") on the query at `)
		require.Contains(t, msg, fmt.Sprintf("/strict_test.go:%d, or", origin))
		require.Contains(t, msg, `prefetch.Load(tx, &orders, "Customer")`)

		var cs []Customer
		require.NoError(t, db.Find(&cs).Error)
		var os []Order
		err = db.Model(&cs[1]).Association("Orders").Find(&os)
		require.ErrorIs(t, err, prefetch.ErrLazyLoad)
		require.Contains(t, err.Error(), `Preload("Orders")`)
		require.Zero(t, prefetch.StatsOf(ctx).BatchLoads)
	})
}

func TestStrictLetsPreloadLoadAndServedStatementsPass(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		e.seed(t, 10, 2)
		ctx := prefetch.NewContext(context.Background(), prefetch.WithStrict())
		db := e.db.WithContext(ctx)

		var orders []Order
		require.NoError(t, db.Preload("Customer").Preload("Lines.Product").Find(&orders).Error)
		e.requireQueries(t, 0, func() {
			for _, o := range orders {
				require.NoError(t, db.First(&Customer{}, o.CustomerID).Error)
			}
		})
		var cs []Customer
		require.NoError(t, db.Find(&cs).Error)
		require.NoError(t, prefetch.Load(db, &cs, "Orders", "Profile", "Tags"))
		var more []Order
		require.NoError(t, db.Where("amount > ?", 0).Find(&more).Error)
		for i := range more {
			require.NoError(t, prefetch.Load(db, &more[i], "Customer", "Lines"))
		}
		var picked []Customer
		require.NoError(t, db.Select("id", "name").Find(&picked).Error)
		require.NoError(t, prefetch.Load(db, &picked, "Email"))
		var one Customer
		require.NoError(t, db.First(&one, cs[0].ID).Error) // cached whole: served
	})
}

// strictOps are reads and writes with no lazy load: strict mode must leave
// every result and error as plain GORM gives them. Their order matters: a
// lookup by key of a customer that a result of orders references is a lazy
// load (the plugin would widen it), so lookups come before the lists.
var strictOps = []struct {
	name string
	run  func(db *gorm.DB) (any, error)
}{
	{"first by key twice", func(db *gorm.DB) (any, error) {
		var a, b Customer
		err := db.First(&a, 3).Error
		return []Customer{a, b}, errors.Join(err, db.First(&b, 3).Error)
	}},
	{"missing key", func(db *gorm.DB) (any, error) { var c Customer; return c, db.First(&c, 999).Error }},
	{"in list", func(db *gorm.DB) (any, error) { var cs []Customer; return cs, db.Find(&cs, []uint{1, 2, 3}).Error }},
	{"find", func(db *gorm.DB) (any, error) { var os []Order; return os, db.Order("id").Find(&os).Error }},
	{"preload", func(db *gorm.DB) (any, error) {
		var cs []Customer
		return cs, db.Preload("Orders.Lines.Product").Preload("Region").Preload("Tags").Order("id").Find(&cs).Error
	}},
	{"load", func(db *gorm.DB) (any, error) {
		var os []Order
		if err := db.Order("id").Find(&os).Error; err != nil {
			return nil, err
		}
		return os, prefetch.Load(db, &os, "Customer", "Lines")
	}},
	{"joins", func(db *gorm.DB) (any, error) {
		var os []Order
		return os, db.Joins("Customer").Order(clause.OrderByColumn{Column: clause.Column{Table: clause.CurrentTable, Name: "id"}}).Find(&os).Error
	}},
	{"count", func(db *gorm.DB) (any, error) { var n int64; return n, db.Model(&Order{}).Count(&n).Error }},
	{"update then read", func(db *gorm.DB) (any, error) {
		if err := db.Model(&Customer{}).Where("id = ?", 2).Update("name", "renamed").Error; err != nil {
			return nil, err
		}
		var c Customer
		return c, db.First(&c, 2).Error
	}},
	{"delete then read", func(db *gorm.DB) (any, error) {
		if err := db.Delete(&Customer{}, 4).Error; err != nil {
			return nil, err
		}
		var cs []Customer
		return cs, db.Order("id").Find(&cs).Error
	}},
}

func TestStrictChangesNothingForCodeWithoutLazyLoads(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		e.seed(t, 10, 2)
		type outcome struct{ JSON, Err string }
		run := func(db *gorm.DB) []outcome {
			var out []outcome
			err := db.Transaction(func(tx *gorm.DB) error {
				for _, op := range strictOps {
					v, err := op.run(tx)
					b, _ := json.Marshal(v)
					out = append(out, outcome{op.name + " " + string(b), fmt.Sprint(err)})
				}
				return errors.New("roll back")
			})
			require.EqualError(t, err, "roll back")
			return out
		}
		plain := run(e.plain)
		for _, ctx := range []context.Context{
			prefetch.NewContext(context.Background()),
			prefetch.NewContext(context.Background(), prefetch.WithStrict()),
			prefetch.NewContext(context.Background(), prefetch.WithStrict(), prefetch.WithReport()),
		} {
			require.Equal(t, plain, run(e.db.WithContext(ctx)))
		}
		// The same outside a transaction, where the request cache serves.
		noTx := func(db *gorm.DB) []string {
			var out []string
			for _, op := range strictOps[:7] {
				v, err := op.run(db)
				b, _ := json.Marshal(v)
				out = append(out, fmt.Sprint(op.name, " ", string(b), " ", err))
			}
			return out
		}
		want := noTx(e.plain)
		ctx := prefetch.NewContext(context.Background(), prefetch.WithStrict())
		require.Equal(t, want, noTx(e.db.WithContext(ctx)))
		require.Equal(t, want, noTx(e.db.WithContext(ctx)), "again, served from the cache")
	})
}

func TestStrictLogWarnsOncePerSiteAndBatchesAsUsual(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		e.seed(t, 10, 2)
		var buf bytes.Buffer
		log := slog.New(slog.NewTextHandler(&buf, nil))
		ctx := prefetch.NewContext(context.Background(), prefetch.WithStrictLog(log))
		db := e.db.WithContext(ctx)
		var orders []Order
		require.NoError(t, db.Find(&orders).Error)
		at := line() + 3
		e.requireQueries(t, 1, func() {
			for _, o := range orders {
				require.NoError(t, db.First(&Customer{}, o.CustomerID).Error)
			}
		})
		require.Equal(t, 1, strings.Count(buf.String(), "prefetch: lazy load"), buf.String())
		require.Contains(t, buf.String(), "level=WARN")
		require.Contains(t, buf.String(), fmt.Sprintf("strict_test.go:%d", at))
	})
}
