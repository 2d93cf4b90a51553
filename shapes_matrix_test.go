package prefetch_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// Issue 3, item 5: every shape GORM supports is either served correctly or
// passed through to the database, never served wrong.

type ShComposite struct {
	TenantID uint   `gorm:"primaryKey;autoIncrement:false"`
	Code     string `gorm:"primaryKey"`
	Label    string
}

type ShStringKey struct {
	ID    string `gorm:"primaryKey"`
	Label string
}

// ShUUID is a UUID kept as its text form, with Scanner and Valuer.
type ShUUID [16]byte

func (u ShUUID) Value() (driver.Value, error) {
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:]), nil
}

func (u *ShUUID) Scan(src any) error {
	var s string
	switch v := src.(type) {
	case string:
		s = v
	case []byte:
		s = string(v)
	default:
		return errors.New("ShUUID: unsupported type")
	}
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] == '-' {
			continue
		}
		var x byte
		if _, err := fmt.Sscanf(s[i:i+2], "%02x", &x); err != nil {
			return err
		}
		b = append(b, x)
		i++
	}
	if len(b) != 16 {
		return errors.New("ShUUID: bad length")
	}
	copy(u[:], b)
	return nil
}

type ShUUIDKey struct {
	ID    ShUUID `gorm:"primaryKey;type:varchar(36)"`
	Label string
}

type ShNoKey struct {
	Label string
	Qty   int
}

type ShCustom struct {
	ID    uint
	Label string
}

func (ShCustom) TableName() string { return fmt.Sprintf("sh_custom_%d", os.Getpid()) }

type ShAudit struct {
	By string
	At time.Time
}

type ShEmbedded struct {
	ID     uint
	Label  string
	Audit  ShAudit        `gorm:"embedded;embeddedPrefix:audit_"`
	Meta   map[string]any `gorm:"serializer:json"`
	Parts  []string       `gorm:"serializer:json"`
	Note   sql.NullString
	Count  sql.NullInt64
	Seen   sql.NullTime
	Ptr    *int
	Blob   []byte
	Stamp  time.Time
	Custom ShUUID `gorm:"type:varchar(36)"`
}

func TestShapeMatrix(t *testing.T) {
	for _, path := range servedPaths(true) {
		t.Run(path, func(t *testing.T) {
			defer forceReplay(path)()
			each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
				zone := time.FixedZone("UTC+5:30", 5*3600+1800)
				seven := 7
				t.Run("composite key", func(t *testing.T) {
					rows := []ShComposite{{1, "a", "one-a"}, {1, "b", "one-b"}, {2, "a", "two-a"}}
					shape(t, e, rows, true, func(db *gorm.DB, out *ShComposite) error {
						return db.Where("tenant_id = ? AND code = ?", 1, "b").First(out).Error
					}, func(db *gorm.DB) error {
						return db.Model(&ShComposite{}).Where("tenant_id = ? AND code = ?", 1, "b").Update("label", "changed").Error
					})
				})
				t.Run("string key", func(t *testing.T) {
					rows := []ShStringKey{{"k1", "one"}, {"k2", "two"}}
					shape(t, e, rows, true, func(db *gorm.DB, out *ShStringKey) error { return db.Take(out, "id = ?", "k2").Error },
						func(db *gorm.DB) error { return db.Model(&ShStringKey{ID: "k2"}).Update("label", "changed").Error })
				})
				t.Run("uuid key", func(t *testing.T) {
					u1, u2 := ShUUID{1, 2, 3}, ShUUID{9, 9, 9, 15: 1}
					rows := []ShUUIDKey{{u1, "one"}, {u2, "two"}}
					shape(t, e, rows, true, func(db *gorm.DB, out *ShUUIDKey) error { return db.Take(out, "id = ?", u2).Error },
						func(db *gorm.DB) error { return db.Model(&ShUUIDKey{ID: u2}).Update("label", "changed").Error })
				})
				t.Run("no primary key", func(t *testing.T) {
					rows := []ShNoKey{{"one", 1}, {"two", 2}}
					shape(t, e, rows, false, func(db *gorm.DB, out *ShNoKey) error { return db.Where("label = ?", "two").Take(out).Error },
						func(db *gorm.DB) error { return db.Model(&ShNoKey{}).Where("label = ?", "two").Update("qty", 9).Error })
				})
				t.Run("custom table name", func(t *testing.T) {
					rows := []ShCustom{{Label: "one"}, {Label: "two"}}
					shape(t, e, rows, true, func(db *gorm.DB, out *ShCustom) error { return db.First(out, 2).Error },
						func(db *gorm.DB) error { return db.Model(&ShCustom{ID: 2}).Update("label", "changed").Error })
				})
				t.Run("embedded, serializer, Null, pointer, bytes, time zone, Valuer", func(t *testing.T) {
					at := time.Date(2026, 3, 4, 5, 6, 7, 0, zone)
					rows := []ShEmbedded{
						{Label: "full", Audit: ShAudit{By: "ann", At: at}, Meta: map[string]any{"k": "v", "n": 1.5}, Parts: []string{"x", "y"},
							Note: sql.NullString{String: "n", Valid: true}, Count: sql.NullInt64{Int64: 3, Valid: true},
							Seen: sql.NullTime{Time: at.UTC(), Valid: true}, Ptr: &seven, Blob: []byte{0, 1, 2}, Stamp: at, Custom: ShUUID{4, 2}},
						{Label: "empty", Stamp: at},
					}
					for _, id := range []uint{1, 2} {
						shape(t, e, rows, true, func(db *gorm.DB, out *ShEmbedded) error { return db.First(out, id).Error },
							func(db *gorm.DB) error { return db.Model(&ShEmbedded{ID: id}).Update("label", "changed").Error })
					}
				})
				t.Run("DryRun touches neither cache nor database", func(t *testing.T) {
					e.reset(t)
					e.seed(t, 3, 0)
					ctx, db := e.request()
					var c Customer
					e.requireQueries(t, 0, func() {
						stmt := db.Session(&gorm.Session{DryRun: true}).First(&c, 1).Statement
						require.Contains(t, stmt.SQL.String(), "SELECT")
					})
					require.Zero(t, prefetch.StatsOf(ctx).Rows)
				})
				t.Run("Scopes, Session and the generics API", func(t *testing.T) {
					e.reset(t)
					e.seed(t, 3, 0)
					ctx, db := e.request()
					byID := func(id int) func(*gorm.DB) *gorm.DB {
						return func(db *gorm.DB) *gorm.DB { return db.Where("id = ?", id) }
					}
					var c Customer
					require.NoError(t, db.Scopes(byID(2)).First(&c).Error)
					e.requireQueries(t, 0, func() {
						var again Customer
						require.NoError(t, db.Session(&gorm.Session{}).Scopes(byID(2)).First(&again).Error)
						require.Equal(t, c, again)
						g, err := gorm.G[Customer](e.db).Where("id = ?", 2).First(ctx)
						require.NoError(t, err)
						require.Equal(t, c, g)
					})
				})
			})
		})
	}
}

