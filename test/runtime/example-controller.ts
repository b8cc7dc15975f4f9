/**
 * A tiny controller on the runtime, for the tests: every ConfigMap gets an owned Secret
 * (`<name>-copy`) with the same data, server-side applied. The Secret also carries, as an
 * annotation, the `example.meshwright.io/tier` label of the ConfigMap's Namespace, so a Namespace
 * label change re-enqueues every ConfigMap in it (a `watches` mapping).
 *
 * It writes only when the Secret in the cache differs from the desired one in the fields it owns,
 * so a steady state costs no writes at all.
 */
import { isDeepStrictEqual } from 'node:util';
import {
  controllerRef,
  keyOf,
  labelsChanged,
  splitKey,
  type Controller,
  type Informer,
  type KubeObject,
  type Manager,
  type ResourceType,
} from '../../operator/runtime/index.js';

export const TIER_LABEL = 'example.meshwright.io/tier';
export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'meshwright-example' };

const ConfigMaps: ResourceType = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  plural: 'configmaps',
  namespaced: true,
};
const Secrets: ResourceType = { apiVersion: 'v1', kind: 'Secret', plural: 'secrets', namespaced: true };
const Namespaces: ResourceType = {
  apiVersion: 'v1',
  kind: 'Namespace',
  plural: 'namespaces',
  namespaced: false,
};

export interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}
export interface Secret extends KubeObject {
  type?: string;
  data?: Record<string, string>;
}

export const secretName = (cm: string): string => `${cm}-copy`;

/** The desired Secret: a pure function of the ConfigMap and its Namespace's tier. */
export function desiredSecret(cm: ConfigMap, tier: string | undefined): Secret {
  const data: Record<string, string> = {};
  for (const [k, v] of Object.entries(cm.data ?? {})) data[k] = Buffer.from(v).toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: secretName(cm.metadata!.name!),
      namespace: cm.metadata!.namespace!,
      labels: { ...MANAGED_BY },
      ...(tier ? { annotations: { [TIER_LABEL]: tier } } : {}),
      ownerReferences: [controllerRef(cm)],
    },
    type: 'Opaque',
    data,
  };
}

/** True when `actual` already has every field `desired` sets (the fields this controller owns). */
export function upToDate(actual: Secret | undefined, desired: Secret): boolean {
  if (!actual) return false;
  const am = actual.metadata ?? {};
  const dm = desired.metadata!;
  const subset = (a: Record<string, string> | undefined, d: Record<string, string> | undefined): boolean =>
    Object.entries(d ?? {}).every(([k, v]) => a?.[k] === v);
  return (
    actual.type === desired.type &&
    isDeepStrictEqual(actual.data ?? {}, desired.data ?? {}) &&
    subset(am.labels, dm.labels) &&
    subset(am.annotations, dm.annotations) &&
    // an annotation we set before and no longer want must go
    (dm.annotations?.[TIER_LABEL] !== undefined || am.annotations?.[TIER_LABEL] === undefined) &&
    (dm.ownerReferences ?? []).every((d) =>
      (am.ownerReferences ?? []).some((a) => a.uid === d.uid && a.controller),
    )
  );
}

export interface ExampleController {
  controller: Controller;
  configMaps: Informer<ConfigMap>;
  secrets: Informer<Secret>;
  namespaces: Informer;
  /** Reconciles run and applies sent, for assertions. */
  stats: { reconciles: number; applies: number };
}

export function addExampleController(
  mgr: Manager,
  o: { namespace?: string; name?: string } = {},
): ExampleController {
  const scope = o.namespace ? { namespace: o.namespace } : {};
  const configMaps = mgr.informer<ConfigMap>(ConfigMaps, scope);
  const secrets = mgr.informer<Secret>(Secrets, {
    ...scope,
    labelSelector: Object.entries(MANAGED_BY)
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
  });
  const namespaces = mgr.informer(
    Namespaces,
    o.namespace ? { fieldSelector: `metadata.name=${o.namespace}` } : {},
  );
  const stats = { reconciles: 0, applies: 0 };

  const controller = mgr
    .controller({
      name: o.name ?? 'configmap-secret',
      workers: 2,
      reconcile: async (key, ctx) => {
        stats.reconciles++;
        const cm = configMaps.get(key);
        if (!cm || cm.metadata?.deletionTimestamp) return; // the Secret goes with it (ownerReference)
        const { namespace } = splitKey(key);
        const tier = namespaces.get(namespace!)?.metadata?.labels?.[TIER_LABEL];
        const desired = desiredSecret(cm, tier);
        const current = secrets.get(`${namespace}/${desired.metadata!.name!}`);
        if (upToDate(current, desired)) return;
        // (a field no longer sent, e.g. the tier annotation, is removed by server-side apply: we own it)
        stats.applies++;
        await mgr.kube.apply(desired, { fieldManager: 'meshwright-example' });
        ctx.log.info({ secret: desired.metadata!.name }, 'applied the Secret');
        mgr.events.event(cm, 'Normal', 'SecretApplied', `Secret ${desired.metadata!.name} is up to date`);
      },
    })
    .for(configMaps)
    .owns(secrets, { apiVersion: 'v1', kind: 'ConfigMap' })
    .watches(
      namespaces,
      (ns) => configMaps.list({ namespace: ns.metadata!.name! }).map(keyOf),
      labelsChanged,
    );
  mgr.add(controller);
  return { controller, configMaps, secrets, namespaces, stats };
}
