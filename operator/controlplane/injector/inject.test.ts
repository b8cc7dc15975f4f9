import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { applyJsonPatch } from '../../localcluster/admission/jsonpatch.js';
import type { MeshConfig } from '../meshconfig.js';
import {
  IDENTITY_DIR,
  IDENTITY_VOLUME,
  identityCertificateName,
  INJECTED_ANNOTATION,
  nodeId,
  PROXY_PORTS,
  PROXY_UID,
  PROXY_VERSION_LABEL,
  SERVICE_ACCOUNT_LABEL,
} from '../names.js';
import { envoySdsSecret } from './bootstrap.js';
import { captureArgs, DEFAULT_CAPTURE } from './capture.js';
import {
  assertEnvoyDecodes,
  expandVariables,
  grpcValidateBootstrap,
  pod,
  POD_VARIABLES,
  proxylessMesh,
  sidecarMesh,
} from './fixtures.test.js';
import { escapePointer, inject, type InjectResult, type JsonPatchOperation } from './inject.js';
import {
  GRPC_ENV,
  INIT_CONTAINER,
  PROXY_CONTAINER,
  PROXY_SDS_ANNOTATION,
  PROXY_SDS_DIR,
  PROXY_SDS_VOLUME,
} from './names.js';

const NS = 'shop';

function patchOf(result: InjectResult): JsonPatchOperation[] {
  assert.equal(result.action, 'patch', JSON.stringify(result));
  return result.patch;
}

/** Injects and applies the patch as the API server would (RFC 6902, against the pod as sent). */
function injected(p: V1Pod, mesh: MeshConfig): V1Pod {
  return applyJsonPatch(p, patchOf(inject(p, { mesh, namespace: NS }))) as V1Pod;
}

const container = (list: V1Container[] | undefined, name: string): V1Container => {
  const found = (list ?? []).find((c) => c.name === name);
  assert.ok(found, `no container ${name}`);
  return found;
};

const envValue = (c: V1Container, name: string): string | undefined =>
  c.env?.find((e) => e.name === name)?.value;

function assertSkipped(result: InjectResult, reason: RegExp): void {
  assert.equal(result.action, 'skip', JSON.stringify(result));
  assert.match((result as { reason: string }).reason, reason);
}

function assertRefused(result: InjectResult, message: RegExp): void {
  assert.equal(result.action, 'refuse', JSON.stringify(result));
  const text = (result as { message: string }).message;
  assert.match(text, message);
  assert.match(text, /meshwright\.io\/inject=disabled/, 'a refusal names the opt-out');
}

