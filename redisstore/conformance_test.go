package redisstore_test

import (
	"testing"
	"time"

	"github.com/gorm-prefetch/prefetch"
	"github.com/gorm-prefetch/prefetch/redisstore"
	"github.com/gorm-prefetch/prefetch/sharedtest"
)

func TestStoreKeepsTheSharedStoreRule(t *testing.T) {
	sharedtest.Run(t, func(t *testing.T) prefetch.SharedStore {
		return newStore(t, redisstore.Options{Timeout: 2 * time.Second})
	})
}
