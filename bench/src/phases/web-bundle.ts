// Phase 4: the storefront's first page, as `npm run build` built it.
import { defaultWebAppDir, measureWebBundle } from "@shopmesh/edge";
import type { WebBundleResult } from "../results.js";
import { errorText, log } from "./phase.js";

export function runWebBundlePhase(): WebBundleResult {
  try {
    const webBundle = measureWebBundle(defaultWebAppDir);
    log(`web bundle: ${webBundle.jsGzipBytes} bytes of JavaScript gzipped for the first page (${webBundle.files.join(", ")})`);
    return webBundle;
  } catch (err) {
    const webBundle = { error: `${defaultWebAppDir} not built (npm run build): ${errorText(err)}` };
    log(`web bundle: ${webBundle.error}`);
    return webBundle;
  }
}