describe('inject: Sidecar mode', () => {
  const mesh = sidecarMesh();
  const out = injected(pod(), mesh);
  const proxy = container(out.spec!.initContainers, PROXY_CONTAINER);
  const init = container(out.spec!.initContainers, INIT_CONTAINER);

  it('adds the capture init container, then the proxy as a native sidecar, before any other container', () => {
    assert.deepEqual(
      out.spec!.initContainers!.map((c) => c.name),
      [INIT_CONTAINER, PROXY_CONTAINER],
    );
    assert.equal(proxy.restartPolicy, 'Always');
    assert.equal(init.restartPolicy, undefined);
    assert.deepEqual(
      out.spec!.containers.map((c) => c.name),
      ['app'],
    );
  });

  it("keeps the pod's own init containers, after the capture and the proxy (so their traffic is meshed too)", () => {
    const withInit = injected(
      pod({ spec: { initContainers: [{ name: 'migrate', image: 'shop/migrate:1' }] } }),
      mesh,
    );
    assert.deepEqual(
      withInit.spec!.initContainers!.map((c) => c.name),
      [INIT_CONTAINER, PROXY_CONTAINER, 'migrate'],
    );
  });

  it('runs Envoy from the mesh configuration: image, log level, resources, its bootstrap inline', () => {
    assert.equal(proxy.image, mesh.dataPlane.proxy.image);
    assert.deepEqual(proxy.command, ['envoy']);
    const args = proxy.args!;
    assert.equal(args[args.indexOf('--log-level') + 1], 'warn');
    assert.deepEqual(proxy.resources, {
      requests: { cpu: '10m', memory: '40Mi' },
      limits: { memory: '256Mi' },
    });
    const yaml = args[args.indexOf('--config-yaml') + 1]!;
    const bootstrap = assertEnvoyDecodes(
      'envoy.config.bootstrap.v3.Bootstrap',
      parse(expandVariables(yaml, POD_VARIABLES)),
    );
    assert.equal(
      (bootstrap.node as { id: string }).id,
      nodeId(POD_VARIABLES.POD_NAME, POD_VARIABLES.POD_NAMESPACE),
    );
    // the variables the bootstrap refers to come from the downward API
    assert.deepEqual(
      proxy.env!.map((e) => [e.name, e.valueFrom?.fieldRef?.fieldPath]),
      [
        ['POD_NAME', 'metadata.name'],
        ['POD_NAMESPACE', 'metadata.namespace'],
        ['POD_IP', 'status.podIP'],
      ],
    );
  });

  it('locks the proxy down: uid 1337, non-root, read-only root, no privilege escalation, no capabilities, RuntimeDefault seccomp', () => {
    assert.deepEqual(proxy.securityContext, {
      runAsUser: PROXY_UID,
      runAsGroup: PROXY_UID,
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
  });

  it('starts the application only once Envoy is ready (startup probe), and reports readiness on /ready', () => {
    const probe = { httpGet: { path: '/ready', port: PROXY_PORTS.health } };
    assert.deepEqual(proxy.startupProbe, { ...probe, periodSeconds: 1, failureThreshold: 600 });
    assert.deepEqual(proxy.readinessProbe, { ...probe, periodSeconds: 5, failureThreshold: 3 });
    assert.deepEqual(
      proxy.ports!.map((p) => p.containerPort),
      [PROXY_PORTS.health, 15090],
    );
  });

  it('gives the capture container exactly NET_ADMIN and NET_RAW as root, and the capture arguments', () => {
    assert.equal(init.image, mesh.controlPlane.image);
    assert.deepEqual(init.args, captureArgs({ ...DEFAULT_CAPTURE, excludeInboundPorts: [15021, 15090] }));
    assert.deepEqual(init.args.slice(0, 7), [
      'capture',
      '--proxy-uid',
      '1337',
      '--inbound-port',
      '15006',
      '--outbound-port',
      '15001',
    ]);
    assert.deepEqual(init.securityContext, {
      runAsUser: 0,
      runAsGroup: 0,
      runAsNonRoot: false,
      readOnlyRootFilesystem: false,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
  });

  it('mounts the workload identity read-only in the proxy, and the SDS file that points Envoy at it', () => {
    assert.deepEqual(
      out.spec!.volumes!.find((v) => v.name === IDENTITY_VOLUME),
      { name: IDENTITY_VOLUME, secret: { secretName: identityCertificateName('checkout') } },
    );
    assert.deepEqual(proxy.volumeMounts, [
      { name: IDENTITY_VOLUME, mountPath: IDENTITY_DIR, readOnly: true },
      { name: PROXY_SDS_VOLUME, mountPath: PROXY_SDS_DIR, readOnly: true },
    ]);
    const sds = out.spec!.volumes!.find((v) => v.name === PROXY_SDS_VOLUME)!;
    const fieldPath = sds.downwardAPI!.items![0]!.fieldRef!.fieldPath;
    assert.equal(fieldPath, `metadata.annotations['${PROXY_SDS_ANNOTATION}']`);
    assert.deepEqual(JSON.parse(out.metadata!.annotations![PROXY_SDS_ANNOTATION]!), envoySdsSecret());
    assert.equal(out.spec!.containers[0]!.volumeMounts, undefined, 'the application does not see the key');
  });

  it('labels the pod with its service account and the mesh version, annotates what was injected and how to scrape it', () => {
    assert.deepEqual(out.metadata!.labels, {
      app: 'checkout',
      [SERVICE_ACCOUNT_LABEL]: 'checkout',
      [PROXY_VERSION_LABEL]: '1.1.0',
    });
    const annotations = out.metadata!.annotations!;
    assert.equal(annotations[INJECTED_ANNOTATION], 'Sidecar');
    assert.equal(annotations['prometheus.io/scrape'], 'true');
    assert.equal(annotations['prometheus.io/port'], '15090');
    assert.equal(annotations['prometheus.io/path'], '/stats/prometheus');
  });

  it("leaves the application's own scrape annotations alone, and adds none when the mesh says not to", () => {
    const own = injected(
      pod({ metadata: { annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '8080' } } }),
      mesh,
    );
    assert.equal(own.metadata!.annotations!['prometheus.io/port'], '8080');
    assert.equal(own.metadata!.annotations!['prometheus.io/path'], undefined);
    const none = injected(pod(), sidecarMesh({ observability: { metrics: { scrapeAnnotations: false } } }));
    assert.equal(none.metadata!.annotations!['prometheus.io/scrape'], undefined);
  });

  it('creates labels, annotations, initContainers and volumes when the pod has none, and appends when it has', () => {
    const bare: V1Pod = {
      metadata: { generateName: 'x-' },
      spec: { containers: [{ name: 'app', image: 'a' }] },
    };
    const paths = patchOf(inject(bare, { mesh, namespace: NS })).map((op) => op.path);
    assert.deepEqual(paths, [
      '/metadata/labels',
      '/metadata/annotations',
      '/spec/initContainers',
      '/spec/volumes',
    ]);
    const full = pod({
      metadata: { labels: { app: 'x' }, annotations: { note: 'y' } },
      spec: { initContainers: [{ name: 'i', image: 'i' }], volumes: [{ name: 'data', emptyDir: {} }] },
    });
    const fullPaths = patchOf(inject(full, { mesh, namespace: NS })).map((op) => op.path);
    assert.ok(fullPaths.includes('/spec/initContainers/0') && fullPaths.includes('/spec/initContainers/1'));
    assert.deepEqual(
      fullPaths.filter((p) => p.startsWith('/spec/volumes')),
      ['/spec/volumes/-', '/spec/volumes/-'],
    );
    assert.ok(fullPaths.includes(`/metadata/labels/${escapePointer(SERVICE_ACCOUNT_LABEL)}`));
    const applied = applyJsonPatch(full, patchOf(inject(full, { mesh, namespace: NS }))) as V1Pod;
    assert.deepEqual(
      applied.spec!.volumes!.map((v) => v.name),
      ['data', IDENTITY_VOLUME, PROXY_SDS_VOLUME],
    );
  });

  it('escapes "/" (and "~") in label and annotation keys as RFC 6901 asks', () => {
    assert.equal(escapePointer('meshwright.io/proxy-version'), 'meshwright.io~1proxy-version');
    assert.equal(escapePointer('a~b/c'), 'a~0b~1c');
    const annotated = pod({ metadata: { annotations: { 'example.com/a~b': 'x' } } });
    const paths = patchOf(inject(annotated, { mesh, namespace: NS })).map((op) => op.path);
    assert.ok(paths.includes('/metadata/labels/meshwright.io~1service-account'));
    assert.ok(paths.includes('/metadata/annotations/meshwright.io~1injected'));
  });

  it('uses the default service account when the pod names none', () => {
    const out = injected(pod({ spec: { serviceAccountName: undefined } }), mesh);
    assert.equal(out.metadata!.labels![SERVICE_ACCOUNT_LABEL], 'default');
    assert.equal(
      out.spec!.volumes!.find((v) => v.name === IDENTITY_VOLUME)!.secret!.secretName,
      identityCertificateName('default'),
    );
  });

  it('is a no-op on a pod it already injected, and gives equal patches for equal pods', () => {
    assertSkipped(
      inject(out, { mesh, namespace: NS }),
      /already injected \(meshwright\.io\/injected=Sidecar\)/,
    );
    assert.deepEqual(inject(pod(), { mesh, namespace: NS }), inject(pod(), { mesh, namespace: NS }));
  });
});

describe('inject: Proxyless mode', () => {
  const mesh = proxylessMesh();
  const twoContainers = pod({
    spec: {
      containers: [
        {
          name: 'app',
          image: 'shop/checkout:1',
          env: [
            { name: 'POD_IP', value: 'mine' },
            { name: 'LOG', value: 'debug' },
          ],
        },
        { name: 'worker', image: 'shop/worker:1' },
      ],
    },
  });
  const out = injected(twoContainers, mesh);

  it('adds no container: every application container gets the gRPC bootstrap and RBAC switch', () => {
    assert.equal(out.spec!.initContainers, undefined);
    assert.deepEqual(
      out.spec!.containers.map((c) => c.name),
      ['app', 'worker'],
    );
    for (const c of out.spec!.containers) {
      assert.equal(envValue(c, GRPC_ENV.rbac), 'true');
      const bootstrap = JSON.parse(
        expandVariables(envValue(c, GRPC_ENV.bootstrapConfig)!, POD_VARIABLES),
      ) as unknown;
      const info = grpcValidateBootstrap(bootstrap);
      assert.equal(info.xdsServers[0]!.server_uri, mesh.controlPlane.xdsPlaintextAddress);
      assert.equal(info.node.id, nodeId(POD_VARIABLES.POD_NAME, POD_VARIABLES.POD_NAMESPACE));
    }
  });

  it('adds the downward-API variables the bootstrap expands, after (and never over) those the container defines', () => {
    const [app, worker] = out.spec!.containers;
    assert.deepEqual(
      app!.env!.map((e) => e.name),
      ['POD_IP', 'LOG', 'POD_NAME', 'POD_NAMESPACE', GRPC_ENV.bootstrapConfig, GRPC_ENV.rbac],
    );
    assert.equal(envValue(app!, 'POD_IP'), 'mine');
    assert.deepEqual(
      worker!.env!.map((e) => [e.name, e.valueFrom?.fieldRef?.fieldPath ?? 'value']),
      [
        ['POD_NAME', 'metadata.name'],
        ['POD_NAMESPACE', 'metadata.namespace'],
        ['POD_IP', 'status.podIP'],
        [GRPC_ENV.bootstrapConfig, 'value'],
        [GRPC_ENV.rbac, 'value'],
      ],
    );
  });

  it('mounts the workload identity read-only in every container, where the bootstrap looks for it', () => {
    for (const c of out.spec!.containers) {
      assert.deepEqual(c.volumeMounts, [{ name: IDENTITY_VOLUME, mountPath: IDENTITY_DIR, readOnly: true }]);
    }
    assert.deepEqual(out.spec!.volumes, [
      { name: IDENTITY_VOLUME, secret: { secretName: identityCertificateName('checkout') } },
    ]);
  });

  it('labels and annotates the pod like Sidecar mode, without scrape annotations (there is no proxy to scrape)', () => {
    assert.equal(out.metadata!.labels![SERVICE_ACCOUNT_LABEL], 'checkout');
    assert.equal(out.metadata!.labels![PROXY_VERSION_LABEL], '1.1.0');
    assert.deepEqual(out.metadata!.annotations, { [INJECTED_ANNOTATION]: 'Proxyless' });
  });

  it('creates env and volumeMounts lists where a container has none, appends where it has', () => {
    const paths = patchOf(inject(twoContainers, { mesh, namespace: NS })).map((op) => op.path);
    assert.ok(paths.includes('/spec/containers/0/env/-'));
    assert.ok(paths.includes('/spec/containers/1/env'));
    assert.ok(paths.includes('/spec/containers/1/volumeMounts'));
  });

  it('is a no-op on a pod it already injected', () => {
    assertSkipped(
      inject(out, { mesh, namespace: NS }),
      /already injected \(meshwright\.io\/injected=Proxyless\)/,
    );
  });

  it('refuses a container that already mounts something where the identity goes', () => {
    const taken = pod({
      spec: {
        containers: [{ name: 'app', image: 'a', volumeMounts: [{ name: 'certs', mountPath: IDENTITY_DIR }] }],
      },
    });
    assertRefused(
      inject(taken, { mesh, namespace: NS }),
      /^spec\.containers\[0\]\.volumeMounts\[0\]\.mountPath: /,
    );
  });
});

describe('inject: skips and refusals (both modes)', () => {
  for (const mesh of [sidecarMesh(), proxylessMesh()]) {
    const mode = mesh.dataPlane.mode;
    const run = (p: V1Pod) => inject(p, { mesh, namespace: NS });

    it(`${mode}: leaves a pod opted out by label or annotation alone`, () => {
      assertSkipped(run(pod({ metadata: { labels: { 'meshwright.io/inject': 'disabled' } } })), /opted out/);
      assertSkipped(
        run(pod({ metadata: { annotations: { 'meshwright.io/inject': 'disabled' } } })),
        /opted out/,
      );
      assert.equal(run(pod({ metadata: { labels: { 'meshwright.io/inject': 'enabled' } } })).action, 'patch');
    });

    it(`${mode}: refuses a host-network pod, naming the field`, () => {
      assertRefused(
        run(pod({ spec: { hostNetwork: true } })),
        /^spec\.hostNetwork is true: a host-network pod cannot be meshed/,
      );
    });

    it(`${mode}: refuses a pod that has the injected containers or volumes but not the annotation`, () => {
      const asSidecar = pod({
        spec: { initContainers: [{ name: PROXY_CONTAINER, image: 'envoy', restartPolicy: 'Always' }] },
      });
      assertRefused(
        run(asSidecar),
        /^spec\.initContainers\[0\]\.name: the pod already has a container named meshwright-proxy/,
      );
      const asApp = pod({
        spec: {
          containers: [
            { name: 'app', image: 'a' },
            { name: INIT_CONTAINER, image: 'b' },
          ],
        },
      });
      assertRefused(run(asApp), /^spec\.containers\[1\]\.name: .*meshwright-init/);
      const volume = pod({ spec: { volumes: [{ name: IDENTITY_VOLUME, emptyDir: {} }] } });
      assertRefused(run(volume), /^spec\.volumes\[0\]\.name: .*meshwright-identity/);
    });
  }

  it('Sidecar: explains the iptables hazard of a host-network pod', () => {
    const result = inject(pod({ spec: { hostNetwork: true } }), { mesh: sidecarMesh(), namespace: NS });
    assertRefused(result, /traffic capture would rewrite the node's iptables/);
  });
});
