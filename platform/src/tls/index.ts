export * from "./issue.js";
export * from "./renewer.js";
export * from "./credentials.js";
export * from "./identity.js";
export * from "./config.js";
