package prefetch_test

import (
	"context"
	"testing"
	"time"

	"github.com/gorm-prefetch/prefetch"
)

// WithMaxAge: rows older than the maximum age are read again. A row read
// again by a later statement must not keep the values of its first read
// under the age of the second: the value served is then older than the
// maximum age, where plain GORM returns what the database holds.
func TestMaxAgeNeverServesAValueOlderThanIt(t *testing.T) {
	const maxAge = 300 * time.Millisecond
	compare(t, compareOpts{}, setupAdvItems, func(t *testing.T, s *side) {
		if s.plugin {
			s.ctx = prefetch.NewContext(context.Background(), prefetch.WithMaxAge(maxAge))
		}
		var x AdvItem
		s.see("item 1", s.q().First(&x, 1), x)
		// A write the plugin cannot see (another process).
		_, err := s.sqlDB.Exec("UPDATE adv_items SET name = 'changed elsewhere' WHERE id = 1")
		s.seeErr("write elsewhere", err, nil)
		time.Sleep(maxAge * 2 / 3)
		var xs []AdvItem
		s.see("every item, read again", s.q().Where("id > ?", 0).Order("id").Find(&xs), xs)
		time.Sleep(maxAge * 2 / 3)
		// The first read is now older than the maximum age.
		s.see("item 1 past the maximum age of its first read", s.q().First(&x, 1), x)
	})
}
