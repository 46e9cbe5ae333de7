export { type Authenticate, bearerToken, bearerTokenSyntax, type Caller, type HeaderReader } from "./authenticate.js";
export {
  type EdgeConfig,
  edgeConfigSchema,
  readEdgeConfig,
  type UpstreamAddresses,
  upstreamAddressVars,
  upstreamsFromConfig,
} from "./config.js";
export { createEdge, type Edge, type EdgeOptions, type EdgeSettings } from "./edge.js";
export { enumWords } from "./enum-words.js";
export { httpStatusOf, toPublicError } from "./errors.js";
export { compilePathTemplate, type ExposedMethod, type HttpRouteSpec, type MethodAccess, publicSurface } from "./public-surface.js";
export { defaultForwardedHeaders, loadService } from "./upstreams.js";
export { defaultWebAppDir, loadWebApp, measureWebBundle, type WebApp, type WebBundleSize, webAppContentSecurityPolicy } from "./web-app.js";
