package prefetch

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPostgresDSNSettingsAreWhatASessionReadsNotHowItConnects(t *testing.T) {
	for _, tc := range []struct {
		dsn  string
		want []string
	}{
		{"host=127.0.0.1 port=5433 user=app password=app dbname=app sslmode=disable", nil},
		{"host=/tmp/x user=app app.tenant=a  timezone='Asia/Tokyo' search_path=s1", []string{"app.tenant=a", "search_path=s1", "timezone=Asia/Tokyo"}},
		{"host=h application_name=job default_query_exec_mode=simple_protocol", []string{"default_query_exec_mode=simple_protocol"}},
		{"user=app options='-c app.tenant=b -cstatement_timeout=5 --work-mem=4MB'", []string{"app.tenant=b", "statement_timeout=5", "work_mem=4MB"}},
		{"password='a b\\'c' app.x=1", []string{"app.x=1"}},
		{"postgres://app:pw@localhost:5432/app?sslmode=disable&app.tenant=c&timezone=UTC", []string{"app.tenant=c", "timezone=UTC"}},
	} {
		got, ok := pgDSNSettings(tc.dsn)
		require.True(t, ok, tc.dsn)
		require.Equal(t, tc.want, got, tc.dsn)
	}
	_, ok := pgDSNSettings("host=h password='unterminated")
	require.False(t, ok)
}
