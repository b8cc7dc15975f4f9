/** Wires the modules the registry and server plug in: ./schema, ./apply, ./admission and ./auth. */
import { runMutatingWebhooks } from './admission/index.js';
import {
  BUILTIN_LIST_TYPES,
  InvalidApplyError,
  listTypeFromSchema,
  recordUpdate,
  serverSideApply,
} from './apply/index.js';
import * as authModule from './auth/index.js';
import { badRequest } from './errors.js';
import type { Hooks, UserInfo } from './hooks.js';
import { compileSchema, formatInvalid, structuralErrors } from './schema/index.js';

export interface Certificates {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
}

export interface AuthModule {
  generateCertificates(hosts: string[]): Promise<Certificates>;
  TokenAuthenticator: new () => {
    issue(user: UserInfo): string;
    issueForServiceAccount(namespace: string, name: string): string;
    authenticate(authorizationHeader: string | undefined): UserInfo | undefined;
  };
  authorize(
    user: UserInfo,
    attrs: object,
    rbac: {
      roles(namespace: string): object[];
      roleBindings(namespace: string): object[];
      clusterRoles(): object[];
      clusterRoleBindings(): object[];
    },
  ): { allowed: boolean; reason: string };
  forbiddenStatus(user: UserInfo, attrs: object): object;
  unauthorizedStatus(): object;
}

export function loadHooks(): Promise<Hooks> {
  return Promise.resolve({
    compileSchema: (s) => compileSchema(s),
    structuralErrors: (s) => structuralErrors(s),
    formatInvalid: (kind, name, causes) => formatInvalid(kind, name, causes as never),
    serverSideApply: (a) => {
      try {
        return serverSideApply(a);
      } catch (e) {
        if (e instanceof InvalidApplyError) throw badRequest(e.message);
        throw e;
      }
    },
    recordUpdate: (a) => recordUpdate(a as never),
    listTypeFromSchema: (s) => listTypeFromSchema(s),
    builtinListTypes: BUILTIN_LIST_TYPES,
    runMutatingWebhooks: (a) => runMutatingWebhooks(a as never) as ReturnType<Hooks['runMutatingWebhooks']>,
  });
}

export function loadAuth(): Promise<AuthModule> {
  return Promise.resolve(authModule as unknown as AuthModule);
}
