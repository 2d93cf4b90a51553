package redisstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/gorm-prefetch/prefetch"
	"github.com/redis/go-redis/v9"
)

// ErrBadOptions reports a client or options that New or Dial refuses.
var ErrBadOptions = errors.New("redisstore: bad options")

// Options configure a Store. The zero value is valid.
type Options struct {
	// Timeout bounds every call of the store: Read, Lease, Fill and
	// Invalidate return [prefetch.ErrSharedUnavailable] once it has passed
	// (or the caller's context ended, whichever is first). Default 100ms.
	Timeout time.Duration

	// LeaseLifetime is how long a lease may be used to fill: older leases
	// are refused, and the versions that prove a lease current are kept at
	// least this long. Default 10s.
	LeaseLifetime time.Duration

	// Prefix starts every key the store writes, so that one Redis can hold
	// several stores (and tests). Default "prefetch".
	Prefix string

	// MemberSilence is how long a process may go without reaching Redis
	// before every process stops serving from the shared cache (until it
	// is heard from again, or gone): the bound on how long an invalidation
	// a process could not deliver may leave a stale row readable
	// elsewhere (none at all if it is no longer than the plugin's
	// Shared.Timeout: see membership.go). Each store heartbeats every
	// MemberSilence/4. Default 500ms.
	MemberSilence time.Duration

	// MemberGone is how long a process may stay silent before the others
	// count it as gone (a crash) and serve again, invalidating the whole
	// space as they do. Default 30s. See the package documentation for
	// what a process cut off from Redis for longer can cost.
	MemberGone time.Duration

	// DialTimeout, ReadTimeout and WriteTimeout configure the client Dial
	// creates (New takes a client configured by the caller). Each defaults
	// to Timeout.
	DialTimeout, ReadTimeout, WriteTimeout time.Duration
}

// A Store is a [prefetch.SharedStore] on Redis. It is safe for concurrent
// use.
type Store struct {
	client   redis.UniversalClient
	owned    bool // Close closes client: Dial created it
	timeout  time.Duration
	lifetime time.Duration
	prefix   string
	member   // membership.go
}

var _ prefetch.SharedStore = (*Store)(nil)

func (o *Options) withDefaults() error {
	if o.Timeout < 0 || o.LeaseLifetime < 0 || o.DialTimeout < 0 || o.ReadTimeout < 0 || o.WriteTimeout < 0 || o.MemberSilence < 0 || o.MemberGone < 0 {
		return fmt.Errorf("%w: negative duration", ErrBadOptions)
	}
	if o.MemberSilence == 0 {
		o.MemberSilence = 500 * time.Millisecond
	}
	if o.MemberGone == 0 {
		o.MemberGone = 30 * time.Second
	}
	if o.MemberGone <= o.MemberSilence {
		return fmt.Errorf("%w: MemberGone (%v) must exceed MemberSilence (%v)", ErrBadOptions, o.MemberGone, o.MemberSilence)
	}
	if o.Timeout == 0 {
		o.Timeout = 100 * time.Millisecond
	}
	if o.LeaseLifetime == 0 {
		o.LeaseLifetime = 10 * time.Second
	}
	if o.Prefix == "" {
		o.Prefix = "prefetch"
	}
	for _, d := range []*time.Duration{&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout} {
		if *d == 0 {
			*d = o.Timeout
		}
	}
	return nil
}

