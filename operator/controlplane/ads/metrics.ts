/**
 * The ADS server's metrics (prom-client), registered on the registry it is given:
 *
 *   meshwright_xds_connected_streams          gauge: open ADS streams
 *   meshwright_xds_pushes_total{type}         counter: responses sent (type: lds, rds, cds, eds, …)
 *   meshwright_xds_nacks_total{type}          counter: responses a proxy refused
 *   meshwright_xds_push_duration_seconds      histogram: the work of one publish() (diff, encode, push)
 *
 * Two servers on one registry (tests) share the metrics rather than failing to register them twice.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface AdsMetrics {
  streams: Gauge;
  pushes: Counter<'type'>;
  nacks: Counter<'type'>;
  pushDuration: Histogram;
}

const PUSH_BUCKETS = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export function adsMetrics(registry: Registry): AdsMetrics {
  const registers = [registry];
  const existing = <T>(name: string): T | undefined => registry.getSingleMetric(name) as T | undefined;
  return {
    streams:
      existing<Gauge>('meshwright_xds_connected_streams') ??
      new Gauge({ name: 'meshwright_xds_connected_streams', help: 'Open ADS streams', registers }),
    pushes:
      existing<Counter<'type'>>('meshwright_xds_pushes_total') ??
      new Counter({
        name: 'meshwright_xds_pushes_total',
        help: 'xDS responses sent, by resource type',
        labelNames: ['type'],
        registers,
      }),
    nacks:
      existing<Counter<'type'>>('meshwright_xds_nacks_total') ??
      new Counter({
        name: 'meshwright_xds_nacks_total',
        help: 'xDS responses refused (NACKed) by a proxy, by resource type',
        labelNames: ['type'],
        registers,
      }),
    pushDuration:
      existing<Histogram>('meshwright_xds_push_duration_seconds') ??
      new Histogram({
        name: 'meshwright_xds_push_duration_seconds',
        help: 'Time one publish() takes: diffing, encoding the changed resources and writing to every stream',
        buckets: PUSH_BUCKETS,
        registers,
      }),
  };
}
