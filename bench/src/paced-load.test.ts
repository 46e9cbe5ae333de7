import { once } from "node:events";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { createHistogram } from "node:perf_hooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runPaced } from "./paced-load.js";

describe("runPaced", () => {
  const arrivals: { at: number; path: string }[] = [];
  let server: http.Server;
  let base: string;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      arrivals.push({ at: performance.now(), path: req.url ?? "" });
      res.writeHead(req.url === "/missing" ? 404 : 200, { "content-type": "text/plain" }).end("ok");
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("sends rate × duration requests spread over the duration, cycling through the requests, and counts each answer", async () => {
    arrivals.length = 0;
    const histogram = createHistogram();
    const requests = ["/a", "/b", "/missing"].map((path) => ({ url: `${base}${path}`, method: "GET", headers: {} }));
    const result = await runPaced(requests, { connections: 4, durationS: 1, ratePerSecond: 60, timeoutMs: 5_000 }, histogram);

    expect(result).toMatchObject({ sent: 60, answered: 60, errors: 0, timeouts: 0, statusCodes: { "200": 40, "404": 20 }, bytes: 120 });
    expect(histogram.count).toBe(60);
    expect(arrivals.map((a) => a.path).slice(0, 4)).toEqual(["/a", "/b", "/missing", "/a"]);
    // Spread over the second, not sent at its start: the first and last are most of a second apart.
    const first = arrivals[0]?.at ?? 0;
    const last = arrivals.at(-1)?.at ?? 0;
    expect(last - first).toBeGreaterThan(800);
  });
});
