package redisstore_test

import (
	"testing"
	"time"

	"github.com/gorm-prefetch/prefetch"
	"github.com/gorm-prefetch/prefetch/redisstore"
	"github.com/stretchr/testify/require"
)

// fillOne fills key "1" of table "t" in partition "p" with val.
func fillOne(t *testing.T, s *redisstore.Store, val string) {
	t.Helper()
	_, lease, err := s.Read(ctx(t), "sp", "p", "t", []string{"1"})
	require.NoError(t, err)
	require.NoError(t, s.Fill(ctx(t), lease, "sp", "p", "t", []string{"1"}, [][]byte{[]byte(val)}, time.Minute))
}

// readOne returns key "1" of table "t" in partition "p", "" if missing.
func readOne(t *testing.T, s *redisstore.Store) string {
	t.Helper()
	vals, _, err := s.Read(ctx(t), "sp", "p", "t", []string{"1"})
	require.NoError(t, err)
	return string(vals[0])
}

// Two processes' stores, a and b; a reaches Redis through a proxy the test
// cuts.
func twoMembers(t *testing.T, silence, gone time.Duration) (a, b *redisstore.Store, p *proxy) {
	p = newProxy(t, redisAddr(t))
	prefix := uniquePrefix(t)
	// The timeout exceeds MemberSilence, so that a failed invalidation
	// waits out the silence (membership.go).
	opts := redisstore.Options{Prefix: prefix, Timeout: silence + silence/4, MemberSilence: silence, MemberGone: gone}
	a, b = newStoreAt(t, p.addr(), opts), newStoreAt(t, redisAddr(t), opts)
	fillOne(t, a, "one") // a uses the space: its heartbeats make it a member
	time.Sleep(silence)
	require.Eventually(t, func() bool { return readOne(t, b) == "one" }, 5*time.Second, 10*time.Millisecond)
	return a, b, p
}

func TestASilentMemberStopsEveryonesReadsUntilItIsHeardAgain(t *testing.T) {
	const silence = 200 * time.Millisecond
	a, b, p := twoMembers(t, silence, time.Minute)
	p.setCut(true)
	time.Sleep(2 * silence)
	require.Empty(t, readOne(t, b), "b served while a was silent")
	p.setCut(false)
	require.Eventually(t, func() bool { return readOne(t, b) == "one" }, 5*time.Second, 10*time.Millisecond,
		"b did not serve again once a was heard (a had nothing undelivered: the row is still good)")
	_ = a
}

// With MemberSilence no longer than the store's timeout.
func TestAFailedInvalidationReturnsOnlyOnceOthersStoppedServing(t *testing.T) {
	const silence = 200 * time.Millisecond
	a, b, p := twoMembers(t, silence, time.Minute)
	p.setCut(true) // the proxy refuses at once: the call fails fast
	start := time.Now()
	err := a.Invalidate(ctx(t), "sp", "t", []string{"1"})
	took := time.Since(start)
	require.ErrorIs(t, err, prefetch.ErrSharedUnavailable)
	require.Empty(t, readOne(t, b), "b served the row whose invalidation failed, after the failure returned")
	t.Logf("the failed invalidation returned after %v (MemberSilence %v)", took, silence)

	p.setCut(false)
	require.Eventually(t, func() bool { // until a's heartbeat invalidated the whole space and a is live again
		require.NotEqual(t, "one", readOne(t, b), "the row whose invalidation failed came back")
		fillOne(t, b, "new")
		return readOne(t, b) == "new"
	}, 5*time.Second, 10*time.Millisecond)
}

func TestAGoneMemberIsRemovedAndItsSpaceInvalidated(t *testing.T) {
	const silence, gone = 150 * time.Millisecond, 600 * time.Millisecond
	_, b, p := twoMembers(t, silence, gone)
	p.setCut(true)
	time.Sleep(2 * silence)
	require.Empty(t, readOne(t, b))
	time.Sleep(gone)
	time.Sleep(2 * silence) // b's heartbeat removes a
	require.Empty(t, readOne(t, b), "a's removal must invalidate the space: a may have written")
	require.Eventually(t, func() bool {
		require.NotEqual(t, "one", readOne(t, b), "a's removal must invalidate the space: a may have written")
		fillOne(t, b, "new")
		return readOne(t, b) == "new"
	}, 5*time.Second, 10*time.Millisecond, "b did not serve again once a was gone")
}

func TestCloseLeavesTheSpace(t *testing.T) {
	const silence = 100 * time.Millisecond
	a, b, _ := twoMembers(t, silence, time.Minute)
	require.NoError(t, a.Close())
	time.Sleep(3 * silence)
	require.Eventually(t, func() bool { return readOne(t, b) == "one" }, 5*time.Second, 10*time.Millisecond,
		"a closed store still counts as a silent member")
}
