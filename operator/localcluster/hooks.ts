/**
 * The seams through which the local cluster's modules (schema validation, server-side apply,
 * admission webhooks) reach the registry. `modules.ts` fills them from ./schema, ./apply and
 * ./admission; a test may replace any of them through `startLocalCluster({ hooks })`.
 */
import type { runMutatingWebhooks } from './admission/index.js';
import type { BUILTIN_LIST_TYPES, listTypeFromSchema, recordUpdate, serverSideApply } from './apply/index.js';
import type { compileSchema, formatInvalid, structuralErrors } from './schema/index.js';

export type { ListTypeLookup } from './apply/index.js';
export type { UserInfo } from './auth/index.js';

export interface Hooks {
  compileSchema: typeof compileSchema;
  structuralErrors: typeof structuralErrors;
  formatInvalid: typeof formatInvalid;
  serverSideApply: typeof serverSideApply;
  recordUpdate: typeof recordUpdate;
  listTypeFromSchema: typeof listTypeFromSchema;
  builtinListTypes: typeof BUILTIN_LIST_TYPES;
  runMutatingWebhooks: typeof runMutatingWebhooks;
}
