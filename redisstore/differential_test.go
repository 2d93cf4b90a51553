package redisstore_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// A randomized run over three instances sharing one Redis: writes through
// any of them (updates, deletes, creates, raw SQL, transactions that commit
// or roll back), and after each step a read through a random instance, in a
// new request, compared with plain GORM's answer to the same read.
func TestRandomizedRunOverInstancesReadsWhatPlainGORMReads(t *testing.T) {
	w := newWorld(t)
	const owners, perOwner = 5, 6
	w.seed(t, owners, perOwner)
	plain := w.plain(t)
	ins := []*instance{w.instance(t), w.instance(t), w.instance(t)}
	rng := rand.New(rand.NewPCG(1, 2))
	nextID := int64(owners*perOwner + 1)
	itemID := func() int64 { return rng.Int64N(nextID+2) + 1 } // a few that do not exist
	steps := 3000
	if testing.Short() {
		steps = 500
	}
	var sharedHits int64
	for step := range steps {
		in := ins[rng.IntN(len(ins))]
		db := in.request()
		what := ""
		switch op := rng.IntN(20); {
		case op < 3:
			id := itemID()
			what = fmt.Sprint("update ", id)
			require.NoError(t, db.Model(&Item{ID: id}).Updates(map[string]any{"version": gorm.Expr("version + 1"), "name": fmt.Sprint("step ", step)}).Error)
		case op == 3:
			a, b := itemID(), itemID()
			what = fmt.Sprint("committed transaction ", a, b)
			require.NoError(t, db.Transaction(func(tx *gorm.DB) error {
				var it Item
				if err := tx.First(&it, a).Error; err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
					return err
				}
				if err := tx.Model(&Item{}).Where("id = ?", a).Update("version", it.Version+10).Error; err != nil {
					return err
				}
				return tx.Model(&Item{ID: b}).Update("name", fmt.Sprint("tx ", step)).Error
			}))
		case op == 4:
			a := itemID()
			what = fmt.Sprint("rolled back transaction ", a)
			rollback := errors.New("roll back")
			require.ErrorIs(t, db.Transaction(func(tx *gorm.DB) error {
				if err := tx.Model(&Item{ID: a}).Update("name", "rolled back").Error; err != nil {
					return err
				}
				var it Item
				_ = tx.First(&it, a).Error // read inside: must not reach the shared cache
				return rollback
			}), rollback)
		case op == 5:
			o := rng.Int64N(owners) + 1
			what = fmt.Sprint("raw update of owner ", o, "'s items")
			require.NoError(t, db.Exec("UPDATE "+w.tables+"items SET version = version + 100 WHERE owner_id = ?", o).Error)
		case op == 6:
			id := itemID()
			what = fmt.Sprint("delete ", id)
			require.NoError(t, db.Delete(&Item{}, id).Error)
		case op == 7:
			what = fmt.Sprint("create ", nextID)
			require.NoError(t, db.Create(&Item{ID: nextID, OwnerID: rng.Int64N(owners) + 1, Name: fmt.Sprint("new ", step)}).Error)
			nextID++
		}
		// A read through another (random) instance, in a new request.
		in = ins[rng.IntN(len(ins))]
		rctx := prefetch.NewContext(context.Background())
		read := in.db.WithContext(rctx)
		var got, want any
		var gotErr, wantErr error
		switch rng.IntN(4) {
		case 0:
			id := itemID()
			what += fmt.Sprint("; First ", id)
			var g, p Item
			gotErr, wantErr = read.First(&g, id).Error, plain.First(&p, id).Error
			got, want = g, p
		case 1:
			ids := []int64{itemID(), itemID(), itemID(), itemID(), itemID()}
			what += fmt.Sprint("; Find ", ids)
			var g, p []Item
			gotErr, wantErr = read.Order("id").Find(&g, ids).Error, plain.Order("id").Find(&p, ids).Error
			got, want = g, p
		case 2:
			o := rng.Int64N(owners) + 1
			what += fmt.Sprint("; items of owner ", o)
			var g, p []Item
			gotErr, wantErr = read.Where("owner_id = ?", o).Order("id").Find(&g).Error, plain.Where("owner_id = ?", o).Order("id").Find(&p).Error
			got, want = g, p
		case 3:
			what += "; owners with their items"
			var g, p []Owner
			gotErr, wantErr = read.Preload("Items").Order("id").Find(&g).Error, plain.Preload("Items").Order("id").Find(&p).Error
			got, want = byID(g), byID(p) // SQL leaves the preloaded rows' order unspecified (docs/consistency.md)
		}
		require.Equal(t, wantErr, gotErr, "step %d: %s", step, what)
		require.Equal(t, want, got, "step %d: %s", step, what)
		sharedHits += prefetch.StatsOf(rctx).SharedHits
	}
	t.Logf("%d steps; %d rows served from Redis", steps, sharedHits)
	require.NotZero(t, sharedHits, "nothing was served from Redis: the run proves nothing")
}

// byID sorts each owner's items by key.
func byID(owners []Owner) []Owner {
	for _, o := range owners {
		slices.SortFunc(o.Items, func(a, b Item) int { return cmp.Compare(a.ID, b.ID) })
	}
	return owners
}
