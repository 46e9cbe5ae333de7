/** `npm run docs:config`: writes the configuration table into README.md between its markers. */
import { readFileSync, writeFileSync } from "node:fs";
import { configTable } from "./config-table.js";

const readmeUrl = new URL("../../README.md", import.meta.url);
const start = "<!-- config-table:start -->";
const end = "<!-- config-table:end -->";
const readme = readFileSync(readmeUrl, "utf8");
const a = readme.indexOf(start);
const b = readme.indexOf(end);
if (a === -1 || b < a) throw new Error(`README.md has no ${start} … ${end} section`);
writeFileSync(readmeUrl, `${readme.slice(0, a + start.length)}\n${configTable()}\n${readme.slice(b)}`);
process.stdout.write("README.md configuration table updated\n");
