package prefetch

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm/clause"
)

func TestClassifyFindsWrittenTables(t *testing.T) {
	cases := []struct {
		sql    string
		all    bool
		tables []string
	}{
		{"SELECT * FROM users WHERE id = 1", false, nil},
		{"SELECT * FROM users FOR UPDATE", false, nil},
		{"UPDATE users SET name = 'x' WHERE id = 1", false, []string{"users"}},
		{`UPDATE "public"."users" SET name = 'UPDATE orders' WHERE id = $1`, false, []string{"users"}},
		{"INSERT INTO orders (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET id = 2", false, []string{"orders"}},
		{"INSERT OR REPLACE INTO `orders` VALUES (1)", false, []string{"orders"}},
		{"DELETE FROM lines WHERE order_id IN (SELECT id FROM orders)", false, []string{"lines"}},
		{"WITH gone AS (DELETE FROM a RETURNING *) INSERT INTO b SELECT * FROM gone", false, []string{"a", "b"}},
		{"TRUNCATE TABLE a, b", true, nil},
		{"-- comment UPDATE x\nSELECT 1", false, nil},
		{"/* UPDATE x */ select 1", false, nil},
		{"ALTER TABLE users ADD COLUMN age int", true, nil},
		{"CREATE TABLE t (id int REFERENCES u ON DELETE CASCADE ON UPDATE CASCADE)", true, nil},
		{"SAVEPOINT sp1", false, nil},
		{"ROLLBACK TO SAVEPOINT sp1", false, nil},
		{"CALL refresh_everything()", true, nil},
		{"DO $$ BEGIN UPDATE users SET x = 1; END $$", true, nil},
		{"DELETE users FROM users JOIN x", true, nil},
		{"CREATE TRIGGER t AFTER INSERT ON a BEGIN UPDATE b SET x = 1; END", true, nil},
		{"SELECT 1; UPDATE users SET x = 1", false, []string{"users"}},
		{"REINDEX users", true, nil},
		{"SELECT replace(name, 'a', 'b') FROM users", false, nil},
		{"REPLACE INTO users VALUES (1)", false, []string{"users"}},
		{"COPY users FROM STDIN", false, []string{"users"}},
		{"COPY users TO STDOUT", false, nil},
		{"COPY (SELECT 1) TO STDOUT", false, nil},
		{"(SELECT 1) UNION (SELECT 2)", false, nil},
		{"EXPLAIN ANALYZE UPDATE users SET x = 1", true, nil},
		{"REFRESH MATERIALIZED VIEW v", true, nil},
		{"SET search_path TO tenant_a", true, nil},
		{"SET statement_timeout = 5", false, nil},
		{"commit", true, nil},
	}
	for _, tc := range cases {
		e := classify(tc.sql, nil)
		require.Equal(t, tc.all, e.change.all, tc.sql)
		if !tc.all {
			require.ElementsMatch(t, tc.tables, slices.Clone(e.change.tables), tc.sql)
		}
	}
}

