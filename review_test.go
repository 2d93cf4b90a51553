package prefetch_test

import (
	"testing"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Regressions found in review.

func TestOrJoinedConditionsInvalidateTheTable(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		e.seed(t, 4, 0)
		_, db := e.request()
		read := func(id int) (Customer, error) {
			var c Customer
			err := db.First(&c, id).Error
			return c, err
		}
		_, _ = read(1)
		_, _ = read(2)
		require.NoError(t, db.Model(&Customer{}).Where("id = ?", 1).Or("id = ?", 2).Update("name", "or-ed").Error)
		c, err := read(2)
		require.NoError(t, err)
		require.Equal(t, "or-ed", c.Name)

		_, _ = read(3)
		require.NoError(t, db.Model(&Customer{}).Where("id = ?\nOR name = ?", 3, "x").Where("id = ?", 1).Update("name", "newline").Error)
		c, err = read(3)
		require.NoError(t, err)
		require.Equal(t, "newline", c.Name)

		// Reads with an OR are never served from a NULL they did not check.
		var cs []Customer
		require.NoError(t, db.Select("id", "name").Where("email IS NULL").Or("id = ?", 2).Find(&cs).Error)
		var got, want Customer
		require.NoError(t, db.Select("id", "email").Where("id = ?", 2).Find(&got).Error)
		require.NoError(t, e.plain.Select("id", "email").Where("id = ?", 2).Find(&want).Error)
		require.Equal(t, want, got)
	})
}

func TestInWithAScalarIsLeftToTheDatabase(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		e.seed(t, 2, 0)
		_, db := e.request()
		require.NoError(t, db.First(&Customer{}, 1).Error)
		var c []Customer
		wantErr := e.plain.Where("id IN ?", 1).Find(&c).Error
		gotErr := db.Where("id IN ?", 1).Find(&c).Error
		require.Equal(t, wantErr != nil, gotErr != nil)
	})
}

func TestRawDeleteCascades(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		require.NoError(t, e.plain.AutoMigrate(&Parent{}, &Child{}, &Ward{}))
		t.Cleanup(func() { _ = e.plain.Migrator().DropTable(&Child{}, &Ward{}, &Parent{}) })
		p := Parent{Name: "p", Children: []Child{{Name: "a"}}}
		require.NoError(t, e.plain.Create(&p).Error)
		_, db := e.request()
		require.NoError(t, db.First(&Parent{}, p.ID).Error)
		require.NoError(t, db.First(&Child{}, p.Children[0].ID).Error)
		require.NoError(t, db.Exec("DELETE FROM "+tableOf(db, &Parent{})+" WHERE id = ?", p.ID).Error)
		require.ErrorIs(t, db.First(&Child{}, p.Children[0].ID).Error, gorm.ErrRecordNotFound)
	})
}

type Uniq struct {
	ID    uint
	Email string `gorm:"uniqueIndex"`
}

func TestInsertOrReplaceInvalidatesTheTable(t *testing.T) {
	e := openSQLite(t, prefetch.Plugin{})
	require.NoError(t, e.plain.AutoMigrate(&Uniq{}))
	require.NoError(t, e.plain.Create(&Uniq{ID: 1, Email: "a"}).Error)
	_, db := e.request()
	require.NoError(t, db.First(&Uniq{}, 1).Error)
	require.NoError(t, db.Clauses(clause.Insert{Modifier: "OR REPLACE"}).Create(&Uniq{ID: 2, Email: "a"}).Error)
	require.ErrorIs(t, db.First(&Uniq{}, 1).Error, gorm.ErrRecordNotFound)
}

type NilTabler struct{ ID uint }

func (NilTabler) TableName() string { return "nil_tablers" }

func TestInvalidateTypedNilDoesNotPanic(t *testing.T) {
	ctx := prefetch.NewContext(t.Context())
	require.NotPanics(t, func() { prefetch.Invalidate(ctx, (*NilTabler)(nil), 1) })
}