// New returns a store on client. The client must honour context deadlines
// (redis.Options.ContextTimeoutEnabled), or a call could outlast
// Options.Timeout by the client's read timeout: New refuses a *redis.Client
// or *redis.ClusterClient without it.
func New(client redis.UniversalClient, opts Options) (*Store, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: nil client", ErrBadOptions)
	}
	if err := opts.withDefaults(); err != nil {
		return nil, err
	}
	switch c := client.(type) {
	case *redis.Client:
		if !c.Options().ContextTimeoutEnabled {
			return nil, fmt.Errorf("%w: the client needs ContextTimeoutEnabled for calls to end at Options.Timeout", ErrBadOptions)
		}
	case *redis.ClusterClient:
		if !c.Options().ContextTimeoutEnabled {
			return nil, fmt.Errorf("%w: the client needs ContextTimeoutEnabled for calls to end at Options.Timeout", ErrBadOptions)
		}
	}
	s := &Store{client: client, timeout: opts.Timeout, lifetime: opts.LeaseLifetime, prefix: opts.Prefix}
	s.member.start(s, opts.MemberSilence, opts.MemberGone)
	return s, nil
}

// Dial returns a store on a new client of the Redis at addr (host:port),
// with the timeouts of opts. Close closes the client.
func Dial(addr string, opts Options) (*Store, error) {
	if err := opts.withDefaults(); err != nil {
		return nil, err
	}
	c := redis.NewClient(&redis.Options{
		Addr:                  addr,
		DialTimeout:           opts.DialTimeout,
		ReadTimeout:           opts.ReadTimeout,
		WriteTimeout:          opts.WriteTimeout,
		ContextTimeoutEnabled: true,
	})
	s, err := New(c, opts)
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	s.owned = true
	return s, nil
}

// Close stops the heartbeats and leaves every space (delivering first, as
// a whole-space invalidation, any invalidation that failed), then closes
// the client if Dial created it; a client given to New stays open (its
// owner closes it). A store must not be used after Close.
func (s *Store) Close() error {
	s.member.stop()
	s.spaces.Range(func(_, v any) bool {
		s.heartbeat(v.(*space), true)
		return true
	})
	if s.owned {
		return s.client.Close()
	}
	return nil
}

// bound returns ctx limited to the store's timeout.
func (s *Store) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}

// unavailable wraps err, from the call op, with ErrSharedUnavailable.
func unavailable(op string, err error) error {
	return fmt.Errorf("redisstore: %s: %w: %w", op, prefetch.ErrSharedUnavailable, err)
}

// newEpoch is a candidate epoch: only the first Read or Lease of a space
// (or the first after the store lost its state) installs one, and it must
// never equal an earlier one, hence 64 random bits.
func newEpoch() string {
	var b [16]byte
	const hex = "0123456789abcdef"
	for i, r := 0, rand.Uint64(); i < 16; i, r = i+1, r>>4 {
		b[i] = hex[r&15]
	}
	return string(b[:])
}

// Read implements [prefetch.SharedStore]: one script, one round trip.
func (s *Store) Read(ctx context.Context, space, partition, table string, keys []string) ([][]byte, prefetch.SharedLease, error) {
	return s.read(ctx, "read", space, partition, table, keys)
}

func (s *Store) read(ctx context.Context, op, space, partition, table string, keys []string) ([][]byte, prefetch.SharedLease, error) {
	sk := s.space(space).keys
	tn := tableName(table)
	rk := make([]string, 2+len(keys))
	rk[0], rk[1] = sk.meta, sk.members
	for i, k := range keys {
		rk[2+i] = sk.row(tn, k)
	}
	at := time.Now()
	ctx, cancel := s.bound(ctx)
	defer cancel()
	res, err := readScript.Run(ctx, s.client, rk, newEpoch(), tableField(tn), partition, s.silence.Milliseconds()).Slice()
	if err != nil {
		return nil, prefetch.SharedLease{}, unavailable(op, err)
	}
	lease, spaceV, tableV, err := parseHead(res, len(keys))
	if err != nil {
		return nil, prefetch.SharedLease{}, unavailable(op, err)
	}
	lease.At = at
	vals := make([][]byte, len(keys))
	now := time.Now().UnixNano()
	for i := range res[4:] { // none while a member is silent
		raw, ok := res[4+i].(string)
		if !ok {
			continue
		}
		epoch, clock, expires, payload, ok := decodeEntry(raw)
		if !ok || epoch != lease.Epoch || clock < spaceV || clock < tableV || expires <= now {
			continue
		}
		vals[i] = []byte(payload)
	}
	return vals, lease, nil
}

