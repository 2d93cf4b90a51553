package redisstore

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Membership: what keeps an invalidation that could not be delivered from
// leaving a stale row readable in other processes.
//
// A process that commits a write and cannot reach Redis (its network is
// cut, Redis is slow for it alone) cannot delete the old row there; the
// plugin stops reading the shared cache in that process, but the others
// still reach Redis and would serve the old row. So every store is a
// member of each space it uses, and heartbeats: every Invalidate records it,
// and a goroutine calls every MemberSilence/4. A Read serves nothing while
// any member has been silent for more than MemberSilence: a member cut off
// from Redis stops every process's shared reads within that bound. When it
// comes back, its first heartbeat invalidates the whole space if one of its
// invalidations failed meanwhile, before it counts as live again. A member
// silent for more than MemberGone is removed as gone (crashed), with a
// whole-space invalidation, and the others serve again.
//
// Zero stale reads needs one more step: the write whose invalidation failed
// must not return before the others stopped serving. So a failed Invalidate
// returns no earlier than MemberSilence after the store's last contact with
// Redis (or at the caller's deadline, if that is sooner): with a
// MemberSilence no longer than the plugin's Shared.Timeout, no process
// serves the old row once the write returned. A longer MemberSilence bounds
// how long it may: by MemberSilence minus the time the failed call took.

// member is a store's membership of the spaces it uses.
type member struct {
	id      string        // the member's name in the spaces' members sets
	silence time.Duration // MemberSilence
	gone    time.Duration // MemberGone
	spaces  sync.Map      // space name -> *space
	quit    chan struct{} // closed by stop
	nudge   chan struct{} // asks for a heartbeat now (a failed invalidation)
	done    chan struct{} // closed when the heartbeat goroutine ended
	live    atomic.Int64  // Unix nanoseconds after the last call that recorded the store as live
	once    sync.Once     // guards stop
}

// space is what a store keeps of one space.
type space struct {
	name   string
	keys   *spaceKeys
	failed atomic.Uint64 // invalidations that failed
	sent   uint64        // failed as of the last heartbeat that invalidated the space; heartbeat goroutine only
}

func (m *member) start(s *Store, silence, gone time.Duration) {
	m.id, m.silence, m.gone = newEpoch(), silence, gone
	m.quit, m.nudge, m.done = make(chan struct{}), make(chan struct{}, 1), make(chan struct{})
	go m.heartbeats(s)
}

// space returns the state of a space, making the store a member of it.
func (s *Store) space(name string) *space {
	if sp, ok := s.spaces.Load(name); ok {
		return sp.(*space)
	}
	sp, _ := s.spaces.LoadOrStore(name, &space{name: name, keys: newSpaceKeys(s.prefix, name)})
	return sp.(*space)
}

// undelivered records a failed invalidation of sp and asks for a heartbeat,
// which invalidates the whole space.
func (s *Store) undelivered(sp *space) {
	sp.failed.Add(1)
	select {
	case s.nudge <- struct{}{}:
	default:
	}
}

func (m *member) heartbeats(s *Store) {
	defer close(m.done)
	t := time.NewTicker(m.silence / 4)
	defer t.Stop()
	for {
		select {
		case <-m.quit:
			return
		case <-t.C:
		case <-m.nudge:
		}
		s.spaces.Range(func(_, v any) bool {
			s.heartbeat(v.(*space), false)
			return true
		})
	}
}

// heartbeat records the store as live in sp (or makes it leave), first
// invalidating the whole space if an invalidation failed since the last
// heartbeat that did.
func (s *Store) heartbeat(sp *space, leave bool) {
	failed := sp.failed.Load()
	pending, out := "0", "0"
	if failed > sp.sent {
		pending = "1"
	}
	if leave {
		out = "1"
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	err := heartbeatScript.Run(ctx, s.client, []string{sp.keys.meta, sp.keys.members}, s.id, pending, s.gone.Milliseconds(), out).Err()
	if err == nil {
		sp.sent = failed
		s.heard()
	}
}

// heard records that Redis recorded the store as live, at the latest now.
func (m *member) heard() { m.live.Store(time.Now().UnixNano()) }

// waitSilence waits until every other process stops serving the space,
// MemberSilence after the store was last heard, or until ctx ends.
func (m *member) waitSilence(ctx context.Context) {
	d := time.Until(time.Unix(0, m.live.Load()).Add(m.silence))
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// stop ends the heartbeats and leaves every space.
func (m *member) stop() {
	m.once.Do(func() { close(m.quit) })
	<-m.done
}
