import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import type {
  V1ClusterRole,
  V1ClusterRoleBinding,
  V1Container,
  V1Deployment,
  V1MutatingWebhookConfiguration,
} from '@kubernetes/client-node';
import {
  Certificate,
  type ICertificate,
} from '@kubernetes-models/cert-manager/cert-manager.io/v1/Certificate';
import {
  ClusterIssuer,
  type IClusterIssuer,
} from '@kubernetes-models/cert-manager/cert-manager.io/v1/ClusterIssuer';
import { Issuer, type IIssuer } from '@kubernetes-models/cert-manager/cert-manager.io/v1/Issuer';
import { parse } from 'yaml';
import { isDNS1123Label, isLabelValue } from '../runtime/names.js';
import {
  certManagerObjects,
  clusterRole,
  clusterRoleBinding,
  controlPlaneDeployment,
  nodeHeapOptions,
  quantityBytes,
  controlPlanePDB,
  controlPlaneService,
  desiredChildren,
  injectorWebhook,
  isCreateOnly,
  meshConfigChecksum,
  meshConfigMap,
  namespace,
  privateKey,
  rootCertificate,
  rootCommonName,
  servingCertificate,
  type DesiredObject,
} from './desired.js';
import { meshInstallation } from './fixtures.test.js';
import * as names from './names.js';

const UID = '6f1c2a8e-0000-4000-8000-000000000001';

const container = (d: V1Deployment): V1Container => d.spec!.template.spec!.containers[0]!;
const find = <T = DesiredObject>(objects: DesiredObject[], kind: string, name?: string): T => {
  const found = objects.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  assert.ok(found, `${kind} ${name ?? ''} is among the children`);
  return found as T;
};
const kinds = (objects: DesiredObject[]) => objects.map((o) => o.kind);

describe('names', () => {
  it('names every child after the installation, as a DNS-1123 label', () => {
    const mi = meshInstallation();
    assert.equal(names.controlPlane(mi), 'meshwright-default-control-plane');
    assert.equal(names.meshConfig(mi), 'meshwright-default-mesh');
    assert.equal(names.clusterRole(mi), 'meshwright-default-control-plane');
    assert.equal(names.injectorWebhook(mi), 'meshwright-default-injector');
    assert.equal(names.selfSignedIssuer(mi), 'meshwright-default-selfsigned');
    assert.equal(names.rootCertificate(mi), 'meshwright-default-root-ca');
    assert.equal(names.rootSecret(mi), 'meshwright-default-root-ca-tls');
    assert.equal(names.caIssuer(mi), 'meshwright-default-ca');
    assert.equal(names.servingCertificate(mi), 'meshwright-default-serving');
    assert.equal(names.servingSecret(mi), 'meshwright-default-serving-tls');
  });

  it('caps names at 63 characters with a hash, keeping them valid and distinct, for a 253-character installation name', () => {
    const long = `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(70)}`;
    const mi = meshInstallation({ name: long });
    const all = [
      names.controlPlane(mi),
      names.meshConfig(mi),
      names.injectorWebhook(mi),
      names.selfSignedIssuer(mi),
      names.rootCertificate(mi),
      names.rootSecret(mi),
      names.caIssuer(mi),
      names.servingCertificate(mi),
      names.servingSecret(mi),
    ];
    for (const n of all) assert.ok(isDNS1123Label(n), `${n} is a DNS-1123 label`);
    assert.equal(new Set(all).size, all.length);
    assert.ok(isLabelValue(names.ownerLabelValue(mi)));
    for (const child of desiredChildren(mi)) {
      for (const value of Object.values(child.metadata.labels)) assert.ok(isLabelValue(value), value);
    }
  });

  it('gives two installations different cluster-scoped names even when they share a namespace', () => {
    const a = desiredChildren(meshInstallation({ name: 'a' })).filter(
      (o) => o.metadata.namespace === undefined,
    );
    const b = desiredChildren(meshInstallation({ name: 'b' })).filter(
      (o) => o.metadata.namespace === undefined,
    );
    const aNames = new Set(
      a.filter((o) => o.kind !== 'Namespace').map((o) => `${o.kind}/${o.metadata.name}`),
    );
    for (const o of b.filter((x) => x.kind !== 'Namespace'))
      assert.ok(!aNames.has(`${o.kind}/${o.metadata.name}`));
  });
});

