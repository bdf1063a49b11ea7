package phpprom_test

import (
	"context"
	"log"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/phpsession/phpsession"
	phpprom "github.com/phpsession/phpsession/contrib/prometheus"
)

// The Collector is the Manager's event sink and a prometheus.Collector;
// `phpsess stats --metrics-url http://host/metrics` reads what it serves.
func ExampleNewCollector() {
	col := phpprom.NewCollector(phpprom.Options{})
	prometheus.MustRegister(col)
	m, err := phpsession.OpenURL("redis://127.0.0.1:6379/0", phpsession.Config{Events: col})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close(context.Background())
	http.Handle("/metrics", promhttp.Handler())
}
