import { beforeAll, describe } from "vitest";

/**
 * A `describe` for suites that need a tool the machine may lack: `why` says what is missing
 * (undefined when nothing is). Without it the suite is skipped, the reason in its name, unless
 * REQUIRE_INFRA=1 (CI), which turns the lack into a failure of the suite.
 */
export function describeNeeding(title: string, why: string | undefined, fn: () => void): void {
  const skip = why !== undefined && process.env.REQUIRE_INFRA !== "1";
  describe.skipIf(skip)(skip ? `${title} (skipped: ${why}; REQUIRE_INFRA=1 turns this into a failure)` : title, () => {
    if (why !== undefined) {
      beforeAll(() => {
        throw new Error(`REQUIRE_INFRA=1 but ${why}`);
      });
    }
    fn();
  });
}