func TestClassifyReadsControlAndSessionState(t *testing.T) {
	cases := []struct {
		sql  string
		vars []any
		want effect
	}{
		{"BEGIN", nil, effect{begin: true}},
		{"  begin immediate", nil, effect{begin: true}},
		{"START TRANSACTION", nil, effect{begin: true}},
		{"/* c */ COMMIT", nil, effect{end: true, change: change{all: true}}},
		{"END", nil, effect{end: true, change: change{all: true}}},
		{"ABORT", nil, effect{end: true, change: change{all: true}}},
		{"-- c\nROLLBACK", nil, effect{end: true, change: change{all: true}}},
		{"rollback to savepoint sp1", nil, effect{rollbackTo: true}},
		{"ROLLBACK TRANSACTION TO sp1", nil, effect{rollbackTo: true}},
		{"SET LOCAL search_path TO t1", nil, effect{local: true}},
		{"set local app.tenant = 'a'", nil, effect{local: true}},
		{"SET LOCAL statement_timeout = 1", nil, effect{}},
		{"SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", nil, effect{}},
		{"SELECT set_config('app.tenant', 'a', true)", nil, effect{local: true}},
		{"SELECT set_config('app.tenant', $1, $2)", []any{"a", true}, effect{local: true}},
		{"SELECT set_config('app.tenant', $1, $2)", []any{"a", false}, effect{session: true, change: change{all: true}}},
		{"SELECT set_config('app.tenant', f(1, true), false)", nil, effect{session: true, change: change{all: true}}},
		{"SELECT pg_catalog.set_config('a', 'b', false)", nil, effect{session: true, change: change{all: true}}},
		{"SET ROLE tenant_a", nil, effect{session: true, change: change{all: true}}},
		{"SET SESSION AUTHORIZATION bob", nil, effect{session: true, change: change{all: true}}},
		{"RESET ALL", nil, effect{session: true, change: change{all: true}}},
		{"DISCARD ALL", nil, effect{session: true, change: change{all: true}}},
		{"ATTACH DATABASE 'x.db' AS x", nil, effect{session: true, change: change{all: true}}},
		{"DETACH x", nil, effect{session: true, change: change{all: true}}},
		{"PRAGMA foreign_keys = ON", nil, effect{}},
		{"PRAGMA table_info(users)", nil, effect{}},
		{"PRAGMA case_sensitive_like = 1", nil, effect{session: true, change: change{all: true}}},
		{"PRAGMA reverse_unordered_selects", nil, effect{}},
		{"CREATE TEMP TABLE users (id int)", nil, effect{session: true, ddl: true, change: change{all: true}}},
		{"CREATE OR REPLACE VIEW \"V1\" AS SELECT 1", nil, effect{ddl: true, views: []string{"v1"}, change: change{all: true}}},
		{"create materialized view if not exists s.mv as select 1", nil, effect{ddl: true, views: []string{"mv"}, change: change{all: true}}},
	}
	for _, tc := range cases {
		got := classify(tc.sql, tc.vars)
		got.state = nil // TestClassifyNamesSessionState
		require.Equal(t, tc.want, got, tc.sql)
	}
}

func TestClassifyNamesSessionState(t *testing.T) {
	cases := []struct {
		sql  string
		want []stateOp
	}{
		{"SET search_path TO t1", []stateOp{{"search_path", true}}},
		{"SET SESSION ROLE r", []stateOp{{"role", true}}},
		{"SET search_path TO DEFAULT", []stateOp{{"search_path", false}}},
		{"RESET app.tenant", []stateOp{{"app.tenant", false}}},
		{"RESET ALL", []stateOp{{"*settings", false}}},
		{"DISCARD ALL", []stateOp{{"*all", false}}},
		{"DISCARD TEMP", []stateOp{{"*temp", false}}},
		{"SELECT set_config('App.Tenant', 'a', false)", []stateOp{{"app.tenant", true}}},
		{"SET app.tenant = 'a'; RESET app.tenant", []stateOp{{"app.tenant", true}, {"app.tenant", false}}},
		{"CREATE TEMP TABLE x (id int)", []stateOp{{"*temp", true}}},
		{"ATTACH 'f.db' AS f", []stateOp{{"*attach", true}}},
		{"PRAGMA case_sensitive_like = 1", []stateOp{{"pragma:case_sensitive_like", true}}},
		{"SET LOCAL search_path TO t1", nil},
	}
	for _, tc := range cases {
		require.Equal(t, tc.want, classify(tc.sql, nil).state, tc.sql)
	}
}

