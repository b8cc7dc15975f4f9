/**
 * The seams through which the modules other parts of the local cluster provide (schema
 * validation, server-side apply, admission webhooks) reach the registry. `modules.ts` fills them
 * from ./schema, ./apply and ./admission; tests may replace any of them.
 */
import type { CompiledSchema } from './kinds.js';
import type { Obj } from './store.js';

export type ListTypeLookup = (
  path: string[],
) => { type: 'map'; keys: string[] } | { type: 'set' } | { type: 'atomic' } | undefined;

export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
}

export interface Hooks {
  compileSchema(openAPIV3Schema: object): CompiledSchema;
  structuralErrors(openAPIV3Schema: object): string[];
  formatInvalid(
    kind: string,
    name: string,
    causes: { reason: string; field: string; message: string }[],
  ): string;
  serverSideApply(a: {
    live: Obj | undefined;
    applied: Obj;
    manager: string;
    force: boolean;
    listType: ListTypeLookup;
    apiVersion: string;
    now: string;
    subresource?: string;
  }):
    | { ok: true; object: Obj }
    | { ok: false; conflicts: { manager: string; field: string; message?: string }[] };
  recordUpdate(a: {
    live: Obj | undefined;
    updated: Obj;
    manager: string;
    listType: ListTypeLookup;
    apiVersion: string;
    now: string;
    subresource?: string;
  }): Obj;
  listTypeFromSchema(openAPIV3Schema: object): ListTypeLookup;
  builtinListTypes: ListTypeLookup;
  runMutatingWebhooks(a: {
    configurations: object[];
    request: {
      uid: string;
      operation: 'CREATE' | 'UPDATE' | 'DELETE';
      kind: { group: string; version: string; kind: string };
      resource: { group: string; version: string; resource: string };
      subResource?: string;
      namespace?: string;
      name?: string;
      object?: object;
      oldObject?: object;
      userInfo: object;
      dryRun: boolean;
    };
    namespaceLabels?: Record<string, string>;
    resolveService: (
      namespace: string,
      name: string,
      port: number,
    ) => { host: string; port: number } | undefined;
  }): Promise<{ allowed: true; object?: object; warnings: string[] } | { allowed: false; status: object }>;
}
