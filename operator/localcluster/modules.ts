/** The modules the registry plugs in through its hooks: ./schema, ./apply and ./admission. */
import { runMutatingWebhooks } from './admission/index.js';
import {
  BUILTIN_LIST_TYPES,
  InvalidApplyError,
  listTypeFromSchema,
  recordUpdate,
  serverSideApply,
} from './apply/index.js';
import { badRequest } from './errors.js';
import type { Hooks } from './hooks.js';
import { compileSchema, formatInvalid, structuralErrors } from './schema/index.js';

export const defaultHooks: Hooks = {
  compileSchema,
  structuralErrors,
  formatInvalid,
  serverSideApply: (a) => {
    try {
      return serverSideApply(a);
    } catch (e) {
      // An apply configuration the real server refuses with 400 rather than a conflict.
      if (e instanceof InvalidApplyError) throw badRequest(e.message);
      throw e;
    }
  },
  recordUpdate,
  listTypeFromSchema,
  builtinListTypes: BUILTIN_LIST_TYPES,
  runMutatingWebhooks,
};
