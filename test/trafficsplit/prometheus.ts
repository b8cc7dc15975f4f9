/**
 * A real Prometheus for the canary-analysis tests, and the two things it scrapes:
 *
 * - `startPrometheus`: Debian's `/usr/bin/prometheus` (or `$MESHWRIGHT_PROMETHEUS`) on 127.0.0.1, a
 *   free port, a temporary TSDB, `scrape_interval: 1s`; resolves once `/-/ready` answers 200.
 * - `startBackend`: a node:http "pod" that answers `GET /<namespace>/<service>` with 200, or 500
 *   at the error rate set for that service, and exposes `/metrics` with prom-client under the names
 *   docs/trafficsplit.md gives (`meshwright_requests_total`, `meshwright_request_duration_seconds`).
 * - `LoadGenerator`: plays the data plane: every 50 ms it sends requests for each TrafficSplit,
 *   split by its current `status.weights`, to the stable or canary backend.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Counter, Histogram, Registry } from 'prom-client';
import type { Kube } from '../../operator/runtime/index.js';
import { getSplit } from './support.js';

export const PROMETHEUS_BINARY = process.env.MESHWRIGHT_PROMETHEUS ?? '/usr/bin/prometheus';
export const HAVE_PROMETHEUS = existsSync(PROMETHEUS_BINARY);

const listen = (server: Server): Promise<number> =>
  new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });

const close = (server: Server): Promise<void> =>
  new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

async function freePort(): Promise<number> {
  const s = createServer();
  const port = await listen(s);
  await close(s);
  return port;
}

export interface Prometheus {
  address: string;
  /** Stops the process (SIGTERM, then SIGKILL after 5 s) and removes its data. Idempotent. */
  stop(): Promise<void>;
}

export async function startPrometheus(targets: string[]): Promise<Prometheus> {
  const dir = await mkdtemp(join(tmpdir(), 'meshwright-prometheus-'));
  const port = await freePort();
  const config = [
    'global:',
    '  scrape_interval: 1s',
    '  scrape_timeout: 1s',
    '  evaluation_interval: 1s',
    'scrape_configs:',
    '  - job_name: backends',
    '    static_configs:',
    `      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]`,
    '',
  ].join('\n');
  await writeFile(join(dir, 'prometheus.yml'), config);
  const proc: ChildProcess = spawn(
    PROMETHEUS_BINARY,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  proc.stderr?.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const address = `http://127.0.0.1:${port}`;
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    })());
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) {
      await stop();
      throw new Error(`prometheus exited with ${proc.exitCode}: ${stderr}`);
    }
    const ok = await fetch(`${address}/-/ready`, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { address, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus not ready after 30 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface Backend {
  /** `127.0.0.1:<port>`. */
  target: string;
  /** The fraction of requests to `namespace/service` answered with 500 (default 0). */
  errorRate: Map<string, number>;
  stop(): Promise<void>;
}

export async function startBackend(): Promise<Backend> {
  const registry = new Registry();
  const labelNames = ['destination_namespace', 'destination_service', 'response_code'] as const;
  const requests = new Counter({
    name: 'meshwright_requests_total',
    help: 'Requests received.',
    labelNames,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'meshwright_request_duration_seconds',
    help: 'Request duration.',
    labelNames: ['destination_namespace', 'destination_service'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  });
  const errorRate = new Map<string, number>();
  const server = createServer((req, res) => {
    const started = performance.now();
    if (req.url === '/metrics') {
      void registry.metrics().then((text) => {
        res.setHeader('content-type', registry.contentType);
        res.end(text);
      });
      return;
    }
    const [, namespace = '', service = ''] = (req.url ?? '/').split('/');
    const fail = Math.random() < (errorRate.get(`${namespace}/${service}`) ?? 0);
    const code = fail ? 500 : 200;
    requests.inc({
      destination_namespace: namespace,
      destination_service: service,
      response_code: String(code),
    });
    duration.observe(
      { destination_namespace: namespace, destination_service: service },
      (performance.now() - started) / 1000,
    );
    res.statusCode = code;
    res.end(fail ? 'error' : 'ok');
  });
  const port = await listen(server);
  return { target: `127.0.0.1:${port}`, errorRate, stop: () => close(server) };
}

/**
 * Sends, every `tickMs`, `perTick` requests for each TrafficSplit it was told about, each to the
 * canary backend with probability `status.weights.canary / 100` (refreshed from the API server
 * every 200 ms), else to the stable one.
 */
export class LoadGenerator {
  private readonly splits = new Map<string, { namespace: string; name: string; canary: number }>();
  private timers: NodeJS.Timeout[] = [];
  /** Requests sent per `namespace/service`. */
  readonly sent = new Map<string, number>();

  constructor(
    private readonly kube: Kube,
    private readonly stable: Backend,
    private readonly canary: Backend,
    private readonly o: { tickMs?: number; perTick?: number } = {},
  ) {}

  add(namespace: string, name: string): void {
    this.splits.set(`${namespace}/${name}`, { namespace, name, canary: 0 });
  }

  start(): void {
    this.timers.push(
      setInterval(() => void this.refresh(), 200),
      setInterval(() => this.tick(), this.o.tickMs ?? 50),
    );
  }

  stop(): void {
    for (const t of this.timers.splice(0)) clearInterval(t);
  }

  private async refresh(): Promise<void> {
    for (const s of this.splits.values()) {
      const split = await getSplit(this.kube, s.namespace, s.name).catch(() => undefined);
      s.canary = split?.status?.weights?.canary ?? 0;
    }
  }

  private tick(): void {
    for (const s of this.splits.values()) {
      for (let i = 0; i < (this.o.perTick ?? 4); i++) {
        const toCanary = Math.random() * 100 < s.canary;
        const service = `${s.name}-${toCanary ? 'canary' : 'stable'}`;
        const target = (toCanary ? this.canary : this.stable).target;
        const k = `${s.namespace}/${service}`;
        this.sent.set(k, (this.sent.get(k) ?? 0) + 1);
        void fetch(`http://${target}/${s.namespace}/${service}`, { signal: AbortSignal.timeout(2000) })
          .then((r) => r.arrayBuffer())
          .catch(() => undefined);
      }
    }
  }
}
