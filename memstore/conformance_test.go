package memstore_test

import (
	"testing"

	"github.com/gorm-prefetch/prefetch"
	"github.com/gorm-prefetch/prefetch/memstore"
	"github.com/gorm-prefetch/prefetch/sharedtest"
)

func TestStoreKeepsTheSharedStoreRule(t *testing.T) {
	sharedtest.Run(t, func(t *testing.T) prefetch.SharedStore {
		s := memstore.New(memstore.Options{})
		t.Cleanup(s.Close)
		return s
	})
}
