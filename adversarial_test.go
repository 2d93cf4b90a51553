package prefetch_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// Adversarial tests: call sequences where the plugin's answer differs from
// plain GORM's. Each one failed on the code it was written against.

// Raw SQL that PostgreSQL reads differently from the plugin's tokenizer:
// the session change it hides is never seen, and rows of the home schema
// are served to a session now reading tenant b.
func TestAdversarialHiddenSessionChange(t *testing.T) {
	cases := []struct {
		name   string
		change string
	}{
		// PostgreSQL comments nest: the tokenizer ends the comment at the
		// first "*/" and reads "' */; SET ... -- '" as one string literal.
		{"nested block comment", "SELECT 1 /* /* */ ' */; SET search_path TO {tb} -- '"},
		// E'\'' is a complete string in PostgreSQL; the tokenizer reads the
		// backslash as a character and "''" as an escaped quote.
		{"E string with a backslash-escaped quote", `SELECT E'\'' AS q; SET search_path TO {tb} -- '`},
		// A quoted function name is the same function.
		{"quoted set_config", `SELECT "set_config"('search_path', '{tb}', false)`},
		{"quoted set_config qualified", `SELECT pg_catalog."set_config"('search_path', '{tb}', false)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			compareAdv(t, compareOpts{only: "postgres", oneConn: true}, setupTenantSchemas, func(t *testing.T, s *side) {
				readUser(s, "home user 1", s.q(), 1)
				s.see("change", s.q().Exec(s.expand(tc.change)), nil)
				readUser(s, "user 1 after", s.q(), 1)
			})
		})
	}
}

// SELECT ... INTO creates a table: a temporary one shadows the table of the
// same name in the search path, on the connection that ran it.
func TestAdversarialSelectIntoTempShadowsTable(t *testing.T) {
	compareAdv(t, compareOpts{only: "postgres", oneConn: true}, setupTenantSchemas, func(t *testing.T, s *side) {
		readUser(s, "home user 1", s.q(), 1)
		s.see("select into", s.q().Exec(s.expand("SELECT * INTO TEMP tenant_users FROM {tb}.tenant_users")), nil)
		readUser(s, "user 1 after", s.q(), 1)
	})
}

// Session state set on a connection taken with db.Connection stays on that
// connection when it goes back to the pool. database/sql hands out the most
// recently returned idle connection, so later statements on the pool run
// under it, while the pool's other connections keep the old state.
func TestAdversarialSessionStateLeftOnConnectionLeaksToThePool(t *testing.T) {
	cases := []struct {
		name   string
		change string
	}{
		{"SET search_path", "SET search_path TO {tb}"},
		{"set_config", "SELECT set_config('search_path', '{tb}', false)"},
		{"temporary table", "CREATE TEMP TABLE tenant_users AS SELECT * FROM {tb}.tenant_users"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			compareAdv(t, compareOpts{only: "postgres"}, setupTenantSchemas, func(t *testing.T, s *side) {
				// Connection X: switched to tenant b, back in the pool.
				s.onConnection(func(c *gorm.DB) {
					s.see("change on the connection", c.Exec(s.expand(tc.change)), nil)
				})
				// A transaction holds X; a read meanwhile opens connection
				// Y, still on the home schema.
				tx := s.q().Begin()
				readUser(s, "home user 1, on another connection", s.q(), 1)
				s.see("commit", tx.Commit(), nil)
				// X is the most recently returned connection again.
				readUser(s, "user 1 on the switched connection", s.q(), 1)
			})
		})
	}
}

// On PostgreSQL a failed statement aborts the transaction: every later
// statement fails until a rollback. Row() reports its error only at Scan,
// so the plugin never learns of the failure and keeps serving.
func TestAdversarialFailureSeenOnlyByRowScanAbortsTransaction(t *testing.T) {
	compareAdv(t, compareOpts{only: "postgres"}, setupTenantSchemas, func(t *testing.T, s *side) {
		tx := s.q().Begin()
		readUser(s, "user 1", tx, 1)
		var n int
		s.seeErr("failing Row", tx.Raw("SELECT 1 / (id - id) FROM tenant_users WHERE id = 1").Row().Scan(&n), n)
		readUser(s, "user 1 in the aborted transaction", tx, 1)
		s.see("rollback", tx.Rollback(), nil)
	})
}

// idle_in_transaction_session_timeout is treated as harmless, but it ends
// the session: the next statement must fail.
func TestAdversarialIdleInTransactionTimeoutEndsTheSession(t *testing.T) {
	compareAdv(t, compareOpts{only: "postgres"}, setupTenantSchemas, func(t *testing.T, s *side) {
		tx := s.q().Begin()
		readUser(s, "user 1", tx, 1)
		s.see("set timeout", tx.Exec("SET idle_in_transaction_session_timeout = 20"), nil)
		time.Sleep(300 * time.Millisecond)
		var u TenantUser
		res := tx.First(&u, 1)
		s.note("read after the session ended fails", res.Error != nil)
		_ = tx.Rollback()
	})
}

// AdvItem has an integer key and a group column without an index.
type AdvItem struct {
	ID   uint `gorm:"primaryKey;autoIncrement:false"`
	Grp  int
	Name string
}

// AdvCode has a text key: SQLite stores its rows in rowid order, not key
// order.
type AdvCode struct {
	Code string `gorm:"primaryKey"`
	Grp  int
	Name string
}

// Without ORDER BY the database returns rows in its own order: PostgreSQL's
// heap order (an updated row moves to the end), SQLite's rowid order for a
// table whose key is not the rowid. Served rows come sorted by key instead.
func TestAdversarialUnorderedResultsKeepTheDatabasesOrder(t *testing.T) {
	t.Run("collection after an update", func(t *testing.T) {
		compareAdv(t, compareOpts{only: "postgres"}, func(t *testing.T, s *side) {
			require.NoError(t, s.db.AutoMigrate(&AdvItem{}))
			for id := 1; id <= 3; id++ {
				s.must(t, s.db.Create(&AdvItem{ID: uint(id), Grp: 7, Name: fmt.Sprint("item ", id)}))
			}
			s.must(t, s.db.Model(&AdvItem{ID: 1}).Update("name", "item 1 renamed"))
		}, func(t *testing.T, s *side) {
			for i := range 2 {
				var xs []AdvItem
				s.see(fmt.Sprint("group 7, read ", i), s.q().Where("grp = ?", 7).Find(&xs), xs)
			}
		})
	})
	t.Run("text key", func(t *testing.T) {
		compareAdv(t, compareOpts{}, func(t *testing.T, s *side) {
			require.NoError(t, s.db.AutoMigrate(&AdvCode{}))
			for _, c := range []string{"c", "a", "b"} {
				s.must(t, s.db.Create(&AdvCode{Code: c, Grp: 7, Name: "code " + c}))
			}
		}, func(t *testing.T, s *side) {
			for i := range 2 {
				var xs []AdvCode
				s.see(fmt.Sprint("group 7, read ", i), s.q().Where("grp = ?", 7).Find(&xs), xs)
			}
		})
	})
}

// GORM puts a string condition in parentheses only when it holds " OR "
// with plain spaces. "(?)OR" is not wrapped, so "AND id = 1" binds to the
// right-hand side of the OR: the update reaches rows other than 1, but the
// plugin reads the condition as narrowing the primary-key one and stamps
// row 1 only.
func TestAdversarialUpdateWithUnspacedOrReachesOtherRows(t *testing.T) {
	compareAdv(t, compareOpts{}, func(t *testing.T, s *side) {
		require.NoError(t, s.db.AutoMigrate(&AdvItem{}))
		for id := 1; id <= 3; id++ {
			s.must(t, s.db.Create(&AdvItem{ID: uint(id), Grp: id, Name: fmt.Sprint("item ", id)}))
		}
	}, func(t *testing.T, s *side) {
		var x AdvItem
		s.see("item 2", s.q().First(&x, 2), x)
		s.see("update", s.q().Model(&AdvItem{ID: 1}).Where("name IN (?)OR grp = ?", "item 2", 99).Update("grp", 50), nil)
		var y AdvItem
		s.see("item 2 after", s.q().First(&y, 2), y)
	})
}

// compareAdv is compare, except that with PREFETCH_ADV_PLAIN_TWICE set both
// sides run without the plugin: the script must then pass, showing that the
// difference is the plugin's.
func compareAdv(t *testing.T, o compareOpts, setup, script func(t *testing.T, s *side)) {
	t.Helper()
	if os.Getenv("PREFETCH_ADV_PLAIN_TWICE") == "" {
		compare(t, o, setup, script)
		return
	}
	forEachDB(t, o.only, func(t *testing.T, dialect string) {
		a, b := openSide(t, dialect, false, o), openSide(t, dialect, false, o)
		for _, s := range []*side{a, b} {
			if setup != nil {
				setup(t, s)
			}
			script(t, s)
		}
		requireSameObservations(t, a.obs, b.obs)
	})
}
