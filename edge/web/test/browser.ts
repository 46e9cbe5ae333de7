import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from "playwright-core";
import { beforeAll, describe } from "vitest";

/** Debian's Chromium (scripts/ensure-chromium.sh installs it), driven by playwright-core. */
export const chromiumPath = "/usr/bin/chromium";

/** Screenshots of every step, for people to look at (git-ignored). */
export const artifactsDir = fileURLToPath(new URL("../artifacts/", import.meta.url));

/**
 * A `describe` for suites that drive Chromium: skipped (the reason in its name) when it is not
 * installed, failing instead when REQUIRE_INFRA=1.
 */
export function describeWithChromium(title: string, fn: () => void): void {
  const why = existsSync(chromiumPath) ? undefined : `${chromiumPath} is missing (run scripts/ensure-chromium.sh)`;
  const required = process.env.REQUIRE_INFRA === "1";
  const skip = why !== undefined && !required;
  describe.skipIf(skip)(skip ? `${title} (skipped: ${why}; REQUIRE_INFRA=1 turns this into a failure)` : title, () => {
    if (why !== undefined) {
      beforeAll(() => {
        throw new Error(`REQUIRE_INFRA=1 but ${why}`);
      });
    }
    fn();
  });
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath, headless: true, args: ["--disable-gpu", "--disable-dev-shm-usage"] });
}

/** A shopper's browser window (its own context: cookies, storage, connections). */
export interface Shopper {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Console errors and uncaught exceptions of the page. */
  readonly errors: string[];
  /** URLs the page requested from anywhere but the edge. */
  readonly foreignRequests: string[];
  /** Saves a screenshot as artifacts/<suite>/<NN>-<step>.png. */
  shot(step: string): Promise<void>;
  close(): Promise<void>;
}

export async function openShopper(browser: Browser, origin: string, name: string): Promise<Shopper> {
  const context = await browser.newContext({ baseURL: origin, viewport: { width: 1280, height: 900 }, locale: "en-GB" });
  const page = await context.newPage();
  const errors: string[] = [];
  const foreignRequests: string[] = [];
  page.on("console", (msg) => {
    if (msg.type() === "error") errors.push(msg.text());
  });
  page.on("pageerror", (err) => errors.push(`uncaught: ${err.message}`));
  page.on("request", (req) => {
    const url = req.url();
    if (!url.startsWith(`${origin}/`) && !url.startsWith("data:")) foreignRequests.push(url);
  });
  const dir = join(artifactsDir, name);
  await mkdir(dir, { recursive: true });
  let n = 0;
  return {
    context,
    page,
    errors,
    foreignRequests,
    async shot(step) {
      n += 1;
      await page.screenshot({ path: join(dir, `${String(n).padStart(2, "0")}-${step}.png`), fullPage: true });
    },
    close: () => context.close(),
  };
}

/** Presses Tab until `target` has the focus: proves it is reachable from the keyboard. */
export async function tabTo(page: Page, target: Locator, maxPresses = 40): Promise<void> {
  for (let i = 0; i < maxPresses; i++) {
    if (await target.evaluate((el) => el === document.activeElement)) return;
    await page.keyboard.press("Tab");
  }
  throw new Error(`not reached with ${maxPresses} presses of Tab`);
}

/** Marks the document; `stillSameDocument` is false after any reload or full navigation. */
export async function markDocument(page: Page): Promise<void> {
  await page.evaluate(() => {
    (window as unknown as { shopmeshMark?: boolean }).shopmeshMark = true;
  });
}

export function stillSameDocument(page: Page): Promise<boolean> {
  return page.evaluate(() => (window as unknown as { shopmeshMark?: boolean }).shopmeshMark === true);
}

/** Controls on the page a screen reader could not name: inputs without a label, empty buttons and links. */
export function unnamedControls(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>("input, select, textarea, button, a[href]")]
      .filter((el) => {
        if (el.getAttribute("aria-hidden") === "true" || el.getAttribute("aria-label") || el.getAttribute("aria-labelledby")) return false;
        if (el instanceof HTMLInputElement || el instanceof HTMLSelectElement || el instanceof HTMLTextAreaElement)
          return (el.labels?.length ?? 0) === 0;
        return (el.textContent ?? "").trim() === "";
      })
      .map((el) => el.outerHTML.slice(0, 120)),
  );
}
