package prefetch_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Issue 3: transactions, writes the statement does not name, cascades.

func TestTransactions(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		e.seed(t, 5, 0)
		name := func(db *gorm.DB, id int) string {
			var c Customer
			require.NoError(t, db.First(&c, id).Error)
			return c.Name
		}
		t.Run("commit", func(t *testing.T) {
			_, db := e.request()
			require.Equal(t, "customer 1", name(db, 1))
			require.NoError(t, db.Transaction(func(tx *gorm.DB) error {
				return tx.Model(&Customer{ID: 1}).Update("name", "committed").Error
			}))
			require.Equal(t, "committed", name(db, 1))
		})
		t.Run("read outside while the transaction is open", func(t *testing.T) {
			_, db := e.request()
			tx := db.Begin()
			require.NoError(t, tx.Error)
			require.NoError(t, tx.Model(&Customer{ID: 2}).Update("name", "pending").Error)
			// Another connection still sees the old row, and caches it.
			require.Equal(t, "customer 2", name(db, 2))
			require.NoError(t, tx.Commit().Error)
			require.Equal(t, "pending", name(db, 2), "the commit makes the cached row stale")
		})
		t.Run("rollback", func(t *testing.T) {
			_, db := e.request()
			tx := db.Begin()
			require.NoError(t, tx.Model(&Customer{ID: 3}).Update("name", "rolled back").Error)
			require.Equal(t, "rolled back", name(tx, 3), "a transaction reads its own writes")
			require.Equal(t, "customer 3", name(db, 3))
			require.NoError(t, tx.Rollback().Error)
			require.Equal(t, "customer 3", name(db, 3))
		})
		t.Run("savepoint rolled back, transaction committed", func(t *testing.T) {
			_, db := e.request()
			require.NoError(t, db.Transaction(func(tx *gorm.DB) error {
				require.NoError(t, tx.Model(&Customer{ID: 4}).Update("name", "kept").Error)
				err := tx.Transaction(func(tx2 *gorm.DB) error {
					require.NoError(t, tx2.Model(&Customer{ID: 4}).Update("name", "dropped").Error)
					require.Equal(t, "dropped", name(tx2, 4))
					return errors.New("roll back to the savepoint")
				})
				require.Error(t, err)
				require.Equal(t, "kept", name(tx, 4))
				return nil
			}))
			require.Equal(t, "kept", name(db, 4))
		})
		t.Run("SavePoint and RollbackTo", func(t *testing.T) {
			_, db := e.request()
			tx := db.Begin()
			require.NoError(t, tx.SavePoint("sp1").Error)
			require.NoError(t, tx.Model(&Customer{ID: 5}).Update("name", "undone").Error)
			require.NoError(t, tx.RollbackTo("sp1").Error)
			require.Equal(t, "customer 5", name(tx, 5))
			require.NoError(t, tx.Commit().Error)
			require.Equal(t, "customer 5", name(db, 5))
		})
		t.Run("locking reads go to the database", func(t *testing.T) {
			_, db := e.request()
			require.Equal(t, "customer 5", name(db, 5))
			var c Customer
			e.requireQueries(t, 1, func() { require.NoError(t, db.Clauses(clause.Locking{Strength: "UPDATE"}).Find(&c, 5).Error) })
		})
	})
}

func TestPrepareStmtAndDBStillWork(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		e.seed(t, 3, 1)
		db := e.db.Session(&gorm.Session{PrepareStmt: true})
		_, req := e.request()
		req = req.Session(&gorm.Session{PrepareStmt: true})
		var c Customer
		require.NoError(t, req.First(&c, 1).Error)
		e.requireQueries(t, 0, func() { require.NoError(t, req.First(&c, 1).Error) })
		require.NoError(t, req.Transaction(func(tx *gorm.DB) error {
			return tx.Model(&Customer{ID: 1}).Update("name", "prepared").Error
		}))
		c = Customer{}
		require.NoError(t, req.First(&c, 1).Error)
		require.Equal(t, "prepared", c.Name)
		sqlDB, err := db.DB()
		require.NoError(t, err)
		require.NoError(t, sqlDB.Ping())
		sqlDB, err = e.db.DB()
		require.NoError(t, err)
		require.NoError(t, sqlDB.Ping())
		require.NoError(t, e.db.Transaction(func(tx *gorm.DB) error {
			inner, err := tx.DB()
			require.NoError(t, err)
			require.NotNil(t, inner)
			return nil
		}))
	})
}

