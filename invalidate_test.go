package prefetch_test

import (
	"context"
	"testing"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Behaviour 5: invalidation. Each case caches customers 1-5, writes, then
// reads customer 1 and expects what the database holds.

func TestWritesInvalidate(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		cases := []struct {
			name  string
			write func(db *gorm.DB) error
			// queries the read of customer 1 costs after the write: 0 when
			// the write could not have changed it.
			reads int64
		}{
			{"Save", func(db *gorm.DB) error {
				var c Customer
				if err := db.First(&c, 1).Error; err != nil {
					return err
				}
				c.Name = "saved"
				return db.Save(&c).Error
			}, 1},
			{"Model.Update", func(db *gorm.DB) error { return db.Model(&Customer{ID: 1}).Update("name", "updated").Error }, 1},
			{"Model.Updates map", func(db *gorm.DB) error {
				return db.Model(&Customer{ID: 1}).Updates(map[string]any{"name": "updates"}).Error
			}, 1},
			{"Where.Updates", func(db *gorm.DB) error {
				return db.Model(&Customer{}).Where("name = ?", "customer 1").Updates(map[string]any{"name": "conditional"}).Error
			}, 1},
			{"UpdateColumn", func(db *gorm.DB) error { return db.Model(&Customer{ID: 1}).UpdateColumn("name", "column").Error }, 1},
			{"Delete by key", func(db *gorm.DB) error { return db.Delete(&Customer{ID: 1}).Error }, 1},
			{"Unscoped Delete with associations", func(db *gorm.DB) error {
				return db.Unscoped().Select(clause.Associations).Delete(&Customer{ID: 1}).Error
			}, 1},
			{"raw Exec", func(db *gorm.DB) error {
				return db.Exec("UPDATE "+tableOf(db, &Customer{})+" SET name = ? WHERE id = ?", "raw", 1).Error
			}, 1},
			{"unknown raw Exec drops everything", func(db *gorm.DB) error {
				if db.Dialector.Name() == "postgres" {
					return db.Exec("REINDEX TABLE " + tableOf(db, &Customer{})).Error
				}
				return db.Exec("REINDEX " + tableOf(db, &Customer{})).Error
			}, 1},
			{"upsert", func(db *gorm.DB) error {
				return db.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "id"}}, DoUpdates: clause.AssignmentColumns([]string{"name"})}).
					Create(&Customer{ID: 1, Name: "upserted"}).Error
			}, 1},
			{"update of another row", func(db *gorm.DB) error { return db.Model(&Customer{ID: 2}).Update("name", "other").Error }, 0},
			{"create of another row", func(db *gorm.DB) error { return db.Create(&Customer{Name: "new"}).Error }, 0},
			{"failed write", func(db *gorm.DB) error {
				// A hook error before any SQL: nothing ran, nothing to drop.
				return db.Session(&gorm.Session{}).Model(&FailingCustomer{ID: 1}).Update("name", "never").Error
			}, 0},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				e.reset(t)
				e.seed(t, 5, 0)
				_, db := e.request()
				var all []Customer
				require.NoError(t, db.Find(&all).Error)
				err := tc.write(db)
				if tc.name == "failed write" {
					require.Error(t, err)
				} else {
					require.NoError(t, err)
				}
				var got, want Customer
				var gotErr error
				e.requireQueries(t, tc.reads, func() { gotErr = db.Unscoped().First(&got, 1).Error })
				wantErr := e.plain.Unscoped().First(&want, 1).Error
				require.Equal(t, wantErr, gotErr)
				require.Equal(t, want, got)
			})
		}
	})
}

// FailingCustomer refuses every update in a hook.
type FailingCustomer struct {
	ID   uint
	Name string
}

func (FailingCustomer) TableName() string { return "no_such_table" }

func (*FailingCustomer) BeforeUpdate(*gorm.DB) error { return errRefused }

var errRefused = context.DeadlineExceeded

// reset drops and recreates every table.
func (e *env) reset(t *testing.T) {
	t.Helper()
	require.NoError(t, e.plain.Migrator().DropTable(allModels()...))
	require.NoError(t, e.plain.Migrator().DropTable(joinTableName(e.plain)))
	e.migrate(t)
}

func TestWriteThenReadIsFresh(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		e.seed(t, 5, 1)
		_, db := e.request()
		var c Customer
		require.NoError(t, db.First(&c, 1).Error)
		require.NoError(t, db.Model(&c).Update("name", "fresh").Error)
		var again Customer
		require.NoError(t, db.First(&again, 1).Error)
		require.Equal(t, "fresh", again.Name)
	})
}

