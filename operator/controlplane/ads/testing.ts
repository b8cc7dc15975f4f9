/**
 * Test helpers: a raw ADS client that speaks the protocol message by message over a real grpc-js
 * channel, certificates (a CA, servers, workloads with SPIFFE IDs) made with @peculiar/x509 on
 * Node's WebCrypto, and the gRPC bootstrap of a proxyless workload as the injector writes it.
 *
 * Asserting that the server sends *nothing* never waits for time to pass: `barrier()` subscribes to a
 * fresh type, whose first response the server always sends, and asserts it is the next message.
 * Messages on a stream arrive in order, so nothing the server wrote before handling that request can
 * come after it.
 */
import assert from 'node:assert/strict';
import { KeyObject, webcrypto } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import * as x509 from '@peculiar/x509';
import { CERTIFICATE_PROVIDER_INSTANCE, SERVER_LISTENER_TEMPLATE } from '../xds/names.js';
import { decode, type Message } from '../xds/protos.js';
import { NODE_METADATA, nodeId } from '../names.js';
import {
  ADS_SERVICE,
  loaderOptions,
  type DiscoveryRequest,
  type DiscoveryResponse,
  type ProtoNode,
} from './protocol.js';
import { loadSync } from '@grpc/proto-loader';

export interface Response {
  version_info: string;
  type_url: string;
  nonce: string;
  resources: { type_url: string; value: Buffer }[];
}

/** The node of a test proxy; `metadata` as plain JSON. */
export function testNode(
  id = 'checkout-0.shop',
  metadata: Record<string, string> = { NAMESPACE: 'shop' },
  cluster = 'checkout',
): ProtoNode {
  return {
    id,
    cluster,
    metadata: {
      fields: Object.fromEntries(
        Object.entries(metadata).map(([k, v]) => [k, { stringValue: v, kind: 'stringValue' }]),
      ),
    },
    user_agent_name: 'meshwright-test',
    user_agent_version: '1',
  };
}

let clientConstructor: grpc.ServiceClientConstructor | undefined;

function adsClientConstructor(): grpc.ServiceClientConstructor {
  clientConstructor ??= grpc.makeClientConstructor(
    loadSync('envoy/service/discovery/v3/ads.proto', loaderOptions())[ADS_SERVICE] as grpc.ServiceDefinition,
    'AggregatedDiscoveryService',
  );
  return clientConstructor;
}

type Waiter = { resolve: (r: Response) => void; reject: (e: Error) => void };

export class AdsTestClient {
  readonly received: Response[] = [];
  /** Resolves with the stream's status when it ends. */
  readonly status: Promise<grpc.StatusObject>;
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>;
  private readonly queue: Response[] = [];
  private readonly waiters: Waiter[] = [];
  private ended: grpc.StatusObject | undefined;
  private barriers = 0;

  constructor(
    address: string,
    credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
    options: grpc.ChannelOptions = {},
  ) {
    const Client = adsClientConstructor();
    // A channel of its own, so a test's connections are never shared with another client's.
    this.client = new Client(address, credentials, { 'grpc.use_local_subchannel_pool': 1, ...options });
    this.call = (
      this.client as unknown as {
        StreamAggregatedResources(): grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>;
      }
    ).StreamAggregatedResources();
    this.call.on('data', (message: DiscoveryResponse) => {
      const response: Response = {
        version_info: message.version_info ?? '',
        type_url: message.type_url ?? '',
        nonce: message.nonce ?? '',
        resources: message.resources ?? [],
      };
      this.received.push(response);
      const waiter = this.waiters.shift();
      if (waiter) waiter.resolve(response);
      else this.queue.push(response);
    });
    this.call.on('error', () => {}); // the status event carries it
    this.status = new Promise((resolve) => {
      this.call.on('status', (status: grpc.StatusObject) => {
        this.ended = status;
        for (const w of this.waiters.splice(0)) {
          w.reject(
            new Error(`the stream ended (${grpc.status[status.code]}: ${status.details}) with no response`),
          );
        }
        resolve(status);
      });
    });
  }

  send(request: DiscoveryRequest): void {
    this.call.write(request);
  }

