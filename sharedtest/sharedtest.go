// Package sharedtest is the conformance suite of [prefetch.SharedStore]:
// every backend of the shared cache (the in-process store, Redis) runs it
// from its own tests, so that all of them keep the one rule the plugin's
// consistency rests on (see the SharedStore documentation).
//
//	func TestConformance(t *testing.T) {
//		sharedtest.Run(t, func(t *testing.T) prefetch.SharedStore { return newStore(t) })
//	}
//
// newStore must return a store whose state no other test touches (a fresh
// one, or one on a fresh space prefix is not enough: spaces are chosen by the
// suite), whose lease lifetime is under an hour, and which keeps values for
// the TTL a fill gives (the suite uses TTLs of a minute and of 200 ms).
package sharedtest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
)

// Run runs every conformance test against stores made by newStore, one
// store per test.
func Run(t *testing.T, newStore func(t *testing.T) prefetch.SharedStore) {
	tests := []struct {
		name string
		fn   func(*testing.T, prefetch.SharedStore)
	}{
		{"ReadFillRead", readFillRead},
		{"EmptyReadGivesALease", emptyRead},
		{"NamesNeverCollide", namesNeverCollide},
		{"InvalidateKeyReachesEveryPartition", invalidateKey},
		{"InvalidateTableReachesEveryPartition", invalidateTable},
		{"InvalidateSpaceReachesEveryTable", invalidateSpace},
		{"FillAfterInvalidationUnderOlderLeaseIsRefused", staleSetRefused},
		{"FillUnderLeaseTakenAfterInvalidationIsKept", freshFillKept},
		{"LeaseFromLeaseWorksLikeLeaseFromRead", leaseFromLease},
		{"LeaseOlderThanLifetimeIsRefused", leaseLifetime},
		{"LeaseOfAnotherEpochIsRefused", leaseEpoch},
		{"ValuesExpireAfterTheirTTL", ttlExpiry},
		{"PartitionsAreIsolated", partitionsIsolated},
		{"ConcurrentInvalidationsAndFillsNeverLeaveAStaleValue", concurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

const minute = time.Minute

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// read returns the values of keys, requiring no error.
func read(t *testing.T, s prefetch.SharedStore, space, part, table string, keys ...string) ([][]byte, prefetch.SharedLease) {
	t.Helper()
	vals, lease, err := s.Read(ctx(t), space, part, table, keys)
	require.NoError(t, err)
	require.Len(t, vals, len(keys))
	return vals, lease
}

// fill reads keys (for a lease) and fills them with vals.
func fill(t *testing.T, s prefetch.SharedStore, space, part, table string, keys []string, vals []string, ttl time.Duration) {
	t.Helper()
	_, lease := read(t, s, space, part, table, keys...)
	require.NoError(t, s.Fill(ctx(t), lease, space, part, table, keys, bytesOf(vals), ttl))
}

func bytesOf(vals []string) [][]byte {
	out := make([][]byte, len(vals))
	for i, v := range vals {
		out[i] = []byte(v)
	}
	return out
}

// got turns read values into strings, "<nil>" where there is none.
func got(vals [][]byte) []string {
	out := make([]string, len(vals))
	for i, v := range vals {
		if v == nil {
			out[i] = "<nil>"
		} else {
			out[i] = string(v)
		}
	}
	return out
}

func readFillRead(t *testing.T, s prefetch.SharedStore) {
	vals, lease := read(t, s, "sp", "p", "users", "1", "2")
	require.Equal(t, []string{"<nil>", "<nil>"}, got(vals))
	require.NoError(t, s.Fill(ctx(t), lease, "sp", "p", "users", []string{"1", "2"}, bytesOf([]string{"one", "two"}), minute))
	vals, _ = read(t, s, "sp", "p", "users", "2", "3", "1")
	require.Equal(t, []string{"two", "<nil>", "one"}, got(vals))
	// Binary values come back byte for byte.
	bin := []byte{0, 1, 2, 0xff, 0}
	_, lease = read(t, s, "sp", "p", "users", "bin")
	require.NoError(t, s.Fill(ctx(t), lease, "sp", "p", "users", []string{"bin"}, [][]byte{bin}, minute))
	vals, _ = read(t, s, "sp", "p", "users", "bin")
	require.Equal(t, bin, vals[0])
}

func emptyRead(t *testing.T, s prefetch.SharedStore) {
	vals, lease, err := s.Read(ctx(t), "sp", "p", "users", nil)
	require.NoError(t, err)
	require.Empty(t, vals)
	require.NoError(t, s.Fill(ctx(t), lease, "sp", "p", "users", []string{"1"}, bytesOf([]string{"one"}), minute))
	v, _ := read(t, s, "sp", "p", "users", "1")
	require.Equal(t, []string{"one"}, got(v))
}

// Names made of any bytes, separators included, never reach another's
// values.
func namesNeverCollide(t *testing.T, s prefetch.SharedStore) {
	cases := [][4]string{ // space, partition, table, key
		{"a", "b", "c", "d"},
		{"a:b", "", "c", "d"},
		{"a", "b:c", "", "d"},
		{"a", "b", "c:d", ""},
		{"a", "b", "c", ":d"},
		{"a", "b", "c\x00d", "x"},
		{"a", "b", "c", "d\x00x"},
		{"a", "b", "c", "d:x"},
		{"a", "b", "c", "\x00"},
	}
	for i, c := range cases {
		fill(t, s, c[0], c[1], c[2], []string{c[3]}, []string{fmt.Sprint(i)}, minute)
	}
	for i, c := range cases {
		vals, _ := read(t, s, c[0], c[1], c[2], c[3])
		require.Equal(t, []string{fmt.Sprint(i)}, got(vals), "case %q", c)
	}
}

func invalidateKey(t *testing.T, s prefetch.SharedStore) {
	for _, p := range []string{"", "t1", "t2"} {
		fill(t, s, "sp", p, "users", []string{"1", "2"}, []string{"one" + p, "two" + p}, minute)
	}
	fill(t, s, "sp", "t1", "orders", []string{"1"}, []string{"order"}, minute)
	fill(t, s, "other", "t1", "users", []string{"1"}, []string{"elsewhere"}, minute)
	require.NoError(t, s.Invalidate(ctx(t), "sp", "users", []string{"1"}))
	for _, p := range []string{"", "t1", "t2"} {
		vals, _ := read(t, s, "sp", p, "users", "1", "2")
		require.Equal(t, []string{"<nil>", "two" + p}, got(vals), "partition %q", p)
	}
	vals, _ := read(t, s, "sp", "t1", "orders", "1")
	require.Equal(t, []string{"order"}, got(vals), "another table keeps its key 1")
	vals, _ = read(t, s, "other", "t1", "users", "1")
	require.Equal(t, []string{"elsewhere"}, got(vals), "another space keeps its key 1")
}

func invalidateTable(t *testing.T, s prefetch.SharedStore) {
	for _, p := range []string{"", "t1"} {
		fill(t, s, "sp", p, "users", []string{"1", "2"}, []string{"one", "two"}, minute)
		fill(t, s, "sp", p, "orders", []string{"1"}, []string{"order"}, minute)
	}
	require.NoError(t, s.Invalidate(ctx(t), "sp", "users", nil))
	for _, p := range []string{"", "t1"} {
		vals, _ := read(t, s, "sp", p, "users", "1", "2")
		require.Equal(t, []string{"<nil>", "<nil>"}, got(vals))
		vals, _ = read(t, s, "sp", p, "orders", "1")
		require.Equal(t, []string{"order"}, got(vals))
	}
	// The table fills again afterwards.
	fill(t, s, "sp", "t1", "users", []string{"1"}, []string{"again"}, minute)
	vals, _ := read(t, s, "sp", "t1", "users", "1")
	require.Equal(t, []string{"again"}, got(vals))
}

func invalidateSpace(t *testing.T, s prefetch.SharedStore) {
	for _, p := range []string{"", "t1"} {
		fill(t, s, "sp", p, "users", []string{"1"}, []string{"one"}, minute)
		fill(t, s, "sp", p, "orders", []string{"1"}, []string{"order"}, minute)
	}
	fill(t, s, "other", "t1", "users", []string{"1"}, []string{"elsewhere"}, minute)
	require.NoError(t, s.Invalidate(ctx(t), "sp", "", nil))
	for _, p := range []string{"", "t1"} {
		vals, _ := read(t, s, "sp", p, "users", "1")
		require.Equal(t, []string{"<nil>"}, got(vals))
		vals, _ = read(t, s, "sp", p, "orders", "1")
		require.Equal(t, []string{"<nil>"}, got(vals))
	}
	vals, _ := read(t, s, "other", "t1", "users", "1")
	require.Equal(t, []string{"elsewhere"}, got(vals))
	fill(t, s, "sp", "t1", "users", []string{"1"}, []string{"again"}, minute)
	vals, _ = read(t, s, "sp", "t1", "users", "1")
	require.Equal(t, []string{"again"}, got(vals))
}

// The stale-set race: a reader takes a lease, reads the old row from the
// database; a writer changes the row and invalidates; the reader's fill
// must store nothing, whatever the invalidation named.
func staleSetRefused(t *testing.T, s prefetch.SharedStore) {
	invalidations := map[string]func() error{
		"key":   func() error { return s.Invalidate(ctx(t), "sp", "users", []string{"1"}) },
		"table": func() error { return s.Invalidate(ctx(t), "sp", "users", nil) },
		"space": func() error { return s.Invalidate(ctx(t), "sp", "", nil) },
	}
	for name, inv := range invalidations {
		t.Run(name, func(t *testing.T) {
			_, lease := read(t, s, "sp", "p", "users", "1", "2")
			require.NoError(t, inv())
			require.NoError(t, s.Fill(ctx(t), lease, "sp", "p", "users", []string{"1"}, bytesOf([]string{"old"}), minute))
			vals, _ := read(t, s, "sp", "p", "users", "1")
			require.Equal(t, []string{"<nil>"}, got(vals), "a fill under a lease older than the invalidation was kept")
			// A lease taken by Lease behaves the same.
			lease, err := s.Lease(ctx(t), "sp")
			require.NoError(t, err)
			require.NoError(t, inv())
			require.NoError(t, s.Fill(ctx(t), lease, "sp", "q", "users", []string{"1"}, bytesOf([]string{"old"}), minute))
			vals, _ = read(t, s, "sp", "q", "users", "1")
			require.Equal(t, []string{"<nil>"}, got(vals))
		})
	}
}

func freshFillKept(t *testing.T, s prefetch.SharedStore) {
	require.NoError(t, s.Invalidate(ctx(t), "sp", "users", []string{"1"}))
	require.NoError(t, s.Invalidate(ctx(t), "sp", "users", nil))
	require.NoError(t, s.Invalidate(ctx(t), "sp", "", nil))
	fill(t, s, "sp", "p", "users", []string{"1"}, []string{"new"}, minute)
	vals, _ := read(t, s, "sp", "p", "users", "1")
	require.Equal(t, []string{"new"}, got(vals))
}

func leaseFromLease(t *testing.T, s prefetch.SharedStore) {
	lease, err := s.Lease(ctx(t), "sp")
	require.NoError(t, err)
	require.NoError(t, s.Fill(ctx(t), lease, "sp", "p", "users", []string{"1", "2"}, bytesOf([]string{"one", "two"}), minute))
	vals, _ := read(t, s, "sp", "p", "users", "1", "2")
	require.Equal(t, []string{"one", "two"}, got(vals))
}

// A lease whose At (the plugin's clock when it was taken) lies beyond the
// store's lease lifetime proves nothing: the versions that would refuse it
// may be gone.
func leaseLifetime(t *testing.T, s prefetch.SharedStore) {
	_, lease := read(t, s, "sp", "p", "users", "1")
	lease.At = lease.At.Add(-time.Hour)
	require.NoError(t, s.Fill(ctx(t), lease, "sp", "p", "users", []string{"1"}, bytesOf([]string{"old"}), minute))
	vals, _ := read(t, s, "sp", "p", "users", "1")
	require.Equal(t, []string{"<nil>"}, got(vals))
}

func leaseEpoch(t *testing.T, s prefetch.SharedStore) {
	_, lease := read(t, s, "sp", "p", "users", "1")
	lease.Epoch += "-another"
	require.NoError(t, s.Fill(ctx(t), lease, "sp", "p", "users", []string{"1"}, bytesOf([]string{"old"}), minute))
	vals, _ := read(t, s, "sp", "p", "users", "1")
	require.Equal(t, []string{"<nil>"}, got(vals))
}

func ttlExpiry(t *testing.T, s prefetch.SharedStore) {
	fill(t, s, "sp", "p", "users", []string{"short"}, []string{"x"}, 200*time.Millisecond)
	fill(t, s, "sp", "p", "users", []string{"long"}, []string{"y"}, minute)
	vals, _ := read(t, s, "sp", "p", "users", "short", "long")
	require.Equal(t, []string{"x", "y"}, got(vals))
	require.Eventually(t, func() bool {
		vals, _ := read(t, s, "sp", "p", "users", "short")
		return vals[0] == nil
	}, 5*time.Second, 50*time.Millisecond)
	vals, _ = read(t, s, "sp", "p", "users", "long")
	require.Equal(t, []string{"y"}, got(vals))
}

func partitionsIsolated(t *testing.T, s prefetch.SharedStore) {
	fill(t, s, "sp", "tenant-a", "users", []string{"1"}, []string{"a's"}, minute)
	vals, _ := read(t, s, "sp", "tenant-b", "users", "1")
	require.Equal(t, []string{"<nil>"}, got(vals))
	vals, _ = read(t, s, "sp", "", "users", "1")
	require.Equal(t, []string{"<nil>"}, got(vals))
	fill(t, s, "sp", "tenant-b", "users", []string{"1"}, []string{"b's"}, minute)
	vals, _ = read(t, s, "sp", "tenant-a", "users", "1")
	require.Equal(t, []string{"a's"}, got(vals))
	vals, _ = read(t, s, "sp", "tenant-b", "users", "1")
	require.Equal(t, []string{"b's"}, got(vals))
}

// concurrent plays a database of a few rows whose values are versions:
// writers bump a row's version and then invalidate it (by key, table or
// space); readers read the store, and on a miss read the row's version
// and fill it under the lease of their read. A read that starts after an
// invalidation returned must never see a version older than that write.
func concurrent(t *testing.T, s prefetch.SharedStore) {
	const rows, writers, readers = 4, 3, 6
	var db [rows]atomic.Int64      // the "database"
	var settled [rows]atomic.Int64 // versions whose invalidation returned
	keys := make([]string, rows)
	for i := range keys {
		keys[i] = fmt.Sprint(i)
	}
	deadline := time.Now().Add(1500 * time.Millisecond)
	var wg sync.WaitGroup
	errs := make(chan error, writers+readers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for n := 0; time.Now().Before(deadline); n++ {
				r := (w + n) % rows
				v := db[r].Add(1)
				var err error
				switch n % 5 {
				case 3:
					err = s.Invalidate(context.Background(), "sp", "t", nil)
				case 4:
					err = s.Invalidate(context.Background(), "sp", "", nil)
				default:
					err = s.Invalidate(context.Background(), "sp", "t", []string{keys[r]})
				}
				if err != nil {
					errs <- err
					return
				}
				for {
					old := settled[r].Load()
					if old >= v || settled[r].CompareAndSwap(old, v) {
						break
					}
				}
			}
		}(w)
	}
	for rd := 0; rd < readers; rd++ {
		wg.Add(1)
		go func(rd int) {
			defer wg.Done()
			part := fmt.Sprint("p", rd%2)
			for n := 0; time.Now().Before(deadline); n++ {
				r := (rd + n) % rows
				floor := settled[r].Load()
				vals, lease, err := s.Read(context.Background(), "sp", part, "t", []string{keys[r]})
				if err != nil {
					errs <- err
					return
				}
				if vals[0] != nil {
					var v int64
					fmt.Sscan(string(vals[0]), &v)
					if v < floor {
						errs <- fmt.Errorf("row %d: read version %d after the invalidation of version %d returned", r, v, floor)
						return
					}
					continue
				}
				v := db[r].Load()
				if err := s.Fill(context.Background(), lease, "sp", part, "t", []string{keys[r]}, [][]byte{[]byte(fmt.Sprint(v))}, minute); err != nil {
					errs <- err
					return
				}
			}
		}(rd)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	// Once quiet, whatever the store holds is the current version.
	for r := range rows {
		for _, part := range []string{"p0", "p1"} {
			vals, _ := read(t, s, "sp", part, "t", keys[r])
			if vals[0] != nil {
				require.Equal(t, fmt.Sprint(db[r].Load()), string(vals[0]))
			}
		}
	}
}