// Parent and Child have cascading constraints the database applies.
type Parent struct {
	ID       uint
	Name     string
	Children []Child `gorm:"constraint:OnDelete:CASCADE,OnUpdate:CASCADE"`
	Wards    []Ward  `gorm:"constraint:OnDelete:SET NULL"`
}

type Child struct {
	ID       uint
	ParentID uint
	Name     string
}

type Ward struct {
	ID       uint
	ParentID *uint
	Name     string
}

func TestCascadesInvalidateReferencingTables(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		require.NoError(t, e.plain.AutoMigrate(&Parent{}, &Child{}, &Ward{}))
		t.Cleanup(func() { _ = e.plain.Migrator().DropTable(&Child{}, &Ward{}, &Parent{}) })
		p := Parent{Name: "p", Children: []Child{{Name: "a"}, {Name: "b"}}, Wards: []Ward{{Name: "w"}}}
		require.NoError(t, e.plain.Create(&p).Error)
		_, db := e.request()
		var kids []Child
		require.NoError(t, db.Find(&kids).Error)
		require.Len(t, kids, 2)
		var wards []Ward
		require.NoError(t, db.Find(&wards).Error)
		require.NotNil(t, wards[0].ParentID)
		// Reading the parent once lets the plugin know its constraints.
		require.NoError(t, db.First(&Parent{}, p.ID).Error)

		require.NoError(t, db.Delete(&Parent{}, p.ID).Error)
		var kid Child
		require.ErrorIs(t, db.First(&kid, kids[0].ID).Error, gorm.ErrRecordNotFound, "ON DELETE CASCADE removed it")
		var ward Ward
		require.NoError(t, db.First(&ward, wards[0].ID).Error)
		require.Nil(t, ward.ParentID, "ON DELETE SET NULL cleared it")
	})
}

// Audited writes another table from a hook.
type Audited struct {
	ID   uint
	Name string
}

type AuditLog struct {
	ID      uint
	Entries int
}

func (a *Audited) BeforeUpdate(tx *gorm.DB) error {
	return tx.Model(&AuditLog{ID: 1}).UpdateColumn("entries", gorm.Expr("entries + 1")).Error
}

