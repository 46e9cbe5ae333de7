/** `npm run docs:config`: prints the README's configuration table. */
import { configTable } from "./config-table.js";

process.stdout.write(`${configTable()}\n`);
