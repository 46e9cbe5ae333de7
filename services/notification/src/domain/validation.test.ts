import { violatedFields } from "@shopmesh/platform/testing";
import { describe, expect, it } from "vitest";
import { notificationPages, parseListNotifications } from "./validation.js";

describe("notification validation", () => {
  it("a ListNotifications request: 0 means the default page size, the token is decoded, every bad field is named", () => {
    const id = "0190a0b0-0000-7000-8000-000000000001";
    expect(parseListNotifications({ pageSize: 0, pageToken: "" })).toEqual({ pageSize: 20, beforeId: undefined });
    expect(parseListNotifications({ pageSize: 100, pageToken: notificationPages.encode({ id }) })).toEqual({ pageSize: 100, beforeId: id });
    expect(violatedFields(() => parseListNotifications({ pageSize: -1, pageToken: "nope!" }))).toEqual(["page_size", "page_token"]);
    expect(violatedFields(() => parseListNotifications({ pageSize: 101, pageToken: "" }))).toEqual(["page_size"]);
  });
});