describe('desiredChildren', () => {
  it('builds the whole mesh with the bootstrap CA, in apply order, the webhook last', () => {
    assert.deepEqual(kinds(desiredChildren(meshInstallation())), [
      'Namespace',
      'ServiceAccount',
      'ClusterRole',
      'ClusterRoleBinding',
      'ConfigMap',
      'Issuer',
      'Certificate',
      'ClusterIssuer',
      'Certificate',
      'Service',
      'Deployment',
      'PodDisruptionBudget',
      'MutatingWebhookConfiguration',
    ]);
  });

  it('gives every child but the Namespace one controller ownerReference to the installation', () => {
    for (const child of desiredChildren(meshInstallation())) {
      if (child.kind === 'Namespace') continue;
      assert.deepEqual(child.metadata.ownerReferences, [
        {
          apiVersion: 'mesh.meshwright.io/v1alpha1',
          kind: 'MeshInstallation',
          name: 'default',
          uid: UID,
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
      assert.equal(isCreateOnly(child), false);
    }
  });

  it('leaves the Namespace unowned, so it is create-only and never deleted with the installation', () => {
    const ns = namespace(meshInstallation({ spec: { namespace: 'mesh' } }));
    assert.equal(ns.metadata.name, 'mesh');
    assert.equal(ns.metadata.ownerReferences, undefined);
    assert.equal(isCreateOnly(ns), true);
    assert.equal(ns.metadata.labels[names.LABELS.managedBy], 'meshwright');
  });

  it('labels every child with manager, name, component, version and owner', () => {
    const mi = meshInstallation({ spec: { version: '1.0.0' } });
    for (const child of desiredChildren(mi)) {
      const l = child.metadata.labels;
      assert.equal(l['app.kubernetes.io/managed-by'], 'meshwright', child.kind);
      assert.equal(l['app.kubernetes.io/name'], 'meshwright', child.kind);
      assert.equal(l['app.kubernetes.io/version'], '1.0.0', child.kind);
      assert.equal(l['meshwright.io/owner'], 'default', child.kind);
      assert.ok(l['app.kubernetes.io/component'], child.kind);
    }
  });

  it('puts namespaced children in the control-plane namespace and the CA in cert-manager’s', () => {
    const mi = meshInstallation({ spec: { namespace: 'mesh' } });
    const children = desiredChildren(mi, { certManagerNamespace: 'security' });
    const where = (kind: string, name: string) => find(children, kind, name).metadata.namespace;
    assert.equal(where('Issuer', names.selfSignedIssuer(mi)), 'security');
    assert.equal(where('Certificate', names.rootCertificate(mi)), 'security');
    assert.equal(where('Certificate', names.servingCertificate(mi)), 'mesh');
    for (const kind of ['ServiceAccount', 'ConfigMap', 'Service', 'Deployment', 'PodDisruptionBudget']) {
      assert.equal(find(children, kind).metadata.namespace, 'mesh', kind);
    }
    for (const kind of [
      'Namespace',
      'ClusterRole',
      'ClusterRoleBinding',
      'ClusterIssuer',
      'MutatingWebhookConfiguration',
    ]) {
      assert.equal(find(children, kind).metadata.namespace, undefined, kind);
    }
  });

  it('is deterministic: two builds are deep-equal, and plain JSON (no undefined, no class instances)', () => {
    const mi = meshInstallation({
      spec: { observability: { tracing: { enabled: true, collectorAddress: 'zipkin.tracing:9411' } } },
    });
    const first = desiredChildren(mi);
    assert.deepEqual(desiredChildren(mi), first);
    assert.deepEqual(JSON.parse(JSON.stringify(first)), first);
  });

  it('omits the PodDisruptionBudget with a single replica', () => {
    const mi = meshInstallation({ spec: { controlPlane: { replicas: 1 } } });
    assert.equal(controlPlanePDB(mi), undefined);
    assert.ok(!kinds(desiredChildren(mi)).includes('PodDisruptionBudget'));
  });
});

describe('RBAC', () => {
  it('grants the control plane exactly what it needs, and nothing on secrets or wildcards', () => {
    const role: V1ClusterRole = clusterRole(meshInstallation());
    const grants = role.rules!.flatMap((r) =>
      r.apiGroups!.flatMap((g) => r.resources!.flatMap((res) => r.verbs.map((v) => `${g}/${res}:${v}`))),
    );
    const read = (gr: string) => ['get', 'list', 'watch'].map((v) => `${gr}:${v}`);
    assert.deepEqual(
      grants.sort(),
      [
        ...read('/namespaces'),
        ...read('/pods'),
        ...read('/serviceaccounts'),
        ...read('/services'),
        ...read('discovery.k8s.io/endpointslices'),
        ...read('mesh.meshwright.io/servicepolicies'),
        'mesh.meshwright.io/servicepolicies:patch',
        ...read('mesh.meshwright.io/trafficsplits'),
        ...['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'].map(
          (v) => `cert-manager.io/certificates:${v}`,
        ),
        ...['create', 'get', 'update'].map((v) => `coordination.k8s.io/leases:${v}`),
        '/events:create',
        '/events:patch',
        'events.k8s.io/events:create',
        'events.k8s.io/events:patch',
      ].sort(),
    );
    assert.ok(!grants.some((g) => g.includes('*') || g.includes('secrets')));
  });

  it('binds the ClusterRole to the control plane’s ServiceAccount in its namespace', () => {
    const mi = meshInstallation({ spec: { namespace: 'mesh' } });
    const binding: V1ClusterRoleBinding = clusterRoleBinding(mi);
    assert.deepEqual(binding.roleRef, {
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: names.clusterRole(mi),
    });
    assert.deepEqual(binding.subjects, [
      { kind: 'ServiceAccount', name: names.controlPlane(mi), namespace: 'mesh' },
    ]);
  });
});

describe('mesh ConfigMap', () => {
  interface MeshConfig {
    trustDomain: string;
    meshVersion: string;
    controlPlane: { xdsAddress: string; xdsPlaintextAddress: string };
    mtls: Record<string, unknown>;
    dataPlane: Record<string, unknown> & { proxy: Record<string, unknown> };
    observability: Record<string, unknown>;
  }
  const config = (mi = meshInstallation()) =>
    parse(meshConfigMap(mi).data![names.MESH_CONFIG_KEY]!) as MeshConfig;

  it('carries what the control plane reads, with defaults', () => {
    const c = config();
    assert.equal(c.trustDomain, 'cluster.local');
    assert.equal(c.meshVersion, '1.1.0');
    assert.deepEqual(c.mtls, {
      mode: 'Strict',
      keyAlgorithm: 'ECDSAP256',
      workloadCertificate: { duration: '24h', renewBefore: '8h' },
      issuerRef: { name: 'meshwright-default-ca', kind: 'ClusterIssuer', group: 'cert-manager.io' },
    });
    assert.deepEqual(c.dataPlane, {
      mode: 'Sidecar',
      defaultInboundPolicy: 'AllowAuthenticated',
      namespaceSelector: { matchLabels: { 'meshwright.io/inject': 'enabled' } },
      proxy: {
        image: 'envoyproxy/envoy:v1.32.3',
        logLevel: 'warn',
        resources: { requests: { cpu: '10m', memory: '40Mi' }, limits: { memory: '256Mi' } },
      },
    });
    assert.equal(c.controlPlane.xdsAddress, 'meshwright-default-control-plane.meshwright-system.svc:15012');
    assert.equal(
      c.controlPlane.xdsPlaintextAddress,
      'meshwright-default-control-plane.meshwright-system.svc:15010',
    );
    assert.deepEqual(c.observability, {
      metrics: { enabled: true, port: 15090, scrapeAnnotations: true },
      accessLogs: { enabled: false, format: 'JSON' },
      tracing: { enabled: false, samplingPercentage: 1 },
    });
  });

  it('follows the spec: mTLS mode, trust domain, proxy settings, tracing, the user’s issuer', () => {
    const c = config(
      meshInstallation({
        spec: {
          version: '1.0.0',
          dataPlane: {
            mode: 'Proxyless',
            defaultInboundPolicy: 'Deny',
            proxy: { image: 'mirror/envoy:1', logLevel: 'debug' },
          },
          mtls: {
            mode: 'Permissive',
            trustDomain: 'corp.example',
            issuer: { issuerRef: { name: 'corp-ca', kind: 'Issuer' } },
          },
          observability: {
            accessLogs: { enabled: true, format: 'Text' },
            tracing: { enabled: true, collectorAddress: 'zipkin.tracing:9411', samplingPercentage: 5 },
          },
        },
      }),
    );
    assert.equal(c.trustDomain, 'corp.example');
    assert.equal(c.mtls.mode, 'Permissive');
    assert.deepEqual(c.mtls.issuerRef, { name: 'corp-ca', kind: 'Issuer', group: 'cert-manager.io' });
    assert.equal(c.dataPlane.mode, 'Proxyless');
    assert.equal(c.dataPlane.defaultInboundPolicy, 'Deny');
    assert.deepEqual(c.dataPlane.proxy.image, 'mirror/envoy:1');
    assert.deepEqual(c.observability.accessLogs, { enabled: true, format: 'Text' });
    assert.deepEqual(c.observability.tracing, {
      enabled: true,
      collectorAddress: 'zipkin.tracing:9411',
      samplingPercentage: 5,
    });
  });
});

describe('control-plane Deployment', () => {
  it('runs the version’s image with the spec’s replicas, resources and log level', () => {
    const mi = meshInstallation({
      spec: {
        version: '1.0.0',
        controlPlane: { replicas: 3, logLevel: 'debug', resources: { requests: { cpu: 1, memory: '1Gi' } } },
      },
    });
    const d = controlPlaneDeployment(mi);
    const c = container(d);
    assert.equal(d.spec!.replicas, 3);
    assert.equal(c.image, 'quay.io/meshwright/meshwright:v1.0.0');
    assert.deepEqual(c.resources, { requests: { cpu: '1', memory: '1Gi' } });
    assert.equal(c.args![0], 'control-plane');
    assert.ok(c.args!.includes('--log-level=debug'));
  });

  it('takes the image from the spec override first, then deps.image, then the version table', () => {
    const deps = { image: { controlPlane: 'dev/meshwright:local', proxy: 'dev/envoy:local' } };
    assert.equal(container(controlPlaneDeployment(meshInstallation(), deps)).image, 'dev/meshwright:local');
    const overridden = meshInstallation({ spec: { controlPlane: { image: 'mirror/meshwright:v1' } } });
    assert.equal(container(controlPlaneDeployment(overridden, deps)).image, 'mirror/meshwright:v1');
    assert.equal(
      container(controlPlaneDeployment(meshInstallation())).image,
      'quay.io/meshwright/meshwright:v1.1.0',
    );
  });

  it('runs non-root, read-only, without privileges, capabilities or escalation, under RuntimeDefault seccomp', () => {
    const d = controlPlaneDeployment(meshInstallation());
    const pod = d.spec!.template.spec!;
    assert.equal(pod.securityContext!.runAsNonRoot, true);
    assert.equal(pod.securityContext!.runAsUser, 65532);
    assert.deepEqual(pod.securityContext!.seccompProfile, { type: 'RuntimeDefault' });
    const sc = container(d).securityContext!;
    assert.equal(sc.runAsNonRoot, true);
    assert.equal(sc.runAsUser, 65532);
    assert.equal(sc.allowPrivilegeEscalation, false);
    assert.equal(sc.readOnlyRootFilesystem, true);
    assert.equal(sc.privileged, false);
    assert.deepEqual(sc.capabilities, { drop: ['ALL'] });
    assert.deepEqual(sc.seccompProfile, { type: 'RuntimeDefault' });
    assert.ok(
      container(d).volumeMounts!.some((m) => m.mountPath === '/tmp'),
      'a writable /tmp',
    );
  });

  it('reads the API as its own ServiceAccount and knows its namespace', () => {
    const mi = meshInstallation();
    const d = controlPlaneDeployment(mi);
    assert.equal(d.spec!.template.spec!.serviceAccountName, names.controlPlane(mi));
    assert.equal(d.spec!.template.spec!.automountServiceAccountToken, true);
    assert.deepEqual(container(d).env!.find((e) => e.name === 'POD_NAMESPACE')?.valueFrom, {
      fieldRef: { fieldPath: 'metadata.namespace' },
    });
  });

  it('exposes xDS 15012 (mTLS) and 15010 (plaintext), webhook 15017, metrics 15014 and probes the health port', () => {
    const c = container(controlPlaneDeployment(meshInstallation()));
    assert.deepEqual(
      c.ports!.map((p) => [p.name, p.containerPort]),
      [
        ['xds', 15012],
        ['xds-plaintext', 15010],
        ['webhook', 15017],
        ['metrics', 15014],
        ['health', 15021],
      ],
    );
    assert.deepEqual(c.readinessProbe!.httpGet, { path: '/readyz', port: 'health' });
    assert.deepEqual(c.livenessProbe!.httpGet, { path: '/healthz', port: 'health' });
  });

  it('mounts the serving certificate Secret and the mesh ConfigMap read-only', () => {
    const mi = meshInstallation();
    const d = controlPlaneDeployment(mi);
    const volumes = d.spec!.template.spec!.volumes!;
    const mounts = container(d).volumeMounts!;
    const tls = volumes.find((v) => v.secret?.secretName === names.servingSecret(mi));
    const config = volumes.find((v) => v.configMap?.name === names.meshConfig(mi));
    assert.ok(tls && config);
    assert.deepEqual(
      mounts.find((m) => m.name === tls.name),
      { name: tls.name, mountPath: names.TLS_DIR, readOnly: true },
    );
    assert.deepEqual(
      mounts.find((m) => m.name === config.name),
      {
        name: config.name,
        mountPath: names.MESH_CONFIG_DIR,
        readOnly: true,
      },
    );
  });

  it('annotates the pods with the checksum of mesh.yaml: a config change rolls them, a replica change does not', () => {
    const mi = meshInstallation();
    const checksum = (m = mi) =>
      controlPlaneDeployment(m).spec!.template.metadata!.annotations![names.ANNOTATIONS.configChecksum];
    const text = meshConfigMap(mi).data![names.MESH_CONFIG_KEY]!;
    assert.equal(checksum(), createHash('sha256').update(text).digest('hex'));
    assert.equal(checksum(), meshConfigChecksum(mi));
    assert.notEqual(checksum(meshInstallation({ spec: { mtls: { mode: 'Permissive' } } })), checksum());
    assert.equal(checksum(meshInstallation({ spec: { controlPlane: { replicas: 4 } } })), checksum());
  });

  it('selects its pods by labels that never change with the version, and never loses a replica while rolling', () => {
    const mi = meshInstallation();
    const d = controlPlaneDeployment(mi);
    const selector = d.spec!.selector.matchLabels!;
    assert.equal(selector['app.kubernetes.io/version'], undefined);
    assert.deepEqual(
      selector,
      controlPlaneDeployment(meshInstallation({ spec: { version: '1.0.0' } })).spec!.selector.matchLabels,
    );
    for (const [k, v] of Object.entries(selector)) assert.equal(d.spec!.template.metadata!.labels![k], v);
    assert.deepEqual(d.spec!.strategy, {
      type: 'RollingUpdate',
      rollingUpdate: { maxUnavailable: 0, maxSurge: 1 },
    });
  });

  it('prefers spreading replicas across nodes and zones', () => {
    const pod = controlPlaneDeployment(meshInstallation()).spec!.template.spec!;
    const anti = pod.affinity!.podAntiAffinity!.preferredDuringSchedulingIgnoredDuringExecution![0]!;
    assert.equal(anti.podAffinityTerm.topologyKey, 'kubernetes.io/hostname');
    assert.equal(pod.affinity!.podAntiAffinity!.requiredDuringSchedulingIgnoredDuringExecution, undefined);
    assert.deepEqual(
      pod.topologySpreadConstraints!.map((t) => [t.topologyKey, t.whenUnsatisfiable]),
      [['topology.kubernetes.io/zone', 'ScheduleAnyway']],
    );
  });

  it('adds Prometheus scrape annotations only when scrapeAnnotations is on', () => {
    const on = controlPlaneDeployment(meshInstallation()).spec!.template.metadata!.annotations!;
    assert.equal(on['prometheus.io/port'], '15014');
    const off = controlPlaneDeployment(
      meshInstallation({ spec: { observability: { metrics: { scrapeAnnotations: false } } } }),
    ).spec!.template.metadata!.annotations!;
    assert.equal(off['prometheus.io/scrape'], undefined);
  });
});

describe('Service and PodDisruptionBudget', () => {
  it('serves xds, webhook and metrics on the container ports, selecting the control-plane pods', () => {
    const mi = meshInstallation();
    const svc = controlPlaneService(mi);
    const podLabels = controlPlaneDeployment(mi).spec!.template.metadata!.labels!;
    assert.deepEqual(
      svc.spec!.ports!.map((p) => [p.name, p.port, p.targetPort]),
      [
        ['xds', 15012, 'xds'],
        ['xds-plaintext', 15010, 'xds-plaintext'],
        ['webhook', 15017, 'webhook'],
        ['metrics', 15014, 'metrics'],
      ],
    );
    for (const [k, v] of Object.entries(svc.spec!.selector!)) assert.equal(podLabels[k], v);
  });

  it('keeps one replica through voluntary disruptions when there are two or more', () => {
    const pdb = controlPlanePDB(meshInstallation())!;
    assert.equal(pdb.spec!.minAvailable, 1);
    assert.deepEqual(pdb.spec!.selector!.matchLabels, names.controlPlaneSelector(meshInstallation()));
  });
});

describe('injection webhook', () => {
  const webhookOf = (w: V1MutatingWebhookConfiguration) => w.webhooks![0]!;

  it('registers one fail-closed webhook for pod CREATE, called on the Service at /inject:15017', () => {
    const mi = meshInstallation({ spec: { namespace: 'mesh' } });
    const w = webhookOf(injectorWebhook(mi));
    assert.equal(w.name, 'inject.meshwright.io');
    assert.equal(w.failurePolicy, 'Fail');
    assert.equal(w.sideEffects, 'None');
    assert.deepEqual(w.admissionReviewVersions, ['v1']);
    assert.equal(w.timeoutSeconds, 10);
    assert.equal(w.reinvocationPolicy, 'IfNeeded');
    assert.deepEqual(w.rules, [
      {
        operations: ['CREATE'],
        apiGroups: [''],
        apiVersions: ['v1'],
        resources: ['pods'],
        scope: 'Namespaced',
      },
    ]);
    assert.deepEqual(w.clientConfig, {
      service: { name: names.controlPlane(mi), namespace: 'mesh', path: '/inject', port: 15017 },
    });
  });

  it('leaves caBundle to cert-manager’s CA injector, pointed at the serving certificate', () => {
    const mi = meshInstallation({ spec: { namespace: 'mesh' } });
    const config = injectorWebhook(mi);
    assert.equal(webhookOf(config).clientConfig.caBundle, undefined);
    assert.equal(
      config.metadata.annotations!['cert-manager.io/inject-ca-from'],
      `mesh/${names.servingCertificate(mi)}`,
    );
  });

  it('selects member namespaces by the spec’s selector, minus the namespaces the mesh depends on', () => {
    const mi = meshInstallation({ spec: { namespace: 'mesh' } });
    assert.deepEqual(webhookOf(injectorWebhook(mi, { certManagerNamespace: 'security' })).namespaceSelector, {
      matchLabels: { 'meshwright.io/inject': 'enabled' },
      matchExpressions: [
        {
          key: 'kubernetes.io/metadata.name',
          operator: 'NotIn',
          values: ['kube-node-lease', 'kube-public', 'kube-system', 'mesh', 'security'],
        },
      ],
    });
  });

  it('keeps the user’s matchExpressions and excludes namespaces an older installation owns', () => {
    const mi = meshInstallation({
      spec: {
        dataPlane: {
          namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'In', values: ['shop'] }] },
        },
      },
    });
    const selector = webhookOf(injectorWebhook(mi, { excludeNamespaces: ['legacy'] })).namespaceSelector!;
    assert.equal(selector.matchLabels, undefined);
    assert.deepEqual(selector.matchExpressions![0], { key: 'team', operator: 'In', values: ['shop'] });
    assert.ok(selector.matchExpressions![1]!.values!.includes('legacy'));
  });

  it('skips pods labelled meshwright.io/inject=disabled', () => {
    assert.deepEqual(webhookOf(injectorWebhook(meshInstallation())).objectSelector, {
      matchExpressions: [{ key: 'meshwright.io/inject', operator: 'NotIn', values: ['disabled'] }],
    });
  });
});

