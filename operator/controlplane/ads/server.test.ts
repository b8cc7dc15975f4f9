import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import { createLogger } from '../../runtime/log.js';
import {
  endpointSlice,
  service,
  servicePolicy,
  snapshot,
  trafficSplit,
  withoutDefaults,
} from '../xds/fixtures.js';
import type { Message } from '../xds/protos.js';
import { TYPE } from '../xds/protos.js';
import { resources } from '../xds/resources.js';
import { AdsServer, type AdsServerOptions, type NackEvent, type XdsResources } from './server.js';
import { AdsTestClient, decodeResources, resourceNames, testNode, type Response } from './testing.js';

const { listener: LDS, routeConfiguration: RDS, cluster: CDS, clusterLoadAssignment: EDS } = TYPE;

// Small resources whose content a test changes through `rev`.
const L = (name: string, rev = 0) => ({ name, stat_prefix: `${name}-${rev}` });
const R = (name: string, rev = 0) => ({ name, virtual_hosts: [{ name: `${name}-${rev}`, domains: ['*'] }] });
const C = (name: string, rev = 0) => ({ name, type: 'EDS', alt_stat_name: `${name}-${rev}` });
const E = (name: string, rev = 0) => ({ cluster_name: name, endpoints: [{ locality: { zone: `z${rev}` } }] });

function world(revs: Partial<Record<'l' | 'r' | 'c' | 'e', number>> = {}): XdsResources {
  return {
    [LDS]: [L('l1', revs.l), L('l2')],
    [RDS]: [R('r1', revs.r), R('r2')],
    [CDS]: [C('c1', revs.c), C('c2')],
    [EDS]: [E('c1', revs.e), E('c2')],
  };
}

interface Harness {
  ads: AdsServer;
  address: string;
  connect: () => AdsTestClient;
}

async function withAds(options: AdsServerOptions, fn: (h: Harness) => Promise<void>): Promise<void> {
  const ads = new AdsServer(options);
  const port = await ads.listen({ host: '127.0.0.1', port: 0 });
  const address = `127.0.0.1:${port}`;
  const clients: AdsTestClient[] = [];
  try {
    await fn({
      ads,
      address,
      connect: () => {
        const client = new AdsTestClient(address);
        clients.push(client);
        return client;
      },
    });
  } finally {
    for (const client of clients) client.close();
    await ads.stop();
  }
}

const first = (client: AdsTestClient, typeUrl: string, names: string[] = [], node = testNode()) =>
  client.request({ node, type_url: typeUrl, resource_names: names });