// parseHead reads the epoch, clock and versions a read script returned.
func parseHead(res []any, n int) (lease prefetch.SharedLease, spaceV, tableV uint64, err error) {
	if len(res) != 4+n && len(res) != 4 {
		return lease, 0, 0, fmt.Errorf("script returned %d values, want %d", len(res), 4+n)
	}
	var nums [3]uint64
	for i := range nums {
		str, _ := res[1+i].(string)
		if nums[i], err = strconv.ParseUint(str, 10, 64); err != nil {
			return lease, 0, 0, fmt.Errorf("bad clock %q: %w", str, err)
		}
	}
	epoch, _ := res[0].(string)
	if epoch == "" || len(epoch) > 255 {
		return lease, 0, 0, fmt.Errorf("bad epoch %q", epoch)
	}
	return prefetch.SharedLease{Epoch: epoch, Clock: nums[0]}, nums[1], nums[2], nil
}

// Lease implements [prefetch.SharedStore]: the read script with no keys.
func (s *Store) Lease(ctx context.Context, space string) (prefetch.SharedLease, error) {
	_, lease, err := s.read(ctx, "lease", space, "", "", nil)
	return lease, err
}

// Fill implements [prefetch.SharedStore]: one script that checks the lease
// and stores every value, or refuses them all.
func (s *Store) Fill(ctx context.Context, lease prefetch.SharedLease, space, partition, table string, keys []string, vals [][]byte, ttl time.Duration) error {
	if len(keys) != len(vals) {
		return fmt.Errorf("redisstore: fill: %d keys but %d values", len(keys), len(vals))
	}
	if lease.Epoch == "" || len(lease.Epoch) > 255 || time.Since(lease.At) > s.lifetime || ttl <= 0 || len(keys) == 0 {
		return nil // a lease too old (or none) never fills; nothing to store
	}
	ms := ttl.Milliseconds()
	if ms < 1 {
		ms = 1
	}
	sk := s.space(space).keys
	tn := tableName(table)
	rk := make([]string, 1+len(keys))
	rk[0] = sk.meta
	args := make([]any, 5, 5+2*len(keys))
	args[0], args[1], args[2], args[3], args[4] = lease.Epoch, lease.Clock, tableField(tn), partition, ms
	for i, k := range keys {
		rk[1+i] = sk.row(tn, k)
		args = append(args, keyField(tn, k))
	}
	expires := time.Now().Add(ttl)
	for _, v := range vals {
		args = append(args, encodeEntry(lease.Epoch, lease.Clock, expires, v))
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if err := fillScript.Run(ctx, s.client, rk, args...).Err(); err != nil {
		return unavailable("fill", err)
	}
	return nil
}

// Invalidate implements [prefetch.SharedStore]: one script that advances
// the clock, stamps it on what it invalidates and deletes the keys' rows in
// every partition.
func (s *Store) Invalidate(ctx context.Context, space, table string, keys []string) error {
	sp := s.space(space)
	sk := sp.keys
	tn := tableName(table)
	mode := "k"
	switch {
	case table == "":
		mode, keys = "s", nil
	case keys == nil:
		mode = "t"
	}
	rk := make([]string, 2+len(keys))
	rk[0], rk[1] = sk.meta, sk.members
	args := make([]any, 4, 4+len(keys))
	args[0], args[1], args[2], args[3] = mode, tableField(tn), s.lifetime.Milliseconds(), s.id
	for i, k := range keys {
		rk[2+i] = sk.row(tn, k)
		args = append(args, keyField(tn, k))
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if err := invalidateScript.Run(ctx, s.client, rk, args...).Err(); err != nil {
		s.undelivered(sp) // the next heartbeat invalidates the whole space
		s.waitSilence(ctx)
		return unavailable("invalidate", err)
	}
	s.heard()
	return nil
}