func TestClassifyReadsWhatDatabasesRead(t *testing.T) {
	cases := []struct {
		sql    string
		all    bool
		tables []string
	}{
		{"UPDATE main . items SET x = 1", false, []string{"items"}},
		{"UPDATE main /* c */ . items SET x = 1", false, []string{"items"}},
		{"DELETE FROM s.\"T\" WHERE 1", false, []string{"t"}},
		{"/* a /* nested */ UPDATE x SET y = 1 */ SELECT 1", true, nil},
		{"SELECT 1 -- c\r UPDATE x SET y = 1", true, nil},
		{"SELECT E'\\'' ; UPDATE x SET y = 1 --'", true, nil},
		{"SELECT * INTO TEMP t FROM u", true, nil},
		{"WITH a AS (SELECT 1) INSERT INTO t SELECT * FROM a", false, []string{"t"}},
		{`SELECT "set_config"('a', 'b', false)`, true, nil},
		{`SELECT "pg_catalog"."set_config"('a', 'b', false)`, true, nil},
	}
	for _, tc := range cases {
		e := classify(tc.sql, nil)
		require.Equal(t, tc.all, e.change.all, tc.sql)
		if !tc.all {
			require.ElementsMatch(t, tc.tables, slices.Clone(e.change.tables), tc.sql)
		}
	}
	e := classify("CREATE TABLE c2 (x int) INHERITS (p1, p2)", nil)
	require.Equal(t, []string{"p1", "p2", "c2"}, e.linked)
	e = classify("CREATE TABLE y2024 PARTITION OF events FOR VALUES FROM (1) TO (2)", nil)
	require.Equal(t, []string{"events", "y2024"}, e.linked)
	e = classify("ALTER VIEW v RENAME TO w", nil)
	require.Equal(t, [][2]string{{"v", "w"}}, e.renames)
}

func TestClassifyReadsForeignKeyActions(t *testing.T) {
	e := classify(`CREATE TABLE "lines" (id int, order_id int REFERENCES orders(id) ON DELETE CASCADE,
		product_id int REFERENCES products (id), CONSTRAINT fk FOREIGN KEY (x) REFERENCES "public"."X" ON UPDATE SET NULL)`, nil)
	require.Equal(t, []link{
		{child: "lines", parent: "orders", onDelete: true},
		{child: "lines", parent: "x", onUpdate: true},
	}, e.cascades)
	e = classify("ALTER TABLE ONLY kids ADD CONSTRAINT k FOREIGN KEY (p) REFERENCES parents (id) ON DELETE SET DEFAULT", nil)
	require.Equal(t, []link{{child: "kids", parent: "parents", onDelete: true}}, e.cascades)
}

func TestSplitAnd(t *testing.T) {
	cases := []struct {
		sql   string
		vars  []any
		parts []string
	}{
		{"tenant_id = ? AND code = ?", []any{1, "b"}, []string{"tenant_id = ?", "code = ?"}},
		{"a IN ? and b IS NULL", []any{[]int{1}}, []string{"a IN ?", "b IS NULL"}},
		{"a = ? OR b = ?", []any{1, 2}, nil},
		{"a BETWEEN ? AND ?", []any{1, 2}, nil},
		{"(a = ? AND b = ?)", []any{1, 2}, nil},
		{"a = 'x AND y' AND b = ?", []any{1}, nil},
		{"a = ?", []any{1}, nil},
	}
	for _, tc := range cases {
		parts := splitAnd(clause.Expr{SQL: tc.sql, Vars: tc.vars})
		var got []string
		for _, p := range parts {
			got = append(got, p.SQL)
		}
		require.Equal(t, tc.parts, got, tc.sql)
	}
}

type stringer string

func TestNormValue(t *testing.T) {
	cases := []struct {
		v    any
		cls  keyClass
		want any
		ok   bool
	}{
		{5, classInt, int64(5), true},
		{uint8(5), classInt, int64(5), true},
		{"5", classInt, int64(5), true},
		{"05", classInt, nil, false},
		{" 5", classInt, nil, false},
		{5, classString, nil, false},
		{"abc", classString, "abc", true},
		{stringer("abc"), classString, "abc", true},
		{5.0, classInt, nil, false},
		{nil, classInt, nil, false},
		{[]byte("x"), classString, nil, false},
		{uint64(1) << 63, classInt, nil, false},
	}
	for _, tc := range cases {
		got, ok := normValue(tc.v, tc.cls)
		require.Equal(t, tc.ok, ok, "%#v", tc.v)
		require.Equal(t, tc.want, got, "%#v", tc.v)
	}
}
