import { authConfigSchema } from "@shopmesh/auth";
import { cartConfigSchema } from "@shopmesh/cart";
import { catalogConfigSchema } from "@shopmesh/catalog";
import { notificationConfigSchema } from "@shopmesh/notification";
import { orderConfigSchema } from "@shopmesh/order";
import { paymentConfigSchema } from "@shopmesh/payment";
import { edgeConfigSchema } from "@shopmesh/edge";
import { type ConfigSchema, describeConfig } from "@shopmesh/platform";
import { distributedConfigSchema, embeddedConfigSchema } from "../config.js";
import { seedConfigSchema } from "./seed-config.js";

/** Every process's environment, in the order docs/configuration.md lists them. */
export const configSchemas: ReadonlyArray<{ readonly process: string; readonly schema: ConfigSchema }> = [
  { process: "embedded (`npm start`)", schema: embeddedConfigSchema },
  { process: "distributed (`npm run start:distributed`)", schema: distributedConfigSchema },
  { process: "edge", schema: edgeConfigSchema },
  { process: "auth", schema: authConfigSchema },
  { process: "catalog", schema: catalogConfigSchema },
  { process: "cart", schema: cartConfigSchema },
  { process: "order", schema: orderConfigSchema },
  { process: "payment", schema: paymentConfigSchema },
  { process: "notification", schema: notificationConfigSchema },
  { process: "seed (`npm run seed`)", schema: seedConfigSchema },
];

/** The configuration table of docs/configuration.md, generated from the schemas the processes validate. */
export function configTable(): string {
  const rows = ["| process | variable | type | default | meaning |", "|---|---|---|---|---|"];
  for (const { process, schema } of configSchemas) {
    for (const v of describeConfig(schema)) {
      const cell = (text: string) => text.replace(/\|/g, "\\|");
      const def = v.default === "(required)" || v.default === "(unset)" ? v.default : `\`${v.default}\``;
      rows.push(`| ${process} | \`${v.name}\` | ${cell(v.kind)} | ${cell(def)} | ${cell(v.doc)} |`);
    }
  }
  return rows.join("\n");
}
