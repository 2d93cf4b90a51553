package prefetch

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm/clause"
)

func TestParseWrites(t *testing.T) {
	cases := []struct {
		sql    string
		all    bool
		tables []string
	}{
		{"SELECT * FROM users WHERE id = 1", false, nil},
		{"SELECT * FROM users FOR UPDATE", false, nil},
		{"UPDATE users SET name = 'x' WHERE id = 1", false, []string{"users"}},
		{`UPDATE "public"."users" SET name = 'UPDATE orders' WHERE id = $1`, false, []string{`"public"."users"`}},
		{"INSERT INTO orders (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET id = 2", false, []string{"orders"}},
		{"INSERT OR REPLACE INTO `orders` VALUES (1)", false, []string{"`orders`"}},
		{"DELETE FROM lines WHERE order_id IN (SELECT id FROM orders)", false, []string{"lines"}},
		{"WITH gone AS (DELETE FROM a RETURNING *) INSERT INTO b SELECT * FROM gone", false, []string{"a", "b"}},
		{"TRUNCATE TABLE a, b", false, []string{"a", "b"}},
		{"-- comment UPDATE x\nSELECT 1", false, nil},
		{"ALTER TABLE users ADD COLUMN age int", false, []string{"users"}},
		{"CREATE TABLE t (id int REFERENCES u ON DELETE CASCADE ON UPDATE CASCADE)", false, nil},
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
	}
	for _, tc := range cases {
		c := parseWrites(tc.sql)
		require.Equal(t, tc.all, c.all, tc.sql)
		if !tc.all {
			got := slices.Clone(c.tables)
			require.ElementsMatch(t, tc.tables, got, tc.sql)
		}
	}
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
