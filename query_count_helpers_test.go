package prefetch_test

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// compareCounts is compare, plus the rule that the plugin never sends more
// statements than plain GORM: steps run through side.counted record how many
// statements reached each side's database, and the plugin side must not
// exceed the plain side at any of them.
func compareCounts(t *testing.T, o compareOpts, setup, script func(t *testing.T, s *side)) {
	t.Helper()
	compareThen(t, o, setup, script, func(t *testing.T, plain, plug *side) {
		a, b := countsOf(plain), countsOf(plug)
		require.Equal(t, len(a), len(b), "both sides counted the same steps")
		for i := range a {
			if b[i].n > a[i].n {
				t.Fatalf("step %q: the plugin sent %d statements, plain GORM %d:\n%v", b[i].step, b[i].n, a[i].n, b[i].log)
			}
		}
	})
}

type stepCount struct {
	step string
	n    int64
	log  []string
}

var stepCounts sync.Map // *side -> *[]stepCount

func countsOf(s *side) []stepCount {
	v, ok := stepCounts.Load(s)
	if !ok {
		return nil
	}
	return *v.(*[]stepCount)
}

// counted runs fn and records how many statements it sent.
func (s *side) counted(step string, fn func()) {
	s.count.Reset()
	fn()
	v, _ := stepCounts.LoadOrStore(s, &[]stepCount{})
	p := v.(*[]stepCount)
	*p = append(*p, stepCount{step: step, n: s.count.Total(), log: s.count.Log()})
}