  /** The next response, in order of arrival. */
  next(timeoutMs = 10_000): Promise<Response> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.ended) {
      return Promise.reject(
        new Error(`the stream ended (${grpc.status[this.ended.code]}: ${this.ended.details})`),
      );
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`no xDS response within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter: Waiter = {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.waiters.push(waiter);
    });
  }

  /** Sends a request and returns the next response. */
  async request(request: DiscoveryRequest): Promise<Response> {
    this.send(request);
    return this.next();
  }

  /** ACKs `response` (keeping `names` as the subscription). */
  ack(response: Response, names: string[] = []): void {
    this.send({
      type_url: response.type_url,
      version_info: response.version_info,
      response_nonce: response.nonce,
      resource_names: names,
    });
  }

  /** NACKs `response`, reporting `previousVersion` as the version in use. */
  nack(response: Response, message: string, names: string[] = [], previousVersion = ''): void {
    this.send({
      type_url: response.type_url,
      version_info: previousVersion,
      response_nonce: response.nonce,
      resource_names: names,
      error_detail: { code: grpc.status.INVALID_ARGUMENT, message },
    });
  }

  /**
   * Asserts the server has sent nothing since the last response read: subscribes to a type of its own
   * and checks that its (always sent) first response is the next message.
   */
  async barrier(): Promise<void> {
    this.barriers += 1;
    const typeUrl = `type.googleapis.com/meshwright.test.Barrier${this.barriers}`;
    this.send({ type_url: typeUrl });
    const next = await this.next();
    assert.equal(
      next.type_url,
      typeUrl,
      `expected nothing before the barrier, got a ${next.type_url} response`,
    );
  }

  /** Stops reading: the server's writes back up behind HTTP/2 flow control. */
  pause(): void {
    this.call.pause();
  }

  resume(): void {
    this.call.resume();
  }

  close(): void {
    this.call.cancel();
    this.client.close();
  }
}

/** The names of the resources of a response. */
export function resourceNames(response: Response): string[] {
  return decodeResources(response).map((r) => (r.name ?? r.cluster_name) as string);
}

/** The resources of a response, decoded with the Envoy protos (Anys inside as `{'@type', ...}`). */
export function decodeResources(response: Response): Message[] {
  return response.resources.map((any) => {
    assert.equal(any.type_url, response.type_url, 'every resource has the response type');
    return decode(any.type_url, any.value);
  });
}

// ---------------------------------------------------------------------------------------------
// Certificates

const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' };
const crypto = webcrypto;

export interface TestCa {
  /** PEM. */
  cert: string;
  certificate: x509.X509Certificate;
  keys: webcrypto.CryptoKeyPair;
}

export interface IssuedCertificate {
  /** PEM. */
  cert: string;
  /** PEM, PKCS#8. */
  key: string;
  /** SHA-256 fingerprint as Node's `PeerCertificate.fingerprint256` shows it. */
  fingerprint256: string;
}

const validity = () => {
  const now = Date.now();
  return { notBefore: new Date(now - 60_000), notAfter: new Date(now + 24 * 3600_000) };
};

export async function testCa(name = 'meshwright-test-ca'): Promise<TestCa> {
  const keys = await crypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned(
    {
      name: `CN=${name}`,
      keys,
      ...validity(),
      signingAlgorithm: SIGNING_ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return { cert: certificate.toString('pem'), certificate, keys };
}

/** A leaf certificate signed by `ca`: URI SANs (SPIFFE IDs), DNS and IP SANs, for servers and clients. */
export async function issue(
  ca: TestCa,
  sans: { uris?: string[]; dns?: string[]; ips?: string[] },
  commonName = 'meshwright-test',
): Promise<IssuedCertificate> {
  const keys = await crypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']);
  const names: x509.JsonGeneralName[] = [
    ...(sans.uris ?? []).map((value) => ({ type: 'url' as const, value })),
    ...(sans.dns ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(sans.ips ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  const certificate = await x509.X509CertificateGenerator.create(
    {
      subject: `CN=${commonName}`,
      issuer: ca.certificate.subject,
      publicKey: keys.publicKey,
      signingKey: ca.keys.privateKey,
      // a fresh serial each time: a renewed certificate is told apart from the one it replaces
      serialNumber: Buffer.from(crypto.getRandomValues(new Uint8Array(8)))
        .toString('hex')
        .replace(/^./, '1'),
      ...validity(),
      signingAlgorithm: SIGNING_ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([
          x509.ExtendedKeyUsage.serverAuth,
          x509.ExtendedKeyUsage.clientAuth,
        ]),
        ...(names.length > 0 ? [new x509.SubjectAlternativeNameExtension(names, false)] : []),
        await x509.AuthorityKeyIdentifierExtension.create(ca.certificate, false, crypto),
      ],
    },
    crypto,
  );
  const thumbprint = Buffer.from(await certificate.getThumbprint('SHA-256', crypto));
  return {
    cert: certificate.toString('pem'),
    key: KeyObject.from(keys.privateKey).export({
      type: 'pkcs8',
      format: 'pem',
    }) as string,
    fingerprint256: [...thumbprint].map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':'),
  };
}

/** The certificate provider files of a workload (the `file_watcher` plugin's config keys). */
export interface CertFiles {
  certificate_file: string;
  private_key_file: string;
  ca_certificate_file: string;
}

/**
 * The gRPC bootstrap the injector writes for a proxyless workload (injector/bootstrap.ts
 * `grpcBootstrap`), as the kubelet expands it for pod `<serviceAccount>-0`, pointing at a test
 * control plane on 127.0.0.1 and at certificate files of the test's own; the provider re-reads
 * them every `refreshInterval`. JSON, for the channel option
 * `grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config`.
 */
export function proxylessBootstrap(o: {
  adsPort: number;
  namespace: string;
  serviceAccount: string;
  files: CertFiles;
  refreshInterval?: string;
}): string {
  return JSON.stringify({
    xds_servers: [
      {
        server_uri: `127.0.0.1:${o.adsPort}`,
        channel_creds: [{ type: 'insecure' }],
        server_features: ['xds_v3'],
      },
    ],
    // grpc-js-xds refuses a bootstrap node without `locality`
    node: {
      id: nodeId(`${o.serviceAccount}-0`, o.namespace),
      cluster: `${o.serviceAccount}.${o.namespace}`,
      locality: {},
      metadata: {
        [NODE_METADATA.namespace]: o.namespace,
        [NODE_METADATA.serviceAccount]: o.serviceAccount,
        [NODE_METADATA.podIp]: '127.0.0.1',
        [NODE_METADATA.proxyType]: 'grpc',
      },
    },
    server_listener_resource_name_template: SERVER_LISTENER_TEMPLATE,
    certificate_providers: {
      [CERTIFICATE_PROVIDER_INSTANCE]: {
        plugin_name: 'file_watcher',
        config: { ...o.files, refresh_interval: o.refreshInterval ?? '600s' },
      },
    },
  });
}