describe('ADS server: subscriptions (state of the world)', () => {
  it('LDS and CDS: an empty first request is a wildcard, answered with every resource in name order', async () => {
    await withAds({}, async ({ ads, connect }) => {
      ads.publish(world());
      const client = connect();
      const lds = await first(client, LDS);
      assert.equal(lds.type_url, LDS);
      assert.deepEqual(resourceNames(lds), ['l1', 'l2']);
      assert.notEqual(lds.version_info, '');
      assert.notEqual(lds.nonce, '');
      const cds = await client.request({ type_url: CDS });
      assert.deepEqual(resourceNames(cds), ['c1', 'c2']);
      assert.deepEqual(ads.streams()[0]!.types[LDS]!.names, '*');
    });
  });

  it('LDS with explicit names: exactly those that exist; `*` is an explicit wildcard', async () => {
    await withAds({}, async ({ ads, connect }) => {
      ads.publish(world());
      const client = connect();
      const lds = await first(client, LDS, ['l2', 'missing']);
      assert.deepEqual(resourceNames(lds), ['l2']);
      client.ack(lds, ['*']);
      assert.deepEqual(resourceNames(await client.next()), ['l1', 'l2']);
    });
  });

  it('after explicit names, an empty list unsubscribes from everything (it is no longer a wildcard)', async () => {
    await withAds({}, async ({ ads, connect }) => {
      ads.publish(world());
      const client = connect();
      const lds = await first(client, LDS, ['l1']);
      client.ack(lds, []);
      const empty = await client.next();
      assert.deepEqual(empty.resources, []);
      assert.deepEqual(ads.streams()[0]!.types[LDS]!.names, []);
    });
  });

  it('RDS and EDS: the requested names; an empty first request is answered, empty', async () => {
    await withAds({}, async ({ ads, connect }) => {
      ads.publish(world());
      const client = connect();
      assert.deepEqual(resourceNames(await first(client, RDS, ['r2'])), ['r2']);
      assert.deepEqual(resourceNames(await client.request({ type_url: EDS, resource_names: ['c2', 'c1'] })), [
        'c1',
        'c2',
      ]);
      const other = connect();
      const empty = await first(other, RDS, []);
      assert.deepEqual(empty.resources, []);
    });
  });

  it('a type it has no resources of gets an empty response (the first request is always answered)', async () => {
    await withAds({}, async ({ ads, connect }) => {
      ads.publish(world());
      const client = connect();
      const secret = await first(
        client,
        'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
      );
      assert.deepEqual(secret.resources, []);
    });
  });

  it('a change of names is answered with the new set; a new name that does not exist gets nothing until it does', async () => {
    await withAds({}, async ({ ads, connect }) => {
      ads.publish(world());
      const client = connect();
      const one = await first(client, RDS, ['r1']);
      client.ack(one, ['r1', 'r2']);
      const two = await client.next();
      assert.deepEqual(resourceNames(two), ['r1', 'r2']);
      assert.notEqual(two.version_info, one.version_info);
      assert.notEqual(two.nonce, one.nonce);

      client.ack(two, ['r1', 'r2', 'r3']);
      await client.barrier();

      ads.publish({ ...world(), [RDS]: [R('r1'), R('r2'), R('r3')] });
      assert.deepEqual(resourceNames(await client.next()), ['r1', 'r2', 'r3']);
    });
  });

  it('a request without node first ends the stream with INVALID_ARGUMENT', async () => {
    await withAds({}, async ({ connect }) => {
      const client = connect();
      client.send({ type_url: LDS });
      const status = await client.status;
      assert.equal(status.code, grpc.status.INVALID_ARGUMENT);
      assert.match(status.details, /must carry the node/);
    });
  });

  it('the node is read from the first request only; later requests may omit it', async () => {
    await withAds({}, async ({ ads, connect }) => {
      ads.publish(world());
      const client = connect();
      await first(client, LDS, [], testNode('p-0.shop', { NAMESPACE: 'shop', SERVICE_ACCOUNT: 'p' }));
      assert.deepEqual(resourceNames(await client.request({ type_url: CDS })), ['c1', 'c2']);
      const [stream] = ads.streams();
      assert.equal(stream!.node.id, 'p-0.shop');
      assert.equal(stream!.node.cluster, 'checkout');
      assert.deepEqual(stream!.node.metadata, { NAMESPACE: 'shop', SERVICE_ACCOUNT: 'p' });
      assert.equal(stream!.node.userAgent, 'meshwright-test/1');
      assert.equal(stream!.node.peerIdentity, undefined);
    });
  });
});

