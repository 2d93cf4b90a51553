package prefetch

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// The session identity of a handle ("who" in a shared partition) is
// everything that can make two handles on one database read other rows or
// other values for one statement. Two handles share shared rows only when
// their identities are equal; a write through any of them still reaches
// every partition of the space. It covers:
//
//   - on PostgreSQL, the roles, the resolved search path, row_security,
//     every setting not at its default (pg_settings, but application_name),
//     and every custom setting (app.tenant...) that a row-level security
//     policy, a view or a function of the database reads with
//     current_setting, or that the handle's DSN sets (PostgreSQL does not
//     list custom settings in pg_settings);
//   - how the handle's driver returns values: a probe row of times and
//     numbers read through the handle, as its driver returns them (pgx on
//     the simple protocol returns times in the session's zone with a fixed
//     offset, on the extended protocol in time.Local; the SQLite driver in
//     the location its DSN's _loc names), and the driver's protocol mode.
//
// Times in time.Local are encoded as Local (shared_codec.go): a process
// reads them in its own time.Local, as its driver would return them.

// pgSessionSQL reads the PostgreSQL session identity in one query.
const pgSessionSQL = `SELECT current_user || ' ' || session_user || ' ' ||
  array_to_string(current_schemas(true), ',') || ' ' || current_setting('row_security') || ' ' ||
  coalesce((SELECT string_agg(name || '=' || setting, ',' ORDER BY name) FROM pg_settings
    WHERE source NOT IN ('default', 'override') AND name <> 'application_name'), '') || ' ' ||
  coalesce((SELECT string_agg(g || '=' || coalesce(current_setting(g, true), '<unset>'), ',' ORDER BY g)
    FROM (SELECT DISTINCT lower(m[1]) AS g FROM (
      SELECT coalesce(qual, '') || ' ' || coalesce(with_check, '') AS src FROM pg_policies
      UNION ALL SELECT coalesce(definition, '') FROM pg_views
        WHERE schemaname NOT IN ('pg_catalog', 'information_schema')
      UNION ALL SELECT p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
    ) s, regexp_matches(s.src, 'current_setting\(\s*''([^'']+)''', 'gi') m) gs
    WHERE g LIKE '%.%'), '')`

// probeSQL reads values whose Go form depends on how the handle's driver
// returns them. SQLite converts text to times only for columns declared
// as times: its probe goes through a temporary table on one connection.
var probeSQL = map[string][]string{
	"postgres": {`SELECT '2000-01-01 00:00:00+00'::timestamptz, '2000-07-01 12:30:00+00'::timestamptz,
  '2000-01-01 00:00:00'::timestamp, '2000-01-01'::date, 1.5::numeric, 2.5::float8, 3::int8, true, 'x'::text`},
	"sqlite": {
		`CREATE TEMP TABLE IF NOT EXISTS prefetch_probe (a timestamp, b datetime, c date)`,
		`DELETE FROM temp.prefetch_probe`,
		`INSERT INTO temp.prefetch_probe VALUES ('2000-01-01 00:00:00+00:00', '2000-07-01 12:30:00', '2000-01-01')`,
		`SELECT a, b, c, 1.5, 3, 'x' FROM temp.prefetch_probe`,
		`DROP TABLE temp.prefetch_probe`,
	},
}

// sessionOf returns the session identity of db (see above), "" for a
// dialect it knows nothing of.
func sessionOf(ctx context.Context, db *gorm.DB) (string, error) {
	name := db.Dialector.Name()
	var b strings.Builder
	if name == "postgres" {
		var s string
		if err := db.ConnPool.QueryRowContext(ctx, pgSessionSQL).Scan(&s); err != nil {
			return "", fmt.Errorf("read the session's roles, search path and settings: %v", err)
		}
		b.WriteString(s)
	}
	b.WriteString(" dsn:" + dsnSettings(db))
	probe, err := probeValues(ctx, db, probeSQL[name])
	if err != nil {
		return "", fmt.Errorf("read how the driver returns values: %v", err)
	}
	b.WriteString(" probe:" + probe)
	return b.String(), nil
}

