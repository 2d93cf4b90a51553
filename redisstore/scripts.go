package redisstore

import "github.com/redis/go-redis/v9"

// The three Lua scripts: each is one round trip, and runs atomically on the
// one Redis (or Cluster slot) that holds a space, which is what makes the
// compare-and-set of Fill and the delete-everywhere of Invalidate exact.
//
// The space's meta hash (KEYS[1]) holds
//
//	e         the epoch: random, set by the first Read or Lease of the space
//	c         the invalidation clock, incremented by every Invalidate
//	s         the clock of the last invalidation of the whole space
//	t:<table> the clock of the last invalidation of the whole table
//	k:<n>:<table><key>  "<clock>:<redis ms>" of the last invalidation of a key,
//	          pruned once older than the lease lifetime
//	f         the floor: the highest clock pruned; leases below it are refused
//	p         the cursor of the pruning scan
//
// and each row (table, key) has a hash (KEYS[2..]) of entries by partition.
// One hash holds every version and the epoch, so that losing any of them
// (a restart, a flush, an eviction: Redis evicts a hash whole) loses the
// epoch too, and every lease and entry taken before is refused.

// lifeCheck begins every script: the meta hash also holds
//
//	r         the run_id of the Redis process that created the epoch
//
// and a meta hash from another run (Redis restarted and loaded a snapshot
// or an append-only file, or a replica took over) loses its epoch: what
// it holds may lack invalidations made since it was saved, so every lease
// and entry taken before is refused. The next Read installs a new epoch.
const lifeCheck = `
local rid = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')
if redis.call('HGET', KEYS[1], 'r') ~= rid then
  redis.call('HDEL', KEYS[1], 'e')
  redis.call('HSET', KEYS[1], 'r', rid)
end
`

// readScript returns {epoch, clock, space version, table version,
// entries...} and creates the epoch (ARGV[1], a fresh random candidate) on
// first use. ARGV[2] is the table's field ("" for a lease of the space),
// ARGV[3] the partition. It returns no entries (all misses) while a member
// of the space (KEYS[2], see membership.go) has been silent for more than
// ARGV[4] ms: that member may hold an invalidation it could not deliver.
// (Readers register by their heartbeats: a process that only reads cannot
// leave a stale row.)
var readScript = redis.NewScript(lifeCheck + `
local m, w = KEYS[1], KEYS[2]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local e = redis.call('HGET', m, 'e')
if not e then
  e = ARGV[1]
  redis.call('HSET', m, 'e', e)
end
local v = redis.call('HMGET', m, 'c', 's', ARGV[2])
local out = {e, v[1] or '0', v[2] or '0', v[3] or '0'}
local oldest = redis.call('ZRANGE', w, 0, 0, 'WITHSCORES')
if oldest[2] and tonumber(oldest[2]) < now - tonumber(ARGV[4]) then return out end
for i = 3, #KEYS do
  out[#out + 1] = redis.call('HGET', KEYS[i], ARGV[3])
end
return out
`)

// fillScript stores ARGV[6+n..5+2n] in the rows' hashes under partition
// ARGV[4] for ARGV[5] ms, unless the epoch differs from the lease's
// (ARGV[1]) or the space, the table (ARGV[3]), the floor or any key
// (ARGV[6..5+n]) has a version above the lease's clock (ARGV[2]). It returns
// 1 if it stored, 0 if it refused.
var fillScript = redis.NewScript(lifeCheck + `
local m = KEYS[1]
local lease = tonumber(ARGV[2])
local v = redis.call('HMGET', m, 'e', 's', 'f', ARGV[3])
if v[1] ~= ARGV[1] then return 0 end
for i = 2, 4 do
  if v[i] and tonumber(v[i]) > lease then return 0 end
end
local n = #KEYS - 1
if n == 0 then return 1 end
local fields = {}
for i = 1, n do fields[i] = ARGV[5 + i] end
local kv = redis.call('HMGET', m, unpack(fields))
for i = 1, n do
  if kv[i] and tonumber(string.match(kv[i], '^%d+')) > lease then return 0 end
end
local ttl = tonumber(ARGV[5])
for i = 1, n do
  local r = KEYS[1 + i]
  redis.call('HSET', r, ARGV[4], ARGV[5 + n + i])
  if redis.call('PTTL', r) < ttl then redis.call('PEXPIRE', r, ttl) end
end
return 1
`)

