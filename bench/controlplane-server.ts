/**
 * The control plane under benchmark, in a process of its own so that its memory is its own:
 * `node --expose-gc --import tsx bench/controlplane-server.ts <kubeconfig>`, spawned by
 * bench/controlplane.ts with an IPC channel.
 *
 * It runs `startControlPlane` as `meshwright dev` does (plaintext xDS on 127.0.0.1, no mTLS port, no
 * webhook, no identities, no leader election, no metrics or health ports) against the given API
 * server, and answers the parent's requests:
 *
 * | request | answer |
 * | --- | --- |
 * | `{ id, cmd: 'stats' }` | memory, the model's build figures, the ADS push histogram, the streams |
 * | `{ id, cmd: 'memory' }` | the same, after a full GC |
 * | `{ id, cmd: 'rebuild' }` | the same, after one build that changes nothing (`meshChanged`) |
 * | `{ id, cmd: 'stop' }` | `{ id }`, then the process stops everything and exits |
 *
 * Once listening it sends `{ ready: port }`; once the first configuration is published, `{ published }`.
 */
import { API_VERSION } from '../operator/api/index.js';
import { MeshInstallation } from '../operator/api/meshinstallation.js';
import { startControlPlane } from '../operator/controlplane/controlplane.js';
import { parseMeshConfig } from '../operator/controlplane/meshconfig.js';
import { meshConfigText } from '../operator/meshinstallation/desired.js';
import { asNamed } from '../operator/meshinstallation/names.js';
import { silentLogger } from '../operator/runtime/index.js';

/** The mesh a default MeshInstallation configures (mTLS Strict, AllowAuthenticated). */
function defaultMesh() {
  const mi = asNamed(
    MeshInstallation.resource.parse({
      apiVersion: API_VERSION,
      kind: 'MeshInstallation',
      metadata: { name: 'default', uid: 'bench' },
      spec: {},
    }),
  );
  return parseMeshConfig(meshConfigText(mi));
}

export interface ServerStats {
  rss: number;
  heapUsed: number;
  /** What V8 holds for its heap (used or not). */
  heapTotal: number;
  /** Memory of Buffers and other objects outside the V8 heap. */
  external: number;
  /** The most RSS the process has had (`resourceUsage().maxRSS`), in bytes. */
  maxRss: number;
  builds: number;
  lastBuildMs: number;
  lastBuildDelayMs: number;
  /** Sum (s) and count of `meshwright_xds_push_duration_seconds`: the ADS `publish` part of every build. */
  pushSeconds: number;
  pushes: number;
  streams: number;
  services: number;
}

export type Request = { id: number; cmd: 'stats' | 'memory' | 'rebuild' | 'stop' };
export type Reply = { id: number; stats?: ServerStats; error?: string };
export type Message = { ready: number } | { published: true } | Reply;

async function main(kubeconfig: string): Promise<void> {
  const send = (m: Message) => process.send!(m);
  const stop = new AbortController();
  const cp = await startControlPlane(
    {
      kubeconfig,
      mesh: defaultMesh(),
      namespace: 'meshwright-system',
      leaderElection: false,
      bindAddress: '127.0.0.1',
      ports: { xds: false, xdsPlaintext: 0, webhook: false, metrics: false, health: false },
      identities: false,
      logger: silentLogger(),
    },
    stop.signal,
  );
  send({ ready: cp.ports.xdsPlaintext! });
  void cp.firstPublish.then(() => send({ published: true }));

  const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
  const stats = async (collect: boolean): Promise<ServerStats> => {
    if (collect) gc();
    const m = process.memoryUsage();
    const histogram = cp.mgr.metrics.registry.getSingleMetric('meshwright_xds_push_duration_seconds');
    const values = histogram ? (await histogram.get()).values : [];
    const value = (suffix: string) =>
      values.find((v) => (v as { metricName?: string }).metricName?.endsWith(suffix))?.value ?? 0;
    return {
      rss: m.rss,
      heapUsed: m.heapUsed,
      heapTotal: m.heapTotal,
      external: m.external,
      maxRss: process.resourceUsage().maxRSS * 1024,
      builds: cp.model.builds.total,
      lastBuildMs: cp.model.lastBuildMs,
      lastBuildDelayMs: cp.model.lastBuildDelayMs,
      pushSeconds: value('_sum'),
      pushes: value('_count'),
      streams: cp.ads.streams().length,
      services: cp.model.snapshot().services.length,
    };
  };

  process.on('message', (raw: Request) => {
    void (async () => {
      try {
        if (raw.cmd === 'stop') {
          send({ id: raw.id });
          stop.abort();
          await cp.done;
          // A @grpc/grpc-js-xds client whose channel is closed keeps its xDS connection (its
          // XdsSingleServerClient only counts references): after the ADS server's grace period
          // that connection stays half-open and would keep this process alive.
          process.exit(0);
        }
        if (raw.cmd === 'rebuild') {
          const before = cp.model.builds.total;
          cp.model.meshChanged();
          while (cp.model.builds.total === before) await new Promise((r) => setTimeout(r, 5));
        }
        send({ id: raw.id, stats: await stats(raw.cmd === 'memory') });
      } catch (e) {
        send({ id: raw.id, error: e instanceof Error ? e.message : String(e) });
      }
    })();
  });
  // The parent went away without asking: do not linger.
  process.on('disconnect', () => stop.abort());
}

if (process.send && process.argv[2]) await main(process.argv[2]);