describe('ADS server: versions, nonces, ACK and NACK', () => {
  it('the version is a hash of exactly what is sent: equal for equal content in another server, different otherwise', async () => {
    const versions = async (names: string[]) => {
      let out: Response | undefined;
      await withAds({}, async ({ ads, connect }) => {
        ads.publish(world());
        out = await first(connect(), LDS, names);
      });
      return out!;
    };
    const a = await versions(['l1', 'l2']);
    const b = await versions([]);
    const c = await versions(['l1']);
    assert.equal(a.version_info, b.version_info, 'same content, same version, whatever the subscription');
    assert.notEqual(a.version_info, c.version_info);
  });

  it('publishing the same content again pushes nothing and returns the same version', async () => {
    await withAds({}, async ({ ads, connect }) => {
      const v1 = ads.publish(world());
      const client = connect();
      client.ack(await first(client, LDS));
      const v2 = ads.publish(world());
      assert.equal(v2, v1);
      await client.barrier();
      assert.notEqual(ads.publish(world({ c: 1 })), v1);
    });
  });

  it('a reconnecting client that announces the version it would get is sent nothing, and counts as ACKed', async () => {
    await withAds({}, async ({ ads, connect }) => {
      ads.publish(world());
      const before = connect();
      const lds = await first(before, LDS);
      before.close();

      const after = connect();
      after.send({ node: testNode(), type_url: LDS, version_info: lds.version_info });
      await after.barrier();
      const [stream] = ads.streams().filter((s) => s.types[LDS]);
      assert.equal(stream!.types[LDS]!.acked, lds.version_info);

      const stale = connect();
      const resent = await stale.request({
        node: testNode(),
        type_url: LDS,
        version_info: 'an-older-version',
      });
      assert.equal(resent.version_info, lds.version_info);
    });
  });

  it('nonces are unique on a stream', async () => {
    await withAds({}, async ({ ads, connect }) => {
      ads.publish(world());
      const client = connect();
      const nonces = new Set<string>();
      let last = await first(client, LDS);
      nonces.add(last.nonce);
      for (let rev = 1; rev <= 5; rev++) {
        client.ack(last);
        ads.publish(world({ l: rev }));
        last = await client.next();
        nonces.add(last.nonce);
      }
      nonces.add((await client.request({ type_url: CDS })).nonce);
      assert.equal(nonces.size, 7);
    });
  });

  it('an ACK is recorded and reported once; nothing is sent again', async () => {
    const acks: { typeUrl: string; version: string }[] = [];
    await withAds(
      { onAck: ({ typeUrl, version }) => acks.push({ typeUrl, version }) },
      async ({ ads, connect }) => {
        ads.publish(world());
        const client = connect();
        const lds = await first(client, LDS);
        client.ack(lds);
        client.ack(lds); // a client repeats the nonce in later requests: not a new ACK
        await client.barrier();
        assert.deepEqual(acks, [{ typeUrl: LDS, version: lds.version_info }]);
        const status = ads.streams()[0]!.types[LDS]!;
        assert.equal(status.sent, lds.version_info);
        assert.equal(status.acked, lds.version_info);
      },
    );
  });

  it('a NACK is reported once, never answered with the same content, and the next content change is sent', async () => {
    const nacks: NackEvent[] = [];
    const registry = new Registry();
    await withAds({ onNack: (e) => nacks.push(e), registry }, async ({ ads, connect }) => {
      ads.publish(world());
      const client = connect();
      const good = await first(client, LDS);
      client.ack(good);
      await client.barrier(); // the ACK is handled before the next push makes its nonce stale
      ads.publish(world({ l: 1 }));
      const bad = await client.next();
      client.nack(bad, 'listener l1: unknown filter', [], good.version_info);
      // gRPC repeats the nonce and error in every request until the next response: one NACK still.
      client.nack(bad, 'listener l1: unknown filter', [], good.version_info);
      ads.publish(world({ l: 1, c: 1 })); // clusters changed, listeners did not
      await client.barrier();

      assert.equal(nacks.length, 1);
      assert.equal(nacks[0]!.typeUrl, LDS);
      assert.equal(nacks[0]!.version, bad.version_info);
      assert.equal(nacks[0]!.nonce, bad.nonce);
      assert.equal(nacks[0]!.message, 'listener l1: unknown filter');
      assert.equal(nacks[0]!.node.id, testNode().id);
      const status = ads.streams()[0]!.types[LDS]!;
      assert.equal(status.nack, 'listener l1: unknown filter');
      assert.equal(status.acked, good.version_info);
      assert.equal(status.sent, bad.version_info);
      const counted = await registry.getSingleMetric('meshwright_xds_nacks_total')!.get();
      assert.deepEqual(
        counted.values.map((v) => [v.labels.type, v.value]),
        [['lds', 1]],
      );

      ads.publish(world({ l: 2, c: 1 }));
      const fixed = await client.next();
      assert.equal(fixed.type_url, LDS);
      assert.notEqual(fixed.version_info, bad.version_info);
      client.ack(fixed);
      await client.barrier();
      assert.equal(ads.streams()[0]!.types[LDS]!.nack, undefined, 'a later ACK clears the NACK');
      assert.equal(nacks.length, 1);
    });
  });

  it('a request with a stale nonce is ignored: no ACK, no NACK, no response; the fresh one counts', async () => {
    const nacks: NackEvent[] = [];
    await withAds({ onNack: (e) => nacks.push(e) }, async ({ ads, connect }) => {
      ads.publish(world());
      const client = connect();
      const n1 = await first(client, RDS, ['r1']);
      ads.publish(world({ r: 1 }));
      const n2 = await client.next();
      client.nack(n1, 'late NACK of an old response', ['r1', 'r2']);
      await client.barrier();
      assert.equal(nacks.length, 0);
      assert.deepEqual(ads.streams()[0]!.types[RDS]!.names, ['r1'], 'the stale request did not subscribe');

      client.ack(n2, ['r1', 'r2']);
      const n3 = await client.next();
      assert.deepEqual(resourceNames(n3), ['r1', 'r2']);
    });
  });
});

