import type { DescEnum, DescField, DescMessage, JsonValue } from "@bufbuild/protobuf";

/**
 * REST renders enum values as lower-case words without the enum's prefix
 * (ORDER_STATUS_PAID → "paid") and accepts those words back. Both directions are compiled once
 * per message type from the descriptors and walk only the fields that can hold an enum.
 */

interface EnumWords {
  /** Proto value name → word. */
  readonly toWord: ReadonlyMap<string, string>;
  /** Word → proto value name. */
  readonly fromWord: ReadonlyMap<string, string>;
}

type FieldPlan =
  | { readonly kind: "enum"; readonly keys: readonly string[]; readonly words: EnumWords; readonly shape: "single" | "list" | "map" }
  | { readonly kind: "message"; readonly keys: readonly string[]; readonly plan: MessagePlan; readonly shape: "single" | "list" | "map" };

interface MessagePlan {
  readonly fields: FieldPlan[];
}

const enumCache = new Map<DescEnum, EnumWords>();

/** The word of each value of an enum: its name without the shared prefix, in lower case. */
export function enumWords(e: DescEnum): EnumWords {
  let w = enumCache.get(e);
  if (w) return w;
  // protobuf-es sets the shared prefix ("order_status_") only when every value carries it.
  const prefixLength = e.sharedPrefix?.length ?? 0;
  const toWord = new Map<string, string>();
  const fromWord = new Map<string, string>();
  for (const v of e.values) {
    const word = v.name.slice(prefixLength).toLowerCase();
    toWord.set(v.name, word);
    if (!fromWord.has(word)) fromWord.set(word, v.name);
  }
  w = { toWord, fromWord };
  enumCache.set(e, w);
  return w;
}

/** Well-known types have their own JSON forms and no enums worth rewriting. */
function isWellKnown(m: DescMessage): boolean {
  return m.typeName.startsWith("google.protobuf.");
}

/** True when some message reachable from `root` (outside the well-known types) has an enum field. */
function reachesEnum(root: DescMessage): boolean {
  const seen = new Set<DescMessage>();
  const stack = [root];
  while (stack.length > 0) {
    const m = stack.pop() as DescMessage;
    if (seen.has(m) || isWellKnown(m)) continue;
    seen.add(m);
    for (const f of m.fields) {
      const e = fieldEnum(f);
      if (e) return true;
      const sub = fieldMessage(f);
      if (sub) stack.push(sub);
    }
  }
  return false;
}

function fieldEnum(f: DescField): DescEnum | undefined {
  switch (f.fieldKind) {
    case "enum":
      return f.enum;
    case "list":
      return f.listKind === "enum" ? f.enum : undefined;
    case "map":
      return f.mapKind === "enum" ? f.enum : undefined;
    default:
      return undefined;
  }
}

function fieldMessage(f: DescField): DescMessage | undefined {
  switch (f.fieldKind) {
    case "message":
      return f.message;
    case "list":
      return f.listKind === "message" ? f.message : undefined;
    case "map":
      return f.mapKind === "message" ? f.message : undefined;
    default:
      return undefined;
  }
}

function shapeOf(f: DescField): "single" | "list" | "map" {
  return f.fieldKind === "list" ? "list" : f.fieldKind === "map" ? "map" : "single";
}

const planCache = new Map<DescMessage, MessagePlan | null>();

/** The walk plan of a message type, or null when nothing in it can hold an enum. */
function planOf(m: DescMessage): MessagePlan | null {
  const cached = planCache.get(m);
  if (cached !== undefined) return cached;
  if (isWellKnown(m) || !reachesEnum(m)) {
    planCache.set(m, null);
    return null;
  }
  // Registered before its fields are planned, so that recursive types end up sharing it.
  const plan: MessagePlan = { fields: [] };
  planCache.set(m, plan);
  for (const f of m.fields) {
    const keys = f.name === f.jsonName ? [f.name] : [f.name, f.jsonName];
    const e = fieldEnum(f);
    if (e) {
      plan.fields.push({ kind: "enum", keys, words: enumWords(e), shape: shapeOf(f) });
      continue;
    }
    const sub = fieldMessage(f);
    const subPlan = sub ? planOf(sub) : null;
    if (subPlan) plan.fields.push({ kind: "message", keys, plan: subPlan, shape: shapeOf(f) });
  }
  return plan;
}

type Direction = "toWord" | "fromWord";

function convert(value: JsonValue, words: EnumWords, dir: Direction): JsonValue {
  if (typeof value !== "string") return value;
  return words[dir].get(dir === "fromWord" ? value.toLowerCase() : value) ?? value;
}

function walk(obj: JsonValue, plan: MessagePlan, dir: Direction): void {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) return;
  for (const f of plan.fields) {
    for (const key of f.keys) {
      const v = obj[key];
      if (v === undefined || v === null) continue;
      switch (f.shape) {
        case "single":
          if (f.kind === "enum") obj[key] = convert(v, f.words, dir);
          else walk(v, f.plan, dir);
          break;
        case "list":
          if (!Array.isArray(v)) break;
          for (let i = 0; i < v.length; i++) {
            if (f.kind === "enum") v[i] = convert(v[i] as JsonValue, f.words, dir);
            else walk(v[i] as JsonValue, f.plan, dir);
          }
          break;
        case "map":
          if (typeof v !== "object" || Array.isArray(v)) break;
          for (const k of Object.keys(v)) {
            if (f.kind === "enum") v[k] = convert(v[k] as JsonValue, f.words, dir);
            else walk(v[k] as JsonValue, f.plan, dir);
          }
          break;
      }
    }
  }
}

/** Rewrites, in place, enum value names in the JSON form of a `schema` message to words. */
export function enumsToWords(schema: DescMessage, json: JsonValue): JsonValue {
  const plan = planOf(schema);
  if (plan) walk(json, plan, "toWord");
  return json;
}

/** Rewrites, in place, enum words in a JSON request for `schema` to value names fromJson accepts. */
export function enumsFromWords(schema: DescMessage, json: JsonValue): JsonValue {
  const plan = planOf(schema);
  if (plan) walk(json, plan, "fromWord");
  return json;
}

/** The value name of an enum word, a value name, or a number given as text; undefined if none. */
export function parseEnumText(e: DescEnum, text: string): number | undefined {
  const byName = e.values.find((v) => v.name === text);
  if (byName) return byName.number;
  const name = enumWords(e).fromWord.get(text.toLowerCase());
  if (name !== undefined) return e.values.find((v) => v.name === name)?.number;
  if (/^-?\d+$/.test(text)) {
    const n = Number(text);
    if (e.value[n] !== undefined || e.open) return n;
  }
  return undefined;
}
