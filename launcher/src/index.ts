export { startEmbedded, type EmbeddedMesh } from "./embedded-mesh.js";
export { embeddedConfigSchema, readEmbeddedConfig } from "./config.js";