describe('ADS server: pushes', () => {
  it('a publish changing one cluster pushes CDS and the endpoints after it, not LDS', async () => {
    await withAds({}, async ({ ads, connect }) => {
      ads.publish(world());
      const client = connect();
      client.ack(await first(client, LDS));
      client.ack(await client.request({ type_url: CDS }));
      const edsBefore = await client.request({ type_url: EDS, resource_names: ['c1', 'c2'] });
      client.ack(edsBefore, ['c1', 'c2']);

      ads.publish(world({ c: 1 }));
      const cds = await client.next();
      assert.equal(cds.type_url, CDS);
      assert.deepEqual(resourceNames(cds), ['c1', 'c2'], 'state of the world: every cluster');
      client.ack(cds);
      // Envoy completes warming an updated Cluster only on an EDS response: it follows, unchanged.
      const eds = await client.next();
      assert.equal(eds.type_url, EDS);
      assert.equal(eds.version_info, edsBefore.version_info);
      client.ack(eds, ['c1', 'c2']);
      await client.barrier();

      ads.publish(world({ c: 2, e: 1, l: 1 }));
      const order = [await client.next(), await client.next(), await client.next()].map((r) => r.type_url);
      assert.deepEqual(order, [CDS, EDS, LDS], 'clusters and endpoints before listeners');
      await client.barrier(); // the changed endpoints went out once
    });
  });

  it('an EDS subscriber of c2 is not told about a change to c1', async () => {
    await withAds({}, async ({ ads, connect }) => {
      ads.publish(world());
      const client = connect();
      client.ack(await first(client, EDS, ['c2']), ['c2']);
      ads.publish(world({ e: 1 }));
      await client.barrier();
    });
  });

  it('a deleted Listener disappears from the next LDS response', async () => {
    await withAds({}, async ({ ads, connect }) => {
      ads.publish(world());
      const client = connect();
      client.ack(await first(client, LDS));
      ads.publish({ ...world(), [LDS]: [L('l2')] });
      assert.deepEqual(resourceNames(await client.next()), ['l2']);
      ads.publish({ ...world(), [LDS]: undefined });
      assert.deepEqual((await client.next()).resources, []);
    });
  });

  it('a client that reads slowly is sent the latest state once it reads again, not every state in between', async () => {
    // Listeners big enough that a few responses fill the HTTP/2 flow-control window.
    const big = (rev: number) => ({
      [LDS]: Array.from({ length: 50 }, (_, i) => ({
        name: `l${i}`,
        stat_prefix: `${rev}-${'x'.repeat(1000)}`,
      })),
    });
    await withAds({}, async ({ ads, connect }) => {
      ads.publish(big(0));
      const client = connect();
      client.ack(await first(client, LDS));
      await client.barrier();
      client.pause();
      const publishes = 200;
      for (let rev = 1; rev <= publishes; rev++) ads.publish(big(rev));
      client.resume();
      const revOf = (r: Response) => Number(String(decodeResources(r)[0]!.stat_prefix).split('-')[0]);
      const seen: number[] = [];
      while (seen.at(-1) !== publishes) seen.push(revOf(await client.next()));
      assert.ok(seen.length < publishes / 2, `${seen.length} responses for ${publishes} publishes`);
      assert.deepEqual(
        seen,
        [...seen].sort((a, b) => a - b),
        'in order',
      );
      await client.barrier();
    });
  });

  it('per-node view: each node sees its own resources and is pushed only what changes in its view', async () => {
    let hidden = new Set<string>();
    const view: AdsServerOptions['view'] = (node) => (_typeUrl, name) =>
      name.startsWith(`${String(node.metadata.NAMESPACE)}/`) && !hidden.has(name);
    await withAds({ view }, async ({ ads, connect }) => {
      const set = (rev: { a?: number; b?: number }) => ({
        [CDS]: [C('a/x', rev.a), C('a/y'), C('b/x', rev.b)],
      });
      ads.publish(set({}));
      const a = connect();
      const b = connect();
      const ca = await first(a, CDS, [], testNode('a-0.a', { NAMESPACE: 'a' }));
      const cb = await first(b, CDS, [], testNode('b-0.b', { NAMESPACE: 'b' }));
      assert.deepEqual(resourceNames(ca), ['a/x', 'a/y']);
      assert.deepEqual(resourceNames(cb), ['b/x']);
      a.ack(ca);
      b.ack(cb);

      ads.publish(set({ b: 1 }));
      assert.deepEqual(resourceNames(await b.next()), ['b/x']);
      await a.barrier();

      hidden = new Set(['a/y']);
      ads.publish(set({ b: 1 }), { viewsChanged: true });
      assert.deepEqual(resourceNames(await a.next()), ['a/x']);
      await b.barrier();
    });
  });

  it('a view that throws hides the resource, never crashes the stream', async () => {
    const view: AdsServerOptions['view'] = () => (_t, name) => {
      if (name === 'l2') throw new Error('boom');
      return true;
    };
    await withAds({ view }, async ({ ads, connect }) => {
      ads.publish(world());
      assert.deepEqual(resourceNames(await first(connect(), LDS)), ['l1']);
    });
  });

  it('publish refuses a resource without a name, a duplicate name, or one the protos cannot encode, and keeps serving the previous set', async () => {
    await withAds({}, async ({ ads, connect }) => {
      const version = ads.publish(world());
      assert.throws(() => ads.publish({ [LDS]: [L('l1'), L('l1')] }), /l1 .* is given twice/);
      assert.throws(() => ads.publish({ [LDS]: [{ stat_prefix: 'x' } as never] }), /has no name/);
      assert.throws(() => ads.publish({ [CDS]: [{ name: 'c', connect_timeout: 5 }] }), /c cannot be encoded/);
      assert.throws(
        () => ads.publish({ 'type.googleapis.com/no.such.Type': [{ name: 'x' }] }),
        /cannot be encoded as type.googleapis.com\/no.such.Type/,
      );
      assert.equal(ads.publish(world()), version);
      assert.deepEqual(resourceNames(await first(connect(), LDS)), ['l1', 'l2']);
    });
  });
});

