export { type ApiDocs, defaultApiDocsDir, loadApiDocs, openApiPath } from "./api-docs.js";
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
export { buildOpenApi, type CommentOf, codesNamedIn, type OpenApiOptions } from "./openapi.js";
export { compilePathTemplate, type ExposedMethod, type HttpRouteSpec, type MethodAccess, publicSurface } from "./public-surface.js";
export { defaultHeaderFields } from "./rest.js";
export {
  type MethodReference,
  renderHtml,
  renderIndexHtml,
  renderMarkdown,
  renderMarkdownIndex,
  type ServiceReference,
  serviceReference,
} from "./rpc-reference.js";
export { defaultForwardedHeaders, loadService } from "./upstreams.js";
export { defaultWebAppDir, loadWebApp, measureWebBundle, type WebApp, type WebBundleSize, webAppContentSecurityPolicy } from "./web-app.js";
