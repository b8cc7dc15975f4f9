/**
 * The ADS server driving a real `@grpc/grpc-js-xds` client: a gRPC channel dialling
 * `xds:///checkout.shop.svc.cluster.local:8080` resolves it through LDS, RDS, CDS and EDS served from
 * `resources(snapshot)`, and its call reaches the backend the EndpointSlice points at.
 *
 * The client dials the backend in plaintext: the Cluster carries the mesh's UpstreamTlsContext,
 * which gRPC applies only with `XdsChannelCredentials`, and validates only if the bootstrap has the
 * `meshwright` certificate provider — so the bootstrap has one (test files), and the channel uses
 * insecure credentials.
 */
import '../xds/grpc-env.js'; // before @grpc/grpc-js-xds
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as grpcXds from '@grpc/grpc-js-xds';
import { spiffeId } from '../names.js';
import { endpointSlice, service, snapshot } from '../xds/fixtures.js';
import { outboundListener } from '../xds/names.js';
import { TYPE } from '../xds/protos.js';
import { resources } from '../xds/resources.js';
import { AdsServer, type AckEvent } from './server.js';
import { issue, proxylessBootstrap, testCa } from './testing.js';

grpcXds.register();

const bytes = (b: Buffer) => b;
const ECHO: grpc.ServiceDefinition = {
  Say: {
    path: '/meshwright.test.Echo/Say',
    requestStream: false,
    responseStream: false,
    requestSerialize: bytes,
    requestDeserialize: bytes,
    responseSerialize: bytes,
    responseDeserialize: bytes,
  },
};

describe('ADS server with a real @grpc/grpc-js-xds client', () => {
  it('a channel to xds:///checkout.shop.svc.cluster.local:8080 resolves through the server and its call succeeds', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'meshwright-ads-xds-'));
    const backend = new grpc.Server();
    backend.addService(ECHO, {
      Say: (call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) =>
        done(null, Buffer.concat([Buffer.from('echo:'), call.request])),
    });
    const acks: AckEvent[] = [];
    let allAcked: () => void = () => {};
    const acked = new Promise<void>((resolve) => (allAcked = resolve));
    const types = [TYPE.listener, TYPE.routeConfiguration, TYPE.cluster, TYPE.clusterLoadAssignment];
    const ads = new AdsServer({
      onAck: (event) => {
        acks.push(event);
        if (types.every((t) => acks.some((a) => a.typeUrl === t && a.node.id === 'client-0.shop')))
          allAcked();
      },
    });
    let client: grpc.Client | undefined;
    try {
      const backendPort = await new Promise<number>((resolve, reject) =>
        backend.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) =>
          err ? reject(err) : resolve(port),
        ),
      );
      const adsPort = await ads.listen({ host: '127.0.0.1', port: 0 });
      ads.publish(
        resources(
          snapshot({
            services: [service('checkout')],
            endpointSlices: [
              endpointSlice('checkout', [{ ip: '127.0.0.1' }], {
                ports: [{ name: 'grpc', port: backendPort, protocol: 'TCP' }],
              }),
            ],
          }),
        ),
      );

      const ca = await testCa();
      const workload = await issue(ca, { uris: [spiffeId('cluster.local', 'shop', 'client')] });
      const file = (name: string, content: string) => {
        const p = path.join(dir, name);
        return writeFile(p, content).then(() => p);
      };
      const bootstrap = proxylessBootstrap({
        adsPort,
        namespace: 'shop',
        serviceAccount: 'client',
        files: {
          certificate_file: await file('tls.crt', workload.cert),
          private_key_file: await file('tls.key', workload.key),
          ca_certificate_file: await file('ca.crt', ca.cert),
        },
      });
      const Echo = grpc.makeGenericClientConstructor(ECHO, 'Echo');
      client = new Echo(
        `xds:///${outboundListener('shop', 'checkout', 8080)}`,
        grpc.credentials.createInsecure(),
        {
          'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config': bootstrap,
        },
      );
      const say = client as unknown as {
        Say(
          request: Buffer,
          options: grpc.CallOptions,
          done: (err: grpc.ServiceError | null, reply?: Buffer) => void,
        ): void;
      };
      const reply = await new Promise<Buffer>((resolve, reject) =>
        say.Say(Buffer.from('hello'), { deadline: Date.now() + 30_000 }, (err, out) =>
          err ? reject(err) : resolve(out!),
        ),
      );
      assert.equal(reply.toString(), 'echo:hello');

      await acked; // the client ACKs what it was sent
      const [stream] = ads.streams().filter((s) => s.node.id === 'client-0.shop');
      assert.equal(stream!.node.metadata.NAMESPACE, 'shop');
      assert.match(stream!.node.userAgent ?? '', /gRPC Node/);
      assert.deepEqual(stream!.types[TYPE.listener]!.names, [outboundListener('shop', 'checkout', 8080)]);
      for (const type of types) {
        const status = stream!.types[type]!;
        assert.equal(status.acked, status.sent, `${type} acked`);
        assert.equal(status.nack, undefined, `${type} not NACKed`);
      }
    } finally {
      client?.close();
      await ads.stop();
      backend.forceShutdown();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
