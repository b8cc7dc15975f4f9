/**
 * Authentication, authorization (RBAC) and TLS material for the in-memory API server.
 *
 * A request flows: `TokenAuthenticator.authenticate` (undefined → `unauthorizedStatus()`, 401), then
 * `authorize` (denied → `forbiddenStatus(user, attrs, decision.reason)`, 403). The review resources are
 * answered by `selfSubjectAccessReview` / `selfSubjectRulesReview` / `selfSubjectReview`; kubectl posts
 * those as protobuf, which `decodeReviewProtobuf` turns into the JSON body they take. The bootstrap
 * discovery policy is always in force; `bootstrap-policy.ts` exports the objects for seeding the store.
 */
export type { Decision, RbacSource, RequestAttributes, UserInfo } from './types.js';
export type { Certificates, CertificateOptions } from './certificates.js';
export type { KubeconfigInput } from './kubeconfig.js';
export type { Status } from './status.js';
export { generateCertificates } from './certificates.js';
export { TokenAuthenticator } from './tokens.js';
export { authorize } from './rbac.js';
export { forbiddenStatus, unauthorizedStatus } from './status.js';
export { kubeconfigYaml } from './kubeconfig.js';
export { selfSubjectAccessReview, selfSubjectRulesReview, selfSubjectReview } from './reviews.js';
export { decodeReviewProtobuf, PROTOBUF_CONTENT_TYPE } from './protobuf.js';
