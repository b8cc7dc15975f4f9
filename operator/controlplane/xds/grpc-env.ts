/**
 * gRPC enforces the RBAC filter only with `GRPC_XDS_EXPERIMENTAL_RBAC=true` (read once, when
 * `@grpc/grpc-js-xds` loads); without it, a server refuses a Listener with an RBAC filter rather
 * than serving unprotected. The injector sets it on proxyless workloads; tests import this module
 * before `@grpc/grpc-js-xds`.
 */
process.env.GRPC_XDS_EXPERIMENTAL_RBAC ??= 'true';
