/** `npm run docs:config`: writes the configuration table into docs/configuration.md between its markers. */
import { readFileSync, writeFileSync } from "node:fs";
import { configTable } from "./config-table.js";

const docUrl = new URL("../../../docs/configuration.md", import.meta.url);
const start = "<!-- config-table:start -->";
const end = "<!-- config-table:end -->";
const doc = readFileSync(docUrl, "utf8");
const a = doc.indexOf(start);
const b = doc.indexOf(end);
if (a === -1 || b < a) throw new Error(`docs/configuration.md has no ${start} … ${end} section`);
writeFileSync(docUrl, `${doc.slice(0, a + start.length)}\n${configTable()}\n${doc.slice(b)}`);
process.stdout.write("docs/configuration.md configuration table updated\n");
