package prefetchotel_test

import (
	"log"

	"github.com/gorm-prefetch/prefetch"
	prefetchotel "github.com/gorm-prefetch/prefetch/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
)

// The application brings the SDK (here with no exporter) and registers the
// observer with the plugin.
func ExampleNew() {
	mp := sdkmetric.NewMeterProvider() // add sdkmetric.WithReader(...) for an exporter
	tp := sdktrace.NewTracerProvider() // add sdktrace.WithBatcher(...) for an exporter
	obs, err := prefetchotel.New(mp, tp)
	if err != nil {
		log.Fatal(err)
	}
	db, err := gorm.Open(sqlite.Open("file::memory:"), &gorm.Config{})
	if err != nil {
		log.Fatal(err)
	}
	if err := db.Use(prefetch.Plugin{Observer: obs}); err != nil {
		log.Fatal(err)
	}
	// Output:
}
