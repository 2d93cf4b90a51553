module github.com/gorm-prefetch/prefetch/examples/sharedcache

go 1.26.0

require (
	github.com/gorm-prefetch/prefetch v0.0.0
	github.com/gorm-prefetch/prefetch/memstore v0.0.0
	github.com/gorm-prefetch/prefetch/redisstore v0.0.0
	gorm.io/driver/sqlite v1.6.0
	gorm.io/gorm v1.31.2
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/jinzhu/inflection v1.0.0 // indirect
	github.com/jinzhu/now v1.1.5 // indirect
	github.com/mattn/go-sqlite3 v1.14.22 // indirect
	github.com/maypok86/otter/v2 v2.4.0 // indirect
	github.com/redis/go-redis/v9 v9.23.0 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/sync v0.24.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	golang.org/x/text v0.29.0 // indirect
)

replace (
	github.com/gorm-prefetch/prefetch => ../../
	github.com/gorm-prefetch/prefetch/memstore => ../../memstore
	github.com/gorm-prefetch/prefetch/redisstore => ../../redisstore
)
