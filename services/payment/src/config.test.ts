import { describe, expect, it } from "vitest";
import { readPaymentConfig } from "./config.js";

describe("payment config", () => {
  it("has defaults and validates PAYMENT_FAILURE_RATE and DB_SCHEMA", () => {
    const config = readPaymentConfig({});
    expect(config).toMatchObject({ PAYMENT_PORT: 50055, DB_SCHEMA: "payment", PAYMENT_FAILURE_RATE: 0, AUTH_ADDR: "127.0.0.1:50052" });
    expect(readPaymentConfig({ PAYMENT_FAILURE_RATE: "0.25" }).PAYMENT_FAILURE_RATE).toBe(0.25);
    expect(() => readPaymentConfig({ PAYMENT_FAILURE_RATE: "2" })).toThrow(/PAYMENT_FAILURE_RATE/);
    expect(() => readPaymentConfig({ DB_SCHEMA: "Payment;drop" })).toThrow(/DB_SCHEMA/);
  });
});
