export {
  type EdgeConfig,
  edgeConfigSchema,
  readEdgeConfig,
  type UpstreamAddresses,
  upstreamAddressVars,
  upstreamsFromConfig,
} from "./config.js";
export { createEdge, type Edge, type EdgeOptions, type EdgeSettings } from "./edge.js";
export { httpStatusOf, toPublicError } from "./http/errors.js";
export type { HeaderReader } from "./http/node-http.js";
export { type Authenticate, bearerToken, bearerTokenSyntax, type Caller } from "./protection/authenticate.js";
export { enumWords } from "./rest/enum-words.js";
export { defaultHeaderFields } from "./rest/rest.js";
export { compilePathTemplate, type ExposedMethod, type HttpRouteSpec, type MethodAccess, publicSurface } from "./rpc/public-surface.js";
export { defaultForwardedHeaders, loadService } from "./rpc/upstreams.js";
export {
  defaultWebAppDir,
  loadWebApp,
  measureWebBundle,
  type WebApp,
  type WebBundleSize,
  webAppContentSecurityPolicy,
} from "./web/web-app.js";
export { createDirectoryImageStore, type ImageStore } from "./images/image-store.js";
export { createS3ImageStore, type S3ImageStoreOptions } from "./images/s3-image-store.js";
export { type ApiDocs, defaultApiDocsDir, loadApiDocs, openApiPath } from "./docs/api-docs.js";
export { buildOpenApi, type CommentOf, codesNamedIn, type OpenApiOptions } from "./docs/openapi.js";
export {
  type MethodReference,
  renderHtml,
  renderIndexHtml,
  renderMarkdown,
  renderMarkdownIndex,
  type ServiceReference,
  serviceReference,
} from "./docs/rpc-reference.js";
