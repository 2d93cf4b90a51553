package prefetch_test

import (
	"testing"

	"gorm.io/gorm"
)

// A table created in the temporary schema by name (SQLite's temp.,
// PostgreSQL's pg_temp.) is a temporary table, written without TEMP: it
// shadows the table of the same name on the connection that created it.
func TestTablesCreatedInTheTemporarySchemaAreTemporary(t *testing.T) {
	t.Run("on a connection", func(t *testing.T) {
		compare(t, compareOpts{}, setupAdvItems, func(t *testing.T, s *side) {
			tempSchema := map[string]string{"sqlite": "temp", "postgres": "pg_temp"}[s.dialect]
			s.onConnection(func(c *gorm.DB) {
				s.see("temp table on the connection", c.Exec("CREATE TABLE "+tempSchema+".adv_items AS SELECT * FROM "+
					s.qualifier()+".adv_items WHERE id <> 1"), nil)
			})
			tx := s.q().Begin()
			readItems(s, "item 1 on another connection", s.q(), 1)
			s.see("commit", tx.Commit(), nil)
			readItems(s, "item 1 on the connection with the temp table", s.q(), 1)
		})
	})
	t.Run("through the pool", func(t *testing.T) {
		compare(t, compareOpts{}, setupAdvItems, func(t *testing.T, s *side) {
			tempSchema := map[string]string{"sqlite": "temp", "postgres": "pg_temp"}[s.dialect]
			s.see("temp table through the pool", s.q().Exec("CREATE TABLE "+tempSchema+".adv_items AS SELECT * FROM "+
				s.qualifier()+".adv_items WHERE id <> 1"), nil)
			tx := s.q().Begin()
			readItems(s, "item 1 on another connection", s.q(), 1)
			s.see("commit", tx.Commit(), nil)
			readItems(s, "item 1 on the connection with the temp table", s.q(), 1)
		})
	})
}
