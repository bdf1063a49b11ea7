package phpotel_test

import (
	"context"
	"log"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/phpsession/phpsession"
	phpotel "github.com/phpsession/phpsession/contrib/otel"
)

// The Exporter is the Manager's event sink; its instruments come from the
// MeterProvider (here the SDK's; nil takes the global one). A
// TracerProvider adds one span per batch.
func ExampleNew() {
	mp := sdkmetric.NewMeterProvider() // with your reader/exporter
	x, err := phpotel.New(phpotel.Options{MeterProvider: mp})
	if err != nil {
		log.Fatal(err)
	}
	m, err := phpsession.OpenURL("redis://127.0.0.1:6379/0", phpsession.Config{Events: x})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close(context.Background())
}
