import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from "playwright-core";
import { describeNeeding } from "@shopmesh/platform/testing";

/** Debian's Chromium (scripts/ensure-chromium.sh installs it), driven by playwright-core. */
export const chromiumPath = "/usr/bin/chromium";

/** Screenshots of every step, for people to look at (git-ignored). */
export const artifactsDir = fileURLToPath(new URL("../artifacts/", import.meta.url));

/**
 * A `describe` for suites that drive Chromium: skipped (the reason in its name) when it is not
 * installed, failing instead when REQUIRE_INFRA=1.
 */
export function describeWithChromium(title: string, fn: () => void): void {
  describeNeeding(title, existsSync(chromiumPath) ? undefined : `${chromiumPath} is missing (run scripts/ensure-chromium.sh)`, fn);
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
  /** Paths of the page's requests to the edge, in order ("/shop.order.v1.OrderService/GetOrder"). */
  readonly requests: string[];
  /** Saves a screenshot as artifacts/<suite>/<NN>-<step>.png. */
  shot(step: string): Promise<void>;
  close(): Promise<void>;
}

/** How long a wait for something the page should show may take: generous, for a loaded 2-core machine. */
export const patienceMs = 30_000;

export async function openShopper(
  browser: Browser,
  origin: string,
  name: string,
  viewport: { width: number; height: number } = { width: 1280, height: 900 },
): Promise<Shopper> {
  const context = await browser.newContext({ baseURL: origin, viewport, locale: "en-GB" });
  context.setDefaultTimeout(patienceMs);
  const page = await context.newPage();
  const errors: string[] = [];
  const foreignRequests: string[] = [];
  const requests: string[] = [];
  page.on("console", (msg) => {
    if (msg.type() === "error") errors.push(msg.text());
  });
  page.on("pageerror", (err) => errors.push(`uncaught: ${err.message}`));
  page.on("request", (req) => {
    const url = req.url();
    if (url.startsWith(`${origin}/`)) requests.push(new URL(url).pathname);
    else if (!url.startsWith("data:")) foreignRequests.push(url);
  });
  const dir = join(artifactsDir, name);
  await mkdir(dir, { recursive: true });
  let n = 0;
  return {
    context,
    page,
    errors,
    foreignRequests,
    requests,
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

/**
 * Visible text that fails WCAG AA contrast against the background behind it (4.5:1, or 3:1 for
 * large text), as "ratio text" entries. The background is the nearest opaque one among the
 * element and its ancestors; disabled controls are exempt, as WCAG exempts inactive components.
 */
export function lowContrastText(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    type Rgba = [number, number, number, number];
    const parse = (css: string): Rgba => {
      const m = /rgba?\(([^)]+)\)/.exec(css);
      if (!m) return [0, 0, 0, 0];
      const [r = 0, g = 0, b = 0, a = 1] = (m[1] as string)
        .split(/[ ,/]+/)
        .filter(Boolean)
        .map(Number);
      return [r, g, b, a];
    };
    const over = (top: Rgba, bottom: Rgba): Rgba => {
      const a = top[3];
      return [top[0] * a + bottom[0] * (1 - a), top[1] * a + bottom[1] * (1 - a), top[2] * a + bottom[2] * (1 - a), 1];
    };
    const luminance = ([r, g, b]: Rgba) => {
      const lin = (c: number) => {
        const s = c / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      };
      return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
    };
    const backgroundOf = (el: Element): Rgba => {
      const layers: Rgba[] = [];
      for (let e: Element | null = el; e; e = e.parentElement) {
        const bg = parse(getComputedStyle(e).backgroundColor);
        if (bg[3] > 0) layers.push(bg);
        if (bg[3] >= 1) break;
      }
      let result: Rgba = [255, 255, 255, 1];
      for (const layer of layers.reverse()) result = over(layer, result);
      return result;
    };
    const failures: string[] = [];
    for (const el of document.querySelectorAll<HTMLElement>("body *")) {
      const text = [...el.childNodes]
        .filter((n) => n.nodeType === Node.TEXT_NODE)
        .map((n) => n.textContent ?? "")
        .join("")
        .trim();
      if (text === "" || el.closest("[disabled], [aria-hidden='true']")) continue;
      const rect = el.getBoundingClientRect();
      const style = getComputedStyle(el);
      if (rect.width < 2 || rect.height < 2 || style.visibility === "hidden" || Number(style.opacity) === 0) continue;
      const bg = backgroundOf(el);
      const fg = over(parse(style.color), bg);
      const [light, dark] = [luminance(fg), luminance(bg)].sort((x, y) => y - x) as [number, number];
      const ratio = (light + 0.05) / (dark + 0.05);
      const px = Number.parseFloat(style.fontSize);
      const large = px >= 24 || (px >= 18.66 && Number(style.fontWeight) >= 700);
      if (ratio < (large ? 3 : 4.5)) failures.push(`${ratio.toFixed(2)} ${text.slice(0, 40)}`);
    }
    return failures;
  });
}

/** Whether the page is wider than the window (a phone would have to scroll sideways). */
export function overflowsSideways(page: Page): Promise<boolean> {
  return page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth);
}
