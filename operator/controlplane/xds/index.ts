export * from './envoy.js';
export * from './names.js';
export * from './protos.js';
export { rbacFilters, type HttpFilter, type RbacContext } from './rbac.js';
export * from './resilience.js';
export * from './resources.js';
export * from './snapshot.js';
