package prefetch_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// An After* hook that re-reads the row just written must see the write: the
// plugin invalidates before After* hooks run.

// Rereader re-reads itself in its After* hooks and records what it saw in
// the hookLog its context carries.
type Rereader struct {
	ID   uint `gorm:"primaryKey;autoIncrement:false"`
	Name string
}

type hookLogKey struct{}

// hookLog collects what hooks saw.
type hookLog struct {
	mu   sync.Mutex // protects seen
	seen []string
}

func (r *Rereader) AfterCreate(tx *gorm.DB) error { return reread(tx, "AfterCreate", r.ID) }
func (r *Rereader) AfterUpdate(tx *gorm.DB) error { return reread(tx, "AfterUpdate", r.ID) }
func (r *Rereader) AfterDelete(tx *gorm.DB) error { return reread(tx, "AfterDelete", r.ID) }

func reread(tx *gorm.DB, hook string, id uint) error {
	log, _ := tx.Statement.Context.Value(hookLogKey{}).(*hookLog)
	if log == nil {
		return nil
	}
	var fresh Rereader
	err := tx.Session(&gorm.Session{NewDB: true}).First(&fresh, id).Error
	log.mu.Lock()
	defer log.mu.Unlock()
	log.seen = append(log.seen, fmt.Sprintf("%s saw %+v (error: %v)", hook, fresh, err))
	return nil
}

func TestHooksRereadTheRowJustWritten(t *testing.T) {
	writes := []struct {
		name  string
		id    int // the row read before the write
		write func(db *gorm.DB) *gorm.DB
	}{
		{"update", 1, func(db *gorm.DB) *gorm.DB { return db.Model(&Rereader{ID: 1}).Update("name", "updated") }},
		{"save", 1, func(db *gorm.DB) *gorm.DB { return db.Save(&Rereader{ID: 1, Name: "saved"}) }},
		{"create", 7, func(db *gorm.DB) *gorm.DB { return db.Create(&Rereader{ID: 7, Name: "created"}) }},
		{"delete", 1, func(db *gorm.DB) *gorm.DB { return db.Delete(&Rereader{ID: 1}) }},
	}
	modes := []struct {
		name string
		run  func(s *side, db *gorm.DB, id int, write func(*gorm.DB) *gorm.DB)
	}{
		{"without a transaction (SkipDefaultTransaction)", func(s *side, db *gorm.DB, id int, write func(*gorm.DB) *gorm.DB) {
			db = db.Session(&gorm.Session{SkipDefaultTransaction: true})
			readRereader(s, "before", db, id)
			s.see("write", write(db), nil)
		}},
		{"in GORM's own transaction", func(s *side, db *gorm.DB, id int, write func(*gorm.DB) *gorm.DB) {
			readRereader(s, "before", db, id)
			s.see("write", write(db), nil)
		}},
		{"in a transaction that read the row first", func(s *side, db *gorm.DB, id int, write func(*gorm.DB) *gorm.DB) {
			s.seeErr("transaction", db.Transaction(func(tx *gorm.DB) error {
				readRereader(s, "before", tx, id)
				s.see("write", write(tx), nil)
				return nil
			}), nil)
		}},
	}
	for _, m := range modes {
		for _, w := range writes {
			t.Run(m.name+"/"+w.name, func(t *testing.T) {
				setup := func(t *testing.T, s *side) {
					require.NoError(t, s.db.AutoMigrate(&Rereader{}))
					s.must(t, s.db.Create(&[]Rereader{{ID: 1, Name: "one"}, {ID: 2, Name: "two"}}))
				}
				compare(t, compareOpts{}, setup, func(t *testing.T, s *side) {
					log := &hookLog{}
					db := s.db.WithContext(context.WithValue(s.ctx, hookLogKey{}, log))
					m.run(s, db, w.id, w.write)
					s.note("hooks saw", log.seen)
					readRereader(s, "after", db, w.id)
				})
			})
		}
	}
}

func readRereader(s *side, step string, db *gorm.DB, id int) {
	var r Rereader
	s.see(step, db.First(&r, id), r)
}
