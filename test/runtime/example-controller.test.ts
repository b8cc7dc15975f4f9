/**
 * The example controller (ConfigMap → owned Secret) on a Manager against an API server: `owns`
 * (a deleted Secret comes back), `watches` (a Namespace label re-enqueues its ConfigMaps), and a
 * steady state that makes no writes at all, even through a resync.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Manager, silentLogger, type Kube } from '../../operator/runtime/index.js';
import {
  addExampleController,
  secretName,
  TIER_LABEL,
  type ExampleController,
  type Secret,
} from './example-controller.js';
import { configMap, REAL, setup, waitFor, type Env } from './support.js';

let env: Env;
let kube: Kube;
let mgr: Manager;
let ex: ExampleController;
let ns: string;
let stop: AbortController;
let running: Promise<void>;

const secretRef = (cm: string) => ({ apiVersion: 'v1', kind: 'Secret', name: secretName(cm), namespace: ns });
const getSecret = async (cm: string) => {
  const s = await kube.get<Secret>(secretRef(cm));
  return { data: s.data, metadata: { uid: s.metadata!.uid!, annotations: s.metadata!.annotations } };
};

before(async () => {
  env = await setup();
  kube = env.kube();
  ns = await env.h.namespace('example');
  for (const name of ['alpha', 'beta', 'gamma'])
    await kube.create(configMap(ns, name, { greeting: `hello ${name}` }));
  mgr = new Manager({
    kube: env.kube(),
    logger: silentLogger(),
    informers: { initialBackoffMs: 20, maxBackoffMs: 500 },
  });
  ex = addExampleController(mgr, { namespace: ns });
  stop = new AbortController();
  running = mgr.start(stop.signal);
  await waitFor(
    async () => {
      for (const name of ['alpha', 'beta', 'gamma']) await getSecret(name);
      return true;
    },
    15_000,
    'the Secrets',
  );
});

after(async () => {
  stop?.abort();
  await running;
  await env?.h.close();
});

/** The controller has nothing queued and nothing running. */
const idle = (): boolean => ex.controller.queue.len() === 0 && ex.controller.queue.inFlight() === 0;

describe('example controller', () => {
  it('creates each Secret with the ConfigMap data, owned by the ConfigMap', async () => {
    const s = await kube.get<Secret>(secretRef('alpha'));
    assert.equal(Buffer.from(s.data!.greeting!, 'base64').toString(), 'hello alpha');
    assert.deepEqual(
      s.metadata!.ownerReferences!.map((r) => [r.kind, r.name, r.controller]),
      [['ConfigMap', 'alpha', true]],
    );
  });

  it('follows a ConfigMap change', async () => {
    await kube.mergePatch(
      { apiVersion: 'v1', kind: 'ConfigMap', name: 'beta', namespace: ns },
      { data: { greeting: 'changed' } },
    );
    await waitFor(
      async () => {
        const s = await getSecret('beta');
        return Buffer.from(s.data!.greeting!, 'base64').toString() === 'changed';
      },
      10_000,
      'the Secret to follow the ConfigMap',
    );
  });

  it('re-creates a deleted Secret (owns)', async () => {
    const before = await getSecret('gamma');
    await kube.delete(secretRef('gamma'));
    const after = await waitFor(
      async () => {
        const s = await getSecret('gamma').catch(() => undefined);
        return s && s.metadata.uid !== before.metadata.uid ? s : undefined;
      },
      10_000,
      'the Secret to be re-created',
    );
    assert.equal(Buffer.from(after.data!.greeting!, 'base64').toString(), 'hello gamma');
  });

  it('re-enqueues every ConfigMap of a Namespace when its label changes (watches)', async () => {
    await kube.mergePatch(
      { apiVersion: 'v1', kind: 'Namespace', name: ns },
      { metadata: { labels: { [TIER_LABEL]: 'gold' } } },
    );
    await waitFor(
      async () => {
        for (const name of ['alpha', 'beta', 'gamma'])
          if ((await getSecret(name)).metadata.annotations?.[TIER_LABEL] !== 'gold') return false;
        return true;
      },
      10_000,
      'every Secret to carry the tier',
    );
  });

  it('makes zero writes in a steady state, through a resync', async () => {
    // settle: every Secret up to date in the cache, nothing queued
    await waitFor(() => idle() && ex.secrets.list().length === 3, 10_000, 'the controller to settle');
    const clientWrites = mgr.kube.requests.writes();
    env.h.local?.faults.resetLog();
    const reconciles = ex.stats.reconciles;

    mgr.informers.resync(); // every object re-delivered: every ConfigMap reconciled again
    await waitFor(() => ex.stats.reconciles >= reconciles + 3 && idle(), 10_000, 'the resync reconciles');
    await mgr.events.flush();

    assert.equal(mgr.kube.requests.writes() - clientWrites, 0, 'no write sent by the client');
    if (!REAL) {
      const writes = ['POST', 'PUT', 'PATCH', 'DELETE'].reduce(
        (n, method) => n + env.h.local!.faults.count({ method }),
        0,
      );
      assert.equal(writes, 0, 'no write seen by the API server');
    }
  });
});