// invalidateScript takes the next clock value and stamps it on the space
// (ARGV[1] == 's'), the table (ARGV[1] == 't', field ARGV[2]) or the keys
// (fields ARGV[6..], rows KEYS[3..]), deleting the keys' rows in every
// partition, and records the caller (ARGV[4]) as a live member unless it
// runs after the caller's deadline (ARGV[5], Unix ms: see heartbeat); then it
// prunes key versions older than the lease lifetime (ARGV[3] ms), one HSCAN
// step per call, raising the floor to the highest clock it pruned. A lease
// below the floor was taken before an invalidation older than the lease
// lifetime, so it is too old anyway: pruning never lets a stale fill in.
var invalidateScript = redis.NewScript(lifeCheck + `
local m = KEYS[1]
local clock = redis.call('HINCRBY', m, 'c', 1)
if ARGV[1] == 's' then
  redis.call('HSET', m, 's', clock)
elseif ARGV[1] == 't' then
  redis.call('HSET', m, ARGV[2], clock)
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if now <= tonumber(ARGV[5]) then
  redis.call('ZADD', KEYS[2], now, ARGV[4])
end
local stamp = clock .. ':' .. now
for i = 3, #KEYS do
  redis.call('HSET', m, ARGV[3 + i], stamp)
  redis.call('DEL', KEYS[i])
end
local scan = redis.call('HSCAN', m, redis.call('HGET', m, 'p') or '0', 'MATCH', 'k:*', 'COUNT', 64)
local floor = tonumber(redis.call('HGET', m, 'f') or '0')
local oldest = now - tonumber(ARGV[3])
local items = scan[2]
for i = 1, #items, 2 do
  local ver, ms = string.match(items[i + 1], '^(%d+):(%d+)$')
  if ms and tonumber(ms) < oldest then
    redis.call('HDEL', m, items[i])
    if tonumber(ver) > floor then floor = tonumber(ver) end
  end
end
redis.call('HSET', m, 'p', scan[1], 'f', floor)
return clock
`)

// heartbeatScript records member ARGV[1] as live (now, by Redis's clock)
// in the members set KEYS[2]. With ARGV[2] == '1' the member had an
// invalidation it could not deliver, so it invalidates the whole space
// first. Members silent for more than ARGV[3] ms are removed as gone, and
// their removal invalidates the whole space too (whatever they wrote last
// may not have been delivered). With ARGV[4] == '1' the member leaves.
// A call that runs after the caller's deadline (ARGV[5], Unix ms) records
// nothing as live: the caller has given it up, and may since have failed
// an invalidation that this call, sent before, does not know of (a Redis
// paused with SIGSTOP runs the calls queued meanwhile when it resumes).
var heartbeatScript = redis.NewScript(lifeCheck + `
local m, w = KEYS[1], KEYS[2]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local invalidate = ARGV[2] == '1'
local cutoff = '(' .. (now - tonumber(ARGV[3]))
if #redis.call('ZRANGEBYSCORE', w, '-inf', cutoff, 'LIMIT', 0, 1) > 0 then
  redis.call('ZREMRANGEBYSCORE', w, '-inf', cutoff)
  invalidate = true
end
if invalidate then
  redis.call('HSET', m, 's', redis.call('HINCRBY', m, 'c', 1))
end
if ARGV[4] == '1' then
  redis.call('ZREM', w, ARGV[1])
elseif now <= tonumber(ARGV[5]) then
  redis.call('ZADD', w, now, ARGV[1])
end
return 1
`)