describe('cert-manager objects', () => {
  const validate = (o: DesiredObject) => {
    if (o.kind === 'Certificate') new Certificate(o).validate();
    else if (o.kind === 'Issuer') new Issuer(o as IIssuer).validate();
    else if (o.kind === 'ClusterIssuer') new ClusterIssuer(o as IClusterIssuer).validate();
    else assert.fail(`unexpected ${o.kind}`);
  };

  it('bootstraps self-signed Issuer → root CA Certificate → CA ClusterIssuer, all valid against the CRD schemas', () => {
    const mi = meshInstallation();
    const objects = certManagerObjects(mi);
    assert.deepEqual(
      objects.map((o) => `${o.kind}/${o.metadata.name}`),
      [
        'Issuer/meshwright-default-selfsigned',
        'Certificate/meshwright-default-root-ca',
        'ClusterIssuer/meshwright-default-ca',
        'Certificate/meshwright-default-serving',
      ],
    );
    for (const o of objects) validate(o);
    assert.deepEqual((objects[0] as IIssuer).spec, { selfSigned: {} });
    assert.deepEqual((objects[2] as IClusterIssuer).spec, { ca: { secretName: names.rootSecret(mi) } });
  });

  it('makes the root a long-lived CA with a fresh key on every renewal', () => {
    const mi = meshInstallation({ spec: { mtls: { issuer: { bootstrap: { caDuration: '43800h' } } } } });
    const root = rootCertificate(mi).spec!;
    assert.equal(root.isCA, true);
    assert.equal(root.commonName, 'cluster.local Meshwright root CA');
    assert.equal(root.duration, '43800h');
    assert.deepEqual(root.privateKey, { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' });
    assert.equal(root.secretName, names.rootSecret(mi));
    assert.deepEqual(root.issuerRef, {
      name: names.selfSignedIssuer(mi),
      kind: 'Issuer',
      group: 'cert-manager.io',
    });
    assert.deepEqual(root.uris, ['spiffe://cluster.local']);
    assert.equal(root.secretTemplate!.labels!['meshwright.io/owner'], 'default');
  });

  it('keeps the root common name within 64 characters for a long trust domain', () => {
    const long = `${'a'.repeat(50)}.example`;
    assert.equal(rootCommonName(long), 'Meshwright root CA');
    assert.ok(rootCommonName('cluster.local').length <= 64);
    validate(rootCertificate(meshInstallation({ spec: { mtls: { trustDomain: long } } })));
  });

  it('maps every keyAlgorithm to cert-manager’s privateKey', () => {
    assert.deepEqual(privateKey('ECDSAP256'), { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' });
    assert.deepEqual(privateKey('ECDSAP384'), { algorithm: 'ECDSA', size: 384, rotationPolicy: 'Always' });
    assert.deepEqual(privateKey('RSA2048'), { algorithm: 'RSA', size: 2048, rotationPolicy: 'Always' });
    assert.deepEqual(privateKey('RSA4096'), { algorithm: 'RSA', size: 4096, rotationPolicy: 'Always' });
    assert.deepEqual(privateKey('Ed25519'), { algorithm: 'Ed25519', rotationPolicy: 'Always' });
    for (const keyAlgorithm of ['RSA4096', 'Ed25519'] as const) {
      for (const o of certManagerObjects(meshInstallation({ spec: { mtls: { keyAlgorithm } } }))) validate(o);
    }
  });

  it('issues the serving certificate for the Service DNS names from the mesh CA', () => {
    const mi = meshInstallation({ spec: { namespace: 'mesh', mtls: { keyAlgorithm: 'RSA2048' } } });
    const spec = servingCertificate(mi).spec!;
    const svc = names.controlPlane(mi);
    assert.deepEqual(spec.dnsNames, [`${svc}.mesh.svc`, `${svc}.mesh.svc.cluster.local`]);
    assert.deepEqual(spec.uris, [`spiffe://cluster.local/ns/mesh/sa/${svc}`]);
    assert.equal(spec.duration, '2160h');
    assert.equal(spec.renewBefore, '360h');
    assert.ok(spec.usages!.includes('server auth'));
    assert.deepEqual(spec.privateKey, { algorithm: 'RSA', size: 2048, rotationPolicy: 'Always' });
    assert.equal(spec.secretName, names.servingSecret(mi));
    assert.deepEqual(spec.issuerRef, {
      name: names.caIssuer(mi),
      kind: 'ClusterIssuer',
      group: 'cert-manager.io',
    });
  });

  it('with issuerRef, creates no bootstrap CA and has the user’s issuer sign the serving certificate', () => {
    const mi = meshInstallation({
      spec: {
        mtls: { issuer: { issuerRef: { name: 'corp-ca', kind: 'Issuer', group: 'awspca.cert-manager.io' } } },
      },
    });
    const children = desiredChildren(mi);
    assert.ok(!kinds(children).includes('Issuer'));
    assert.ok(!kinds(children).includes('ClusterIssuer'));
    const certificates = children.filter((o) => o.kind === 'Certificate') as ICertificate[];
    assert.deepEqual(
      certificates.map((c) => c.metadata!.name),
      [names.servingCertificate(mi)],
    );
    assert.deepEqual(certificates[0]!.spec!.issuerRef, {
      name: 'corp-ca',
      kind: 'Issuer',
      group: 'awspca.cert-manager.io',
    });
    validate(certificates[0] as DesiredObject);
  });
});

describe('the control plane heap follows its memory limit', () => {
  it('reads memory quantities', () => {
    assert.equal(quantityBytes('512Mi'), 512 * 2 ** 20);
    assert.equal(quantityBytes('1G'), 1e9);
    assert.equal(quantityBytes('268435456'), 268435456);
    assert.equal(quantityBytes('1e9'), 1e9);
    assert.equal(quantityBytes('lots'), undefined);
  });

  it('gives V8 half the limit (at least 64 MiB), and nothing without a limit', () => {
    assert.equal(nodeHeapOptions('512Mi'), '--max-old-space-size=256');
    assert.equal(nodeHeapOptions('2Gi'), '--max-old-space-size=1024');
    assert.equal(nodeHeapOptions('64Mi'), '--max-old-space-size=64');
    assert.equal(nodeHeapOptions(undefined), undefined);
  });

  it('sets NODE_OPTIONS on the control plane from spec.controlPlane.resources.limits.memory', () => {
    const env = (mi: ReturnType<typeof meshInstallation>) =>
      controlPlaneDeployment(mi).spec!.template.spec!.containers[0]!.env!.find(
        (e) => e.name === 'NODE_OPTIONS',
      );
    assert.equal(env(meshInstallation())?.value, '--max-old-space-size=256');
    const unlimited = meshInstallation({
      spec: { controlPlane: { resources: { requests: { memory: '128Mi' } } } },
    });
    assert.equal(env(unlimited), undefined);
  });
});
