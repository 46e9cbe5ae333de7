import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";

const formats = new Map<string, Intl.NumberFormat>();

/** "12,90 €" style money for cents of an ISO 4217 currency, in the browser's language. */
export function money(cents: number, currency = "EUR"): string {
  let f = formats.get(currency);
  if (!f) {
    f = new Intl.NumberFormat(undefined, { style: "currency", currency });
    formats.set(currency, f);
  }
  return f.format(cents / 100);
}

/** Stock as a shopper reads it. */
export function stockText(available: number): string {
  if (available <= 0) return "Out of stock";
  if (available <= 5) return `Only ${available} left`;
  return `${available} in stock`;
}

const time = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });

export function clock(date: Date): string {
  return time.format(date);
}

/** A time of the API in the browser's language and zone, "" when unset. */
export function when(t: Timestamp | undefined): string {
  return t ? timestampDate(t).toLocaleString() : "";
}