describe('ADS server: streams(), metrics, logs, stop()', () => {
  it('streams() lists each connected node with, per type, what was sent and ACKed and what it subscribes to', async () => {
    await withAds({}, async ({ ads, connect }) => {
      ads.publish(world());
      const client = connect();
      const lds = await first(client, LDS);
      client.ack(lds);
      const rds = await client.request({ type_url: RDS, resource_names: ['r2', 'r1'] });
      await client.barrier();
      const [stream, ...others] = ads.streams();
      assert.equal(others.length, 0);
      assert.deepEqual(stream!.types[LDS], { sent: lds.version_info, acked: lds.version_info, names: '*' });
      assert.deepEqual(stream!.types[RDS], { sent: rds.version_info, names: ['r1', 'r2'] });
    });
  });

  it('metrics: connected streams, pushes by type, publish duration', async () => {
    const registry = new Registry();
    await withAds({ registry }, async ({ ads, connect }) => {
      ads.publish(world());
      const client = connect();
      client.ack(await first(client, LDS));
      client.ack(await client.request({ type_url: CDS }));
      ads.publish(world({ c: 1 }));
      await client.next();
      const value = async (name: string) => (await registry.getSingleMetric(name)!.get()).values;
      assert.deepEqual(
        (await value('meshwright_xds_connected_streams')).map((v) => v.value),
        [1],
      );
      const pushes = Object.fromEntries(
        (await value('meshwright_xds_pushes_total')).map((v) => [String(v.labels.type), v.value]),
      );
      assert.deepEqual(pushes, { lds: 1, cds: 2 });
      const count = (await value('meshwright_xds_push_duration_seconds')).find(
        (v) => (v as { metricName?: string }).metricName === 'meshwright_xds_push_duration_seconds_count',
      );
      assert.equal(count?.value, 2);
      client.close();
      await ads.stop();
      assert.deepEqual(
        (await value('meshwright_xds_connected_streams')).map((v) => v.value),
        [0],
      );
    });
  });

  it('logs one line when a stream opens and one when it closes, and a warning per NACK', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) {
          lines.push(JSON.parse(line) as Record<string, unknown>);
        }
        done();
      },
    });
    await withAds(
      { logger: createLogger({ destination: sink, level: 'info' }) },
      async ({ ads, connect }) => {
        ads.publish(world());
        const client = connect();
        client.nack(await first(client, LDS), 'no');
        await client.barrier();
      },
    );
    const of = (msg: string) => lines.filter((l) => l.msg === msg);
    assert.equal(of('xDS stream opened').length, 1);
    assert.equal(of('xDS stream opened')[0]!.node, testNode().id);
    assert.equal(of('xDS response NACKed').length, 1);
    assert.equal(of('xDS response NACKed')[0]!.level, 'warn');
    assert.equal(of('xDS response NACKed')[0]!.error, 'no');
    assert.equal(of('xDS stream closed').length, 1);
    assert.equal(of('xDS stream closed')[0]!.node, testNode().id);
  });

  it('stop() ends every stream with UNAVAILABLE and resolves once everything is closed', async () => {
    const ads = new AdsServer();
    const port = await ads.listen({ host: '127.0.0.1', port: 0 });
    const client = new AdsTestClient(`127.0.0.1:${port}`);
    try {
      ads.publish(world());
      await first(client, LDS);
      await ads.stop();
      const status = await client.status;
      assert.equal(status.code, grpc.status.UNAVAILABLE);
      assert.match(status.details, /shutting down/);
      assert.deepEqual(ads.streams(), []);
      await assert.rejects(ads.listen({ host: '127.0.0.1', port: 0 }), /stopped/);
    } finally {
      client.close();
      await ads.stop();
    }
  });

  it('listen() reports an address it cannot bind', async () => {
    const ads = new AdsServer();
    try {
      const port = await ads.listen({ host: '127.0.0.1', port: 0 });
      await assert.rejects(ads.listen({ host: '127.0.0.1', port }), /cannot listen on 127\.0\.0\.1:\d+/);
    } finally {
      await ads.stop();
    }
  });
});