// shape seeds rows of T, then checks that a read through the plugin equals
// the same read without it, costs 0 queries the second time when servable
// (1 otherwise), does not alias the cache, and is fresh after a write.
func shape[T any](t *testing.T, e *env, rows []T, servable bool, read func(*gorm.DB, *T) error, write func(*gorm.DB) error) {
	t.Helper()
	var zero T
	require.NoError(t, e.plain.Migrator().DropTable(&zero))
	require.NoError(t, e.plain.AutoMigrate(&zero))
	t.Cleanup(func() { _ = e.plain.Migrator().DropTable(&zero) })
	seed := make([]T, len(rows))
	copy(seed, rows)
	require.NoError(t, e.plain.Create(&seed).Error)

	ctx := prefetch.NewContext(context.Background())
	db := e.db.WithContext(ctx)
	var all []T
	require.NoError(t, db.Find(&all).Error)

	var want, got T
	require.NoError(t, read(e.plain, &want))
	n := int64(1)
	if servable {
		n = 0
	}
	e.requireQueries(t, n, func() { require.NoError(t, read(db, &got)) })
	require.Equal(t, want, got)

	// Scribble on the result; the next read must not see it.
	scribble(&got)
	var again T
	require.NoError(t, read(db, &again))
	require.Equal(t, want, again)

	require.NoError(t, write(db))
	var fresh, wantFresh T
	require.NoError(t, read(db, &fresh))
	require.NoError(t, read(e.plain, &wantFresh))
	require.Equal(t, wantFresh, fresh)
	require.NotEqual(t, want, fresh)
}

// scribble overwrites what a result shares by reference: slices, maps,
// pointers.
func scribble(v any) {
	switch x := v.(type) {
	case *ShEmbedded:
		if len(x.Blob) > 0 {
			x.Blob[0] = 0xFF
		}
		if x.Meta != nil {
			x.Meta["k"] = "scribbled"
		}
		if len(x.Parts) > 0 {
			x.Parts[0] = "scribbled"
		}
		if x.Ptr != nil {
			*x.Ptr = -1
		}
	case *ShComposite:
		x.Label = "scribbled"
	}
}

// ShFloatKey has a primary key the cache cannot key rows by.
type ShFloatKey struct {
	ID      float64 `gorm:"primaryKey"`
	GroupID int
}

func TestRowsThatCannotBeKeyedAreNeverServed(t *testing.T) {
	each(t, prefetch.Plugin{}, func(t *testing.T, e *env) {
		require.NoError(t, e.plain.Migrator().DropTable(&ShFloatKey{}))
		require.NoError(t, e.plain.AutoMigrate(&ShFloatKey{}))
		t.Cleanup(func() { _ = e.plain.Migrator().DropTable(&ShFloatKey{}) })
		require.NoError(t, e.plain.Create(&[]ShFloatKey{{1.5, 1}, {2.5, 1}, {3.5, 2}}).Error)
		_, db := e.request()
		// SQLite returns the keys as float64, which cannot key a row: the
		// collection must not be recorded, and the read goes to the
		// database again. PostgreSQL returns numeric as text, which can:
		// the read is served, and must be right.
		again := int64(0)
		if e.name == "sqlite" {
			again = 1
		}
		for i, n := range []int64{1, again} {
			var got []ShFloatKey
			e.requireQueries(t, n, func() { require.NoError(t, db.Where("group_id = ?", 1).Find(&got).Error) })
			require.ElementsMatch(t, []ShFloatKey{{1.5, 1}, {2.5, 1}}, got, "read %d", i)
		}
	})
}
