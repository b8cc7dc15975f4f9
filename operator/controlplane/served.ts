/**
 * Tells the operator which generation of each ServicePolicy the control plane serves: after every
 * publish, the leader writes `meshwright.io/served-generation` on the policies whose served
 * generation moved. The operator's `Programmed` condition waits for it (operator/servicepolicy).
 *
 * Frugal and safe with several replicas:
 * - a policy is written only when the annotation differs from what is served, so a steady state
 *   writes nothing;
 * - only forward: the annotation never goes back to an older generation, so a replica whose caches
 *   lag cannot undo what a faster one wrote, and only the generation the cache holds *now* is
 *   written (a build of generation 3 is not reported once the policy is at 4).
 */
import type { Snapshot } from './xds/snapshot.js';
import { SERVED_GENERATION_ANNOTATION, servedGeneration } from '../servicepolicy/names.js';
import { ServicePolicies } from '../servicepolicy/reconciler.js';
import {
  objectKey,
  type Controller,
  type Informer,
  type KubeObject,
  type Manager,
} from '../runtime/index.js';

/** The generation to write on `policy`, given what the last published build contained; undefined: nothing to write. */
export function generationToReport(policy: KubeObject, served: number | undefined): number | undefined {
  const generation = policy.metadata?.generation;
  if (served === undefined || generation === undefined || served !== generation) return undefined;
  const written = servedGeneration(policy.metadata?.annotations);
  return written !== undefined && written >= served ? undefined : served;
}

export interface ServedReporterOptions {
  /** The ServicePolicy informer the model builds from (the same cache, so both see the same generation). */
  policies: Informer;
  /** `namespace/name` → the generation in the configuration the control plane serves now. */
  served: () => ReadonlyMap<string, number>;
}

/**
 * A controller (leader only) that reports served generations. Call `published()` after each
 * publish: it enqueues every policy of the build.
 */
export function setupServedReporter(
  mgr: Manager,
  o: ServedReporterOptions,
): { controller: Controller; published(): void } {
  const controller = mgr.controller({
    name: 'served-generation',
    workers: 2,
    reconcile: async (key) => {
      const policy = o.policies.get(key);
      if (!policy) return;
      const generation = generationToReport(policy, o.served().get(key));
      if (generation === undefined) return;
      await mgr.kube.mergePatch(
        {
          apiVersion: ServicePolicies.apiVersion,
          kind: ServicePolicies.kind,
          name: policy.metadata!.name!,
          namespace: policy.metadata!.namespace!,
        },
        { metadata: { annotations: { [SERVED_GENERATION_ANNOTATION]: String(generation) } } },
      );
    },
  });
  mgr.add(controller);
  return {
    controller,
    published() {
      for (const key of o.served().keys()) controller.enqueue(key);
    },
  };
}

/** `namespace/name` → generation of every ServicePolicy in a published snapshot. */
export function servedGenerations(snapshot: Snapshot): Map<string, number> {
  const out = new Map<string, number>();
  for (const policy of snapshot.servicePolicies) {
    const generation = (policy.metadata as { generation?: number }).generation;
    if (generation !== undefined) out.set(objectKey(policy), generation);
  }
  return out;
}