// probeValues runs stmts on one connection (the SELECT returns the probe
// row) and describes the values as the driver returned them.
func probeValues(ctx context.Context, db *gorm.DB, stmts []string) (string, error) {
	if len(stmts) == 0 {
		return "", nil
	}
	var run gorm.ConnPool = db.ConnPool
	if p, ok := db.ConnPool.(interface {
		Conn(context.Context) (*sql.Conn, error)
	}); ok {
		c, err := p.Conn(ctx)
		if err != nil {
			return "", err
		}
		defer c.Close()
		run = c
	} else if len(stmts) > 1 {
		// No connection of its own, no probe: shares with no handle
		// that could probe.
		return "unknown", nil
	}
	var out []string
	for _, q := range stmts {
		if !strings.HasPrefix(q, "SELECT") {
			if _, err := run.ExecContext(ctx, q); err != nil {
				return "", err
			}
			continue
		}
		rows, err := run.QueryContext(ctx, q)
		if err != nil {
			return "", err
		}
		cols, err := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for j := range vals {
			ptrs[j] = &vals[j]
		}
		if err == nil && rows.Next() {
			err = rows.Scan(ptrs...)
		}
		if cerr := rows.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = rows.Err()
		}
		if err != nil {
			return "", err
		}
		for _, v := range vals {
			out = append(out, describeValue(v))
		}
	}
	return strings.Join(out, ","), nil
}

// describeValue names a probe value's Go type and, for a time, the
// location it is in: Local and UTC by name (the codec keeps them so),
// any other by its name and offset.
func describeValue(v any) string {
	t, ok := v.(time.Time)
	if !ok {
		return fmt.Sprintf("%T=%v", v, v)
	}
	switch loc := t.Location(); loc {
	case time.Local:
		return "time@Local"
	case time.UTC:
		return "time@UTC=" + t.Format(time.RFC3339Nano)
	default:
		name, off := t.Zone()
		return fmt.Sprintf("time@%s/%s/%d=%s", loc, name, off, t.Format(time.RFC3339Nano))
	}
}

// dsnSettings returns what the handle's DSN says of the session and of the
// driver's protocol: PostgreSQL runtime parameters and settings (but
// application_name) and the query exec mode (pgDSNSettings), SQLite's _loc; "" when the dialector has no
// DSN. The DSN is found by name (gorm's postgres and sqlite dialectors
// both have a DSN field), so that the core imports neither driver.
func dsnSettings(db *gorm.DB) string {
	dsn, _ := dialectorField(db.Dialector, "DSN").(string)
	simple, _ := dialectorField(db.Dialector, "PreferSimpleProtocol").(bool)
	switch db.Dialector.Name() {
	case "postgres":
		out := fmt.Sprintf("simple=%v", simple)
		if dsn == "" {
			return out
		}
		items, ok := pgDSNSettings(dsn)
		if !ok {
			return out + " unparsed " + dsn // shares only with the same DSN
		}
		return out + " " + strings.Join(items, " ")
	case "sqlite":
		if i := strings.IndexByte(dsn, '?'); i >= 0 {
			for _, kv := range strings.Split(dsn[i+1:], "&") {
				if strings.HasPrefix(kv, "_loc=") {
					return kv
				}
			}
		}
	}
	return ""
}

// dialectorField returns the exported field name of a dialector (a struct
// or a pointer to one, fields of embedded structs included), or nil.
func dialectorField(d gorm.Dialector, name string) any {
	v := reflect.ValueOf(d)
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil
	}
	sf, ok := v.Type().FieldByName(name)
	if !ok || !sf.IsExported() {
		return nil
	}
	f, err := v.FieldByIndexErr(sf.Index)
	if err != nil || !f.CanInterface() {
		return nil
	}
	return f.Interface()
}

// looseKeySQL lists the columns of a table whose collation is
// nondeterministic (PostgreSQL 12+): such a collation may hold equal
// spellings that key folding (case, padding, uuid punctuation) does not.
const looseKeySQL = `SELECT coalesce(string_agg(a.attname, ','), '') FROM pg_attribute a
  JOIN pg_collation c ON c.oid = a.attcollation
  WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped AND NOT c.collisdeterministic`

// looseKeyColumn returns a key column of t, as the table stands when the
// plugin is registered, under a nondeterministic collation, or "". Tables
// created later are not checked (docs/shared-cache.md).
func looseKeyColumn(db *gorm.DB, t *sharedTable) string {
	if t == nil || db.Dialector.Name() != "postgres" || db.ConnPool == nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var cols string
	if err := db.ConnPool.QueryRowContext(ctx, looseKeySQL, t.name).Scan(&cols); err != nil || cols == "" {
		return "" // no such table yet, or a PostgreSQL without nondeterministic collations
	}
	for _, c := range strings.Split(cols, ",") {
		if slices.Contains(t.pk, c) {
			return c
		}
	}
	return ""
}
