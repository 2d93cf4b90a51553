package redisstore

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"time"
)

// The key layout. Every key of a space starts with
//
//	<prefix>:{<128 bits of sha256(space), hex>}:
//
// The braces are a Redis Cluster hash tag: one space lives on one slot, so
// each script's keys are on one node. Hashing the space keeps keys short and
// free of braces whatever the space's name holds.
//
//	<space>m                       the meta hash (see scripts.go)
//	<space>w                       the members: processes by last heartbeat (membership.go)
//	<space>r:<len(table)>:<table><key>  a row: entries by partition
//
// The length prefix keeps ("ab", "c") and ("a", "bc") apart.

// spaceKeys are the key names of one space, computed once per space.
type spaceKeys struct {
	prefix  string // <prefix>:{<hash>}:
	meta    string // prefix + "m"
	members string // prefix + "w"
}

func newSpaceKeys(prefix, space string) *spaceKeys {
	sum := sha256.Sum256([]byte(space))
	p := prefix + ":{" + hex.EncodeToString(sum[:16]) + "}:"
	return &spaceKeys{prefix: p, meta: p + "m", members: p + "w"}
}

// tableName is "<len>:<table>", the part of row keys and key fields that
// names the table.
func tableName(table string) string {
	return strconv.Itoa(len(table)) + ":" + table
}

// row is the key of the hash holding the entries of key of table.
func (s *spaceKeys) row(table, key string) string {
	return s.prefix + "r:" + table + key
}

// tableField is the meta field of table's version.
func tableField(table string) string { return "t:" + table }

// keyField is the meta field of the version of key of table (table as
// returned by tableName).
func keyField(table, key string) string { return "k:" + table + key }

// An entry is what Fill stores for one key in one partition:
//
//	1 byte   length of the epoch
//	epoch    the epoch of the lease it was filled under
//	8 bytes  the lease's clock, big endian
//	8 bytes  when it expires, Unix nanoseconds by the filler's clock
//	payload  the value given to Fill
//
// Read serves it only if the epoch is the store's current one, no
// invalidation of its table or space came after its lease's clock, and it
// has not expired. (Invalidations of its key delete it.)
func encodeEntry(epoch string, clock uint64, expires time.Time, payload []byte) []byte {
	b := make([]byte, 0, 1+len(epoch)+16+len(payload))
	b = append(b, byte(len(epoch)))
	b = append(b, epoch...)
	b = binary.BigEndian.AppendUint64(b, clock)
	b = binary.BigEndian.AppendUint64(b, uint64(expires.UnixNano()))
	return append(b, payload...)
}

// decodeEntry returns the parts of an entry, ok false if it is malformed.
func decodeEntry(b string) (epoch string, clock uint64, expires int64, payload string, ok bool) {
	if len(b) < 1 {
		return "", 0, 0, "", false
	}
	n := int(b[0])
	if len(b) < 1+n+16 {
		return "", 0, 0, "", false
	}
	epoch = b[1 : 1+n]
	clock = binary.BigEndian.Uint64([]byte(b[1+n : 9+n]))
	expires = int64(binary.BigEndian.Uint64([]byte(b[9+n : 17+n])))
	return epoch, clock, expires, b[17+n:], true
}
