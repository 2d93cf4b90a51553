package prefetch_test

import (
	"context"
	"testing"

	"github.com/gorm-prefetch/prefetch"
)

// clearInBatches calls prefetch.Clear in every batch load, as another
// goroutine of the request may at that moment.
type clearInBatches struct{}

func (clearInBatches) Served(context.Context, string)                                 {}
func (clearInBatches) Queried(context.Context, string, int64, error)                  {}
func (clearInBatches) BatchLoadEnd(context.Context, prefetch.BatchLoad, int64, error) {}
func (clearInBatches) Dropped(context.Context, int64, int64)                          {}
func (clearInBatches) BatchLoadStart(ctx context.Context, _ prefetch.BatchLoad) context.Context {
	prefetch.Clear(ctx)
	return ctx
}

// A Clear while a statement's batch load runs keeps the batch from being
// stored; the statement is then answered from the batch's rows, or sent
// alone. When it also asks for a row the batch did not load (it was cached
// whole before), it costs the batch load and its own query.
func TestClearDuringABatchLoadNeverCostsMoreQueries(t *testing.T) {
	compareCounts(t, compareOpts{plugin: prefetch.Plugin{Observer: clearInBatches{}}}, setupAdvItems, func(t *testing.T, s *side) {
		var one AdvItem
		s.counted("item 1", func() { s.see("item 1", s.q().First(&one, 1), one) })
		var ids []AdvItem
		s.counted("ids of every item", func() { s.see("ids", s.q().Select("id").Find(&ids), len(ids)) })
		var two []AdvItem
		s.counted("items 1 and 2", func() { s.see("items 1 and 2", s.q().Find(&two, []int{1, 2}), two) })
	})
}