func TestWritesTheStatementDoesNotName(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		e.seed(t, 4, 2)
		t.Run("hooks that write", func(t *testing.T) {
			require.NoError(t, e.plain.AutoMigrate(&Audited{}, &AuditLog{}))
			t.Cleanup(func() { _ = e.plain.Migrator().DropTable(&Audited{}, &AuditLog{}) })
			require.NoError(t, e.plain.Create(&AuditLog{ID: 1}).Error)
			require.NoError(t, e.plain.Create(&Audited{ID: 1, Name: "x"}).Error)
			_, db := e.request()
			var log AuditLog
			require.NoError(t, db.First(&log, 1).Error)
			require.NoError(t, db.Model(&Audited{ID: 1}).Update("name", "y").Error)
			log = AuditLog{}
			require.NoError(t, db.First(&log, 1).Error)
			require.Equal(t, 1, log.Entries)
		})
		t.Run("association writes", func(t *testing.T) {
			_, db := e.request()
			var c Customer
			require.NoError(t, db.First(&c, 1).Error)
			count := func() int {
				var os []Order
				require.NoError(t, db.Model(&c).Association("Orders").Find(&os))
				return len(os)
			}
			require.Equal(t, 2, count())
			require.NoError(t, db.Model(&c).Association("Orders").Append(&Order{Amount: 5}))
			require.Equal(t, 3, count())
			var first Order
			require.NoError(t, db.Where("customer_id = ?", c.ID).Order("id").First(&first).Error)
			require.NoError(t, db.Model(&c).Association("Orders").Delete(&first))
			require.Equal(t, 2, count())
			require.NoError(t, db.Model(&c).Association("Orders").Replace([]Order{{Amount: 7}}))
			require.Equal(t, 1, count())
			// Many2many join table.
			var tags []Tag
			require.NoError(t, db.Model(&c).Association("Tags").Find(&tags))
			n := len(tags)
			require.NoError(t, db.Model(&c).Association("Tags").Append(&Tag{Name: fmt.Sprintf("t%d", n)}))
			require.NoError(t, prefetch.Load(db, &c, "Tags"))
			require.Len(t, c.Tags, n+1)
			require.NoError(t, db.Model(&c).Association("Tags").Clear())
			require.NoError(t, prefetch.Load(db, &c, "Tags"))
			require.Empty(t, c.Tags)
		})
		t.Run("nested save", func(t *testing.T) {
			_, db := e.request()
			var c Customer
			require.NoError(t, db.First(&c, 2).Error)
			require.NoError(t, prefetch.Load(db, &c, "Orders"))
			c.Orders[0].Amount = 4242
			require.NoError(t, db.Session(&gorm.Session{FullSaveAssociations: true}).Save(&c).Error)
			var o Order
			require.NoError(t, db.First(&o, c.Orders[0].ID).Error)
			require.Equal(t, 4242, o.Amount)
		})
		t.Run("upsert", func(t *testing.T) {
			_, db := e.request()
			var o Order
			require.NoError(t, db.Where("customer_id = ?", 3).Order("id").First(&o).Error)
			o.Amount = 9999
			require.NoError(t, db.Clauses(clause.OnConflict{UpdateAll: true}).Create(&o).Error)
			var again Order
			require.NoError(t, db.First(&again, o.ID).Error)
			require.Equal(t, 9999, again.Amount)
		})
	})
}

func TestTransactionsHaveTheirOwnCache(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		e.seed(t, 20, 2)
		ctx, db := e.request()
		require.ErrorIs(t, db.Transaction(func(tx *gorm.DB) error {
			// The N+1 loop inside a transaction: one query per table.
			var orders []Order
			e.requireQueries(t, 2, func() {
				require.NoError(t, tx.Find(&orders).Error)
				for _, o := range orders {
					require.NoError(t, tx.First(&Customer{}, o.CustomerID).Error)
				}
			})
			// Its own writes are read back.
			require.NoError(t, tx.Model(&Customer{ID: 1}).Update("name", "in tx").Error)
			var c Customer
			require.NoError(t, tx.First(&c, 1).Error)
			require.Equal(t, "in tx", c.Name)
			// A savepoint rolled back takes its writes with it.
			require.Error(t, tx.Transaction(func(tx2 *gorm.DB) error {
				require.NoError(t, tx2.Model(&Customer{ID: 2}).Update("name", "undone").Error)
				var c2 Customer
				require.NoError(t, tx2.First(&c2, 2).Error)
				require.Equal(t, "undone", c2.Name)
				return errRefused
			}))
			c = Customer{}
			require.NoError(t, tx.First(&c, 2).Error)
			require.Equal(t, "customer 2", c.Name)
			return errRefused // roll the whole transaction back
		}), errRefused)
		// Nothing read inside reached the request cache.
		var c Customer
		e.requireQueries(t, 1, func() { require.NoError(t, db.First(&c, 1).Error) })
		require.Equal(t, "customer 1", c.Name)
		// The transaction's work shows in the request's statistics: the
		// loop's batch, and one for each row re-read after its write (the
		// rest of its scope was fresh).
		require.Equal(t, int64(3), prefetch.StatsOf(ctx).BatchLoads)
	})
}
