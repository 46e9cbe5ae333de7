/**
 * `npm run docs:api`: writes the OpenAPI document (docs/api/openapi.json) and the RPC reference
 * (docs/rpc/*.md, and the HTML pages the edge serves under /docs, docs/api/) from the contracts.
 * Files of services that no longer exist are removed.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { apiDocsFiles } from "./api-docs.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const { version } = JSON.parse(readFileSync(join(root, "edge/package.json"), "utf8")) as { version: string };
const files = apiDocsFiles(version);
for (const dir of ["docs/rpc", "docs/api/rpc"]) {
  mkdirSync(join(root, dir), { recursive: true });
  for (const name of readdirSync(join(root, dir), { withFileTypes: true }).filter((e) => e.isFile())) {
    if (!files.has(`${dir}/${name.name}`)) rmSync(join(root, dir, name.name));
  }
}
for (const [path, content] of files) {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), content);
}
process.stdout.write(`API docs written: ${[...files.keys()].join(", ")}\n`);