func TestWriteInvalidatesEveryRequest(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		e.seed(t, 3, 0)
		_, reqA := e.request()
		_, reqB := e.request()
		var c Customer
		require.NoError(t, reqA.First(&c, 1).Error)
		// Another request, no context at all, and the generics API.
		require.NoError(t, reqB.Model(&Customer{ID: 1}).Update("name", "by b").Error)
		c = Customer{}
		require.NoError(t, reqA.First(&c, 1).Error)
		require.Equal(t, "by b", c.Name)
		require.NoError(t, e.db.Model(&Customer{ID: 1}).Update("name", "no ctx").Error)
		c = Customer{}
		require.NoError(t, reqA.First(&c, 1).Error)
		require.Equal(t, "no ctx", c.Name)
		_, err := gorm.G[Customer](e.db).Where("id = ?", 1).Update(context.Background(), "name", "generics")
		require.NoError(t, err)
		c = Customer{}
		require.NoError(t, reqA.First(&c, 1).Error)
		require.Equal(t, "generics", c.Name)
	})
}

func TestCollectionsFollowWrites(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		e.seed(t, 4, 2)
		_, db := e.request()
		var customers []Customer
		require.NoError(t, db.Find(&customers).Error)
		var orders []Order
		require.NoError(t, db.Model(&customers[0]).Association("Orders").Find(&orders))
		require.Len(t, orders, 2)
		require.NoError(t, db.Create(&Order{CustomerID: customers[0].ID, Amount: 1}).Error)
		require.NoError(t, db.Model(&customers[0]).Association("Orders").Find(&orders))
		require.Len(t, orders, 3)
		// Moving an order to another customer.
		require.NoError(t, db.Model(&orders[0]).Update("customer_id", customers[1].ID).Error)
		require.NoError(t, db.Model(&customers[0]).Association("Orders").Find(&orders))
		require.Len(t, orders, 2)
		require.NoError(t, db.Model(&customers[0]).Association("Orders").Clear())
		require.NoError(t, db.Model(&customers[0]).Association("Orders").Find(&orders))
		require.Empty(t, orders)
	})
}

func TestTransactionRollbackIsNeverServed(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		e.seed(t, 3, 0)
		_, db := e.request()
		var c Customer
		require.NoError(t, db.First(&c, 1).Error)
		err := db.Transaction(func(tx *gorm.DB) error {
			require.NoError(t, tx.Model(&Customer{ID: 1}).Update("name", "rolled back").Error)
			var inside Customer
			require.NoError(t, tx.First(&inside, 1).Error)
			require.Equal(t, "rolled back", inside.Name, "a transaction reads its own writes")
			return errRefused
		})
		require.ErrorIs(t, err, errRefused)
		c = Customer{}
		require.NoError(t, db.First(&c, 1).Error)
		require.Equal(t, "customer 1", c.Name)
	})
}

func TestInvalidateAndClear(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		e.seed(t, 3, 0)
		ctx, db := e.request()
		var all []Customer
		require.NoError(t, db.Find(&all).Error)
		// A write the plugin cannot see.
		require.NoError(t, e.plain.Model(&Customer{}).Where("id = ?", 2).Update("name", "elsewhere").Error)
		var c Customer
		e.requireQueries(t, 0, func() { require.NoError(t, db.First(&c, 2).Error) })
		require.Equal(t, "customer 2", c.Name, "stale until told")
		c = Customer{}
		prefetch.Invalidate(ctx, &Customer{}, 2)
		c = Customer{}
		e.requireQueries(t, 1, func() { require.NoError(t, db.First(&c, 2).Error) })
		require.Equal(t, "elsewhere", c.Name)
		e.requireQueries(t, 0, func() { require.NoError(t, db.First(&Customer{}, 3).Error) })
		prefetch.Invalidate(ctx, tableOf(db, &Customer{}))
		e.requireQueries(t, 1, func() { require.NoError(t, db.First(&Customer{}, 3).Error) })
		prefetch.Clear(ctx)
		require.Zero(t, prefetch.StatsOf(ctx).Rows)
		e.requireQueries(t, 1, func() { require.NoError(t, db.First(&Customer{}, 3).Error) })
		// No request cache: nothing happens, nothing panics.
		prefetch.Invalidate(context.Background(), &Customer{})
		prefetch.Clear(context.Background())
	})
}
