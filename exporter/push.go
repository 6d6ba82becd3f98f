package main

import (
	"context"
	"fmt"
	"os"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"
	dto "github.com/prometheus/client_model/go"

	"github.com/sigil/sigil-integrity-exporter/collector"
	"github.com/sigil/sigil-integrity-exporter/collector/metrics"
)

// pushMetrics pushes each store's metrics (and the cross-store
// comparison's) as its own Pushgateway group, keyed by job, instance,
// store and shard. A push replaces only its own group, so hosts, stores
// and shards pushing to one Pushgateway never overwrite each other, and
// every pushed series carries a non-empty instance for the alerts.
func pushMetrics(ctx context.Context, cfg *config, sources []collector.StatusSource) error {
	instance := cfg.pushInstance
	if instance == "" {
		h, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("no --push.instance given and the host name is unknown: %w; set --push.instance", err)
		}
		if h == "" {
			return fmt.Errorf("no --push.instance given and the host name is empty: set --push.instance")
		}
		instance = h
	}
	shard, err := collector.ParseShard(cfg.shard)
	if err != nil {
		return err
	}
	for _, src := range sources {
		store := src.Status().Store
		reg := prometheus.NewRegistry()
		if err := reg.Register(metrics.New(src)); err != nil {
			return err
		}
		p := push.New(cfg.pushGatewayURL, cfg.pushJob).Gatherer(withoutLabel(reg, "store")).
			Grouping("instance", instance).Grouping("store", store).Grouping("shard", shard.String())
		if err := p.PushContext(ctx); err != nil {
			return fmt.Errorf("store %s: %w", store, err)
		}
	}
	return nil
}

// withoutLabel gathers from g and drops the label name from every metric:
// the push client refuses a metric that carries a grouping-key label, and
// the Pushgateway adds the grouping key's value back to every series of
// the group.
func withoutLabel(g prometheus.Gatherer, name string) prometheus.Gatherer {
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		mfs, err := g.Gather()
		for _, mf := range mfs {
			for _, m := range mf.Metric {
				m.Label = slices.DeleteFunc(m.Label, func(l *dto.LabelPair) bool { return l.GetName() == name })
			}
		}
		return mfs, err
	})
}
