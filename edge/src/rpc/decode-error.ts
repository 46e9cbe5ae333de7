import type { DescField, DescMessage } from "@bufbuild/protobuf";
import type { FieldViolation } from "@shopmesh/platform";

/**
 * Where each message and enum type sits in a request type: its proto path (snake_case,
 * `payment.card_number`; "" for the request itself), or null when it sits at several paths or
 * none, so that an error about the type cannot tell which field it is about.
 */
type Places = ReadonlyMap<string, string | null>;

const placesCache = new WeakMap<DescMessage, Places>();

function placesIn(schema: DescMessage): Places {
  let places = placesCache.get(schema);
  if (places) return places;
  const uses = new Map<string, Array<{ parent: DescMessage; field: DescField }>>();
  const queue = [schema];
  for (const parent of queue) {
    for (const field of parent.fields) {
      const type = field.message ?? field.enum;
      if (type === undefined) continue;
      if (field.message && !uses.has(type.typeName) && type !== schema) queue.push(field.message);
      uses.set(type.typeName, [...(uses.get(type.typeName) ?? []), { parent, field }]);
    }
  }
  const found = new Map<string, string | null>();
  const place = (typeName: string): string | null => {
    const known = found.get(typeName);
    if (known !== undefined) return known;
    // A cycle leads back to a type already in progress: null until it is known.
    found.set(typeName, null);
    const [use, ...more] = uses.get(typeName) ?? [];
    let path: string | null = null;
    if (typeName === schema.typeName) path = use === undefined ? "" : null;
    else if (use !== undefined && more.length === 0) {
      const parent = place(use.parent.typeName);
      path = parent === null ? null : join(parent, use.field.name);
    }
    found.set(typeName, path);
    return path;
  };
  for (const typeName of [schema.typeName, ...uses.keys()]) place(typeName);
  places = found;
  placesCache.set(schema, places);
  return places;
}

const join = (path: string, name: string) => (path === "" ? name : `${path}.${name}`);

/**
 * The field a protobuf-es JSON decoding error of a `schema` message is about, as a field violation
 * with its proto path: `qty` for a value of the wrong type, `payment.card_number` inside a
 * submessage, `payment` for a submessage that is no object, an unknown key as it was sent
 * (`payment.nope`), the field of an enum given an unknown name. Undefined when the error names no
 * one field of `schema` (malformed JSON, a body that is no object, a type used by several fields).
 */
export function violationOfDecodeError(schema: DescMessage, message: string): FieldViolation | undefined {
  const places = placesIn(schema);
  const at = (typeName: string | undefined, name?: string) => {
    const place = places.get(typeName as string);
    if (place === undefined || place === null) return undefined;
    return name === undefined ? place || undefined : join(place, name);
  };
  const wrongValue = /^cannot decode (?:field|oneof) ([\w.]+)\.(\w+) from JSON: (.*)$/s.exec(message);
  if (wrongValue) return violation(at(wrongValue[1], wrongValue[2]), `invalid value: ${wrongValue[3]}`);
  const unknownKey = /^cannot decode message ([\w.]+) from JSON: key "(.*)" is unknown$/s.exec(message);
  if (unknownKey) return violation(at(unknownKey[1], unknownKey[2]), "unknown field");
  // A field of a message or enum type holding something else ("cannot decode message
  // google.protobuf.Timestamp from JSON: invalid RFC 3339 string", "cannot decode enum … from JSON: "PURPLE"").
  const wrongType = /^cannot decode (?:message|enum) ([\w.]+) from JSON:? (.*)$/s.exec(message);
  return wrongType ? violation(at(wrongType[1]), `invalid value: ${wrongType[2]}`) : undefined;
}

const violation = (field: string | undefined, description: string): FieldViolation | undefined =>
  field === undefined ? undefined : { field, description };
