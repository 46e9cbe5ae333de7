// Prints what the storefront's first page weighs (edge/web/dist, after `npm run build`) as JSON:
// {"jsGzipBytes":…,"cssGzipBytes":…,"jsBytes":…,"files":[…]}. The benchmark reports the same
// figures by calling measureWebBundle from @shopmesh/edge.
import { measureWebBundle } from "@shopmesh/edge";

process.stdout.write(`${JSON.stringify(measureWebBundle())}\n`);
