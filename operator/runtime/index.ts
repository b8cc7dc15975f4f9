/**
 * The controller runtime, in one import: `import { Manager, Controller, createKube } from '../runtime/index.js'`.
 *
 * Two object types exist: `KubeObject` (the client's: any JSON object, what informers cache) and
 * `OwnedObject` (ownership.ts's narrower view, what the pure helpers read); every `KubeObject` with
 * the usual metadata is both.
 */
export * from './cache.js';
export * from './client.js';
export * from './clock.js';
export * from './conditions.js';
export {
  Controller,
  controllerOwnerKey,
  objectKey,
  parseKey,
  type ControllerMetrics,
  type ControllerOptions,
  type OwnerType,
  type Reconcile,
  type ReconcileContext,
  type ReconcileResult,
  type ReconcileResultLabel,
  type WatchSource,
} from './controller.js';
export * from './errors.js';
export * from './events.js';
export * from './health.js';
export * from './informer.js';
export * from './leaderelection.js';
export * from './lease.js';
export * from './log.js';
export * from './manager.js';
export * from './metrics.js';
export * from './names.js';
export {
  addFinalizer,
  controllerRef,
  getControllerOf,
  groupOf,
  hasFinalizer,
  isBeingDeleted,
  isControlledBy,
  ownerRef,
  removeFinalizer,
  withControllerReference,
  withOwnerReference,
  type KubeObject as OwnedObject,
  type Owner,
} from './ownership.js';
export * from './predicates.js';
export * from './queue.js';
export * from './ratelimit.js';
export * from './reconcile.js';
