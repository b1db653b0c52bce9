// Public surface of the SIE endpoint server (cluster/endpoints/README.md).
export { startEndpointServer, gatewayPath, configPath } from "./server.js";
export type { EndpointServer, EndpointServerOptions } from "./server.js";
export type { PodForward } from "./egressForward.js";
export { kwokStages } from "./kwokStages.js";
export { FAULT_SCOPES_OBJECT, parseScope, matchScope, applyScopeChanges } from "./faultScopes.js";
export type { FaultScope, ScopeChange, ScopeTarget } from "./faultScopes.js";
export type { DigestMovesRequest, FaultScopesRequest, LoadRequest, PullTimesRequest, StartDelaysRequest } from "./control.js";
export type { LoadOptions, LoadStatus } from "./loadgen.js";
export { WEBHOOK_CONFIGURATION } from "./webhook.js";
export { VERSION_HEADER, GATEWAY_VERSION_HEADER } from "./gateway.js";
export { DEFAULT_MODELS } from "./models.js";
export type { ModelSpec } from "./models.js";
