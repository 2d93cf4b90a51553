package redisstore_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorm-prefetch/prefetch"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// The test binary doubles as the writer process of
// TestAWriteInAnotherProcessIsNeverFollowedByAStaleRead: re-executed with
// REDISSTORE_WRITER set, it writes through an instance of its own and exits.
func TestMain(m *testing.M) {
	if os.Getenv("REDISSTORE_WRITER") != "" {
		if err := writerProcess(); err != nil {
			fmt.Fprintln(os.Stderr, "writer:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

var errRollback = errors.New("roll back")

// write sets item id's version to v through db, in one of three ways: an
// update, a committed transaction, or a rolled-back transaction (which
// writes -v) followed by an update.
func write(db *gorm.DB, id, v int64) error {
	switch v % 3 {
	case 0:
		return db.Model(&Item{ID: id}).Update("version", v).Error
	case 1:
		return db.Transaction(func(tx *gorm.DB) error {
			var it Item
			if err := tx.First(&it, id).Error; err != nil {
				return err
			}
			return tx.Model(&it).Update("version", v).Error
		})
	default:
		err := db.Transaction(func(tx *gorm.DB) error {
			if err := tx.Model(&Item{ID: id}).Update("version", -v).Error; err != nil {
				return err
			}
			return errRollback
		})
		if !errors.Is(err, errRollback) {
			return fmt.Errorf("rolled-back transaction: %v", err)
		}
		return db.Model(&Item{ID: id}).Update("version", v).Error
	}
}

// writerProcess writes versions 1, 2, ... to items first..last in turn,
// printing "<id> <version>" once each write returned.
func writerProcess() error {
	w := world{dsn: os.Getenv("PREFETCH_TEST_POSTGRES_DSN"), redis: os.Getenv("PREFETCH_TEST_REDIS_ADDR"),
		tables: os.Getenv("REDISSTORE_TABLES"), keys: os.Getenv("REDISSTORE_KEYS")}
	first, _ := strconv.ParseInt(os.Getenv("REDISSTORE_FIRST"), 10, 64)
	last, _ := strconv.ParseInt(os.Getenv("REDISSTORE_LAST"), 10, 64)
	writes, _ := strconv.Atoi(os.Getenv("REDISSTORE_WRITES"))
	in, closeIt, err := w.open()
	if err != nil {
		return err
	}
	defer closeIt()
	out := bufio.NewWriter(os.Stdout)
	for n := int64(1); n <= int64(writes); n++ {
		id := first + n%(last-first+1)
		if err := write(in.request(), id, n); err != nil {
			return err
		}
		fmt.Fprintln(out, id, n)
		if err := out.Flush(); err != nil {
			return err
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

// Two processes and two instances in this one, on one PostgreSQL and one
// Redis: a writer process and a writer goroutine each own half the items;
// readers in this process read through two instances. A read that starts
// after a write returned (in the other process: after it printed so) never
// sees an older version, nor a rolled-back one.
func TestAWriteInAnotherProcessIsNeverFollowedByAStaleRead(t *testing.T) {
	w := newWorld(t)
	const items = 20
	w.seed(t, 1, items)
	readers := []*instance{w.instance(t), w.instance(t)}
	writer := w.instance(t)

	writes := 1500
	if testing.Short() {
		writes = 300
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "REDISSTORE_WRITER=1", "REDISSTORE_TABLES="+w.tables, "REDISSTORE_KEYS="+w.keys,
		"PREFETCH_TEST_POSTGRES_DSN="+w.dsn, "PREFETCH_TEST_REDIS_ADDR="+w.redis,
		"REDISSTORE_FIRST=1", "REDISSTORE_LAST=10", fmt.Sprint("REDISSTORE_WRITES=", writes))
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())

	var settled [items + 1]atomic.Int64 // by item: the version whose write returned
	settle := func(id, v int64) {
		for {
			old := settled[id].Load()
			if old >= v || settled[id].CompareAndSwap(old, v) {
				return
			}
		}
	}
	var done atomic.Bool
	var stale, hits, readsN atomic.Int64
	errs := make(chan error, 10)
	report := func(err error) {
		select {
		case errs <- err:
		default:
		}
	}
	check := func(in *instance, id int64) {
		floor := settled[id].Load()
		ctx := prefetch.NewContext(context.Background())
		var it Item
		if err := in.db.WithContext(ctx).First(&it, id).Error; err != nil {
			report(err)
			return
		}
		readsN.Add(1)
		hits.Add(prefetch.StatsOf(ctx).SharedHits)
		if it.Version < floor || it.Version < 0 {
			stale.Add(1)
			report(fmt.Errorf("item %d: read version %d after version %d's write returned", id, it.Version, floor))
		}
	}
	var wg sync.WaitGroup
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(r), 7))
			for !done.Load() {
				check(readers[r%len(readers)], rng.Int64N(items)+1)
			}
		}()
	}
	wg.Add(1)
	go func() { // the writer goroutine: items 11..20
		defer wg.Done()
		for n := int64(1); !done.Load(); n++ {
			id := 11 + n%10
			if err := write(writer.request(), id, n); err != nil {
				report(err)
				return
			}
			settle(id, n)
			time.Sleep(time.Millisecond)
		}
	}()

	lines := 0
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		var id, v int64
		_, err := fmt.Sscan(sc.Text(), &id, &v)
		require.NoError(t, err, "writer printed %q", sc.Text())
		settle(id, v)
		lines++
		check(readers[lines%2], id) // right after the other process's write
	}
	done.Store(true)
	wg.Wait()
	require.NoError(t, cmd.Wait(), "the writer process failed")
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, writes, lines)
	t.Logf("%d writes in the other process; %d reads here, %d rows served from Redis, %d stale", lines, readsN.Load(), hits.Load(), stale.Load())
	require.NotZero(t, hits.Load(), "nothing was served from Redis: the test proves nothing")
}
