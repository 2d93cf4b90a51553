package prefetch_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// builtSQL is the SQL text and values one statement was built with.
type builtSQL struct {
	SQL  string
	Vars string
}

// TestPreparedStatementsBuildWhatGORMBuilds runs statements of every shape
// in DryRun twice: through GORM's own query step, and through the plugin's
// (clauses completed first, SQL text built afterwards). Both must build
// the same SQL with the same values, statement by statement. (Every
// statement of every other test of the package is checked the same way by
// export_test.go.)
func TestPreparedStatementsBuildWhatGORMBuilds(t *testing.T) {
	type small struct {
		ID   uint
		Name string
	}
	byName := func(db *gorm.DB) *gorm.DB { return db.Where("name <> ?", "x") }
	stmts := map[string]func(db *gorm.DB){
		"First by key":           func(db *gorm.DB) { var c Customer; db.First(&c, 7) },
		"First by string cond":   func(db *gorm.DB) { var c Customer; db.First(&c, "id = ?", 7) },
		"Take, Last":             func(db *gorm.DB) { var c Customer; db.Take(&c, 3); db.Last(&c, "name = ?", "n") },
		"Find all":               func(db *gorm.DB) { var cs []Customer; db.Find(&cs) },
		"Find by keys":           func(db *gorm.DB) { var cs []*Customer; db.Find(&cs, []int{1, 2, 2}) },
		"struct dest with a key": func(db *gorm.DB) { c := Customer{ID: 3}; db.First(&c); db.Find(&c) },
		"struct dest, zero key":  func(db *gorm.DB) { c := Customer{Name: "n"}; db.Take(&c) },
		"Where map":              func(db *gorm.DB) { var cs []Customer; db.Where(map[string]any{"name": "a", "id": 2}).Find(&cs) },
		"Where struct":           func(db *gorm.DB) { var cs []Customer; db.Where(&Customer{Name: "a"}).Find(&cs) },
		"Where string, IN":       func(db *gorm.DB) { var cs []Customer; db.Where("id IN ?", []int{1, 3}).Find(&cs) },
		"Not, Or":                func(db *gorm.DB) { var cs []Customer; db.Not("id = ?", 1).Or("name = ?", "b").Find(&cs) },
		"Unscoped":               func(db *gorm.DB) { var c Customer; db.Unscoped().First(&c, 2) },
		"Select":                 func(db *gorm.DB) { var c Customer; db.Select("name").First(&c, 2) },
		"Select list":            func(db *gorm.DB) { var cs []Customer; db.Select([]string{"id", "Name"}).Find(&cs) },
		"Select expression":      func(db *gorm.DB) { var cs []Customer; db.Select("id, upper(name) AS name").Find(&cs) },
		"Omit":                   func(db *gorm.DB) { var cs []Customer; db.Omit("name", "notes").Find(&cs, 1) },
		"Scopes":                 func(db *gorm.DB) { var cs []Customer; db.Scopes(byName).Find(&cs) },
		"Table":                  func(db *gorm.DB) { var cs []Customer; db.Table("customers").Find(&cs, 2) },
		"Table, map dest":        func(db *gorm.DB) { var m []map[string]any; db.Table("customers").Find(&m) },
		"Model, smaller dest":    func(db *gorm.DB) { var s []small; db.Model(&Customer{}).Find(&s) },
		"Model with key, dest":   func(db *gorm.DB) { var c Customer; db.Model(&Customer{ID: 4}).First(&c) },
		"QueryFields":            func(db *gorm.DB) { var c Customer; db.Session(&gorm.Session{QueryFields: true}).First(&c, 1) },
		"no soft delete":         func(db *gorm.DB) { var os []Order; db.Where("customer_id = ?", 3).Find(&os) },
		"Order, Limit, Offset":   func(db *gorm.DB) { var os []Order; db.Order("amount desc").Limit(3).Offset(2).Find(&os) },
		"Distinct":               func(db *gorm.DB) { var cs []Customer; db.Distinct("name").Find(&cs) },
		"Group, Having": func(db *gorm.DB) {
			var n []int
			db.Model(&Order{}).Group("customer_id").Having("count(*) > ?", 1).Pluck("customer_id", &n)
		},
		"Count":          func(db *gorm.DB) { var n int64; db.Model(&Customer{}).Where("name = ?", "a").Count(&n) },
		"Pluck":          func(db *gorm.DB) { var names []string; db.Model(&Customer{}).Pluck("name", &names) },
		"Joins":          func(db *gorm.DB) { var os []Order; db.Joins("Customer").Find(&os, 2) },
		"Joins string":   func(db *gorm.DB) { var os []Order; db.Joins("JOIN customers c ON c.id = orders.customer_id").Find(&os) },
		"Preload":        func(db *gorm.DB) { var cs []Customer; db.Preload("Orders").Find(&cs) },
		"locking clause": func(db *gorm.DB) { var c Customer; db.Clauses(clause.Locking{Strength: "UPDATE"}).First(&c, 1) },
		"subquery": func(db *gorm.DB) {
			var cs []Customer
			db.Where("id IN (?)", db.Model(&Order{}).Select("customer_id")).Find(&cs)
		},
		"generics": func(db *gorm.DB) { _, _ = gorm.G[Customer](db).Where("id = ?", 2).First(context.Background()) },
	}
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		open := func(query func(*gorm.DB)) (*gorm.DB, *[]builtSQL) {
			db, err := gorm.Open(e.plain.Dialector, &gorm.Config{DryRun: true, Logger: quiet})
			require.NoError(t, err)
			if query != nil {
				require.NoError(t, db.Callback().Query().Replace("gorm:query", query))
			}
			var seen []builtSQL
			require.NoError(t, db.Callback().Query().After("gorm:query").Register("test:record", func(db *gorm.DB) {
				seen = append(seen, builtSQL{db.Statement.SQL.String(), fmt.Sprintf("%#v", db.Statement.Vars)})
			}))
			return db, &seen
		}
		for name, stmt := range stmts {
			t.Run(name, func(t *testing.T) {
				gormDB, gormSQL := open(nil)
				prepDB, prepSQL := open(prefetch.PrepareThenBuild)
				stmt(gormDB)
				stmt(prepDB)
				require.NotEmpty(t, *gormSQL)
				require.Equal(t, *gormSQL, *prepSQL)
			})
		}
	})
}