describe('ADS server: what it sends decodes with the Envoy protos', () => {
  it('every resource of a full snapshot, over LDS, RDS, CDS and EDS, decodes to what was published', async () => {
    const snap = snapshot({
      services: [service('checkout'), service('checkout-stable'), service('checkout-canary')],
      endpointSlices: [
        endpointSlice('checkout', [
          { ip: '10.1.0.1', zone: 'a' },
          { ip: '10.1.0.2', zone: 'b' },
        ]),
        endpointSlice('checkout-stable', [{ ip: '10.1.0.3' }]),
        endpointSlice('checkout-canary', [{ ip: '10.1.0.4' }]),
      ],
      servicePolicies: [
        servicePolicy({
          resilience: {
            timeouts: { request: '2s' },
            retries: { attempts: 3 },
            faultInjection: { abort: { percentage: 10, grpcStatus: 'UNAVAILABLE' } },
            rateLimit: { requestsPerSecond: 100, burst: 20, scope: 'PerCaller' },
          },
          access: {
            defaultAction: 'Deny',
            rules: [{ name: 'shop', action: 'Allow', from: [{ namespaces: ['shop'] }] }],
          },
        }),
      ],
      trafficSplits: [trafficSplit({ stable: 80, canary: 20 })],
    });
    const published = resources(snap);
    await withAds({}, async ({ ads, connect }) => {
      ads.publish(published);
      const client = connect();
      const byName = (list: readonly Message[]) =>
        Object.fromEntries(list.map((r) => [(r.name ?? r.cluster_name) as string, withoutDefaults(r)]));
      const lds = await first(client, LDS);
      const rds = await client.request({
        type_url: RDS,
        resource_names: published[RDS].map((r) => r.name),
      });
      const cds = await client.request({ type_url: CDS });
      const eds = await client.request({
        type_url: EDS,
        resource_names: published[EDS].map((r) => r.cluster_name),
      });
      for (const [response, typeUrl] of [
        [lds, LDS],
        [rds, RDS],
        [cds, CDS],
        [eds, EDS],
      ] as const) {
        assert.equal(response.resources.length, published[typeUrl].length);
        assert.deepEqual(byName(decodeResources(response)), byName(published[typeUrl]), typeUrl);
      }
    });
  });
});
