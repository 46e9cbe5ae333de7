import { type DescField, type DescMessage, type DescMethod, type DescService, getOption, hasOption } from "@bufbuild/protobuf";
import { Access, edge, RateLimit } from "@shopmesh/proto/shop/api/v1/annotations_pb.js";

/** Who may call an exposed method. */
export type MethodAccess = "public" | "user" | "operator";

/** One segment of a compiled path template: a literal, or a `{field}` filling a request field. */
export type PathSegment = { readonly literal: string } | { readonly field: DescField; readonly name: string };

/** A REST route of a method, compiled from its `HttpRoute` option. */
export interface HttpRouteSpec {
  /** Upper-case verb. */
  readonly method: string;
  /** The template as declared, e.g. "/api/products/{id}". */
  readonly template: string;
  readonly segments: readonly PathSegment[];
  /** True when the JSON body fills the request ("*"); otherwise query parameters do. */
  readonly bodyIsRequest: boolean;
  readonly successStatus: number;
  /** Field of the response sent as the body; undefined to send the whole response. */
  readonly responseBody: DescField | undefined;
}

/** A method the edge exposes, as declared by its `(shop.api.v1.edge)` option. */
export interface ExposedMethod {
  readonly service: DescService;
  readonly method: DescMethod;
  readonly access: MethodAccess;
  readonly http: HttpRouteSpec | undefined;
  /** "credentials" when the stricter per-client limit for sign-up and sign-in applies. */
  readonly rateLimit: "credentials" | undefined;
}

/** Who may call a route and its rate class: a method's rule, or that of a route of the edge's own. */
export type AccessRule = Pick<ExposedMethod, "access" | "rateLimit">;

const verbs = new Set(["GET", "POST", "PUT", "PATCH", "DELETE"]);

/**
 * The methods of `services` that carry an edge rule with an access other than UNSPECIFIED, in
 * declaration order. Throws on a malformed rule (unknown verb, template naming a missing field):
 * that is a contract bug and should stop the edge at start, not surface per request.
 */
export function publicSurface(services: readonly DescService[]): ExposedMethod[] {
  const out: ExposedMethod[] = [];
  for (const service of services) {
    for (const method of service.methods) {
      if (!hasOption(method, edge)) continue;
      const rule = getOption(method, edge);
      let access: MethodAccess;
      switch (rule.access) {
        case Access.PUBLIC:
          access = "public";
          break;
        case Access.USER:
          access = "user";
          break;
        case Access.OPERATOR:
          access = "operator";
          break;
        case Access.UNSPECIFIED:
          continue;
        default:
          // A newer access level this edge does not know: keep the method internal.
          continue;
      }
      const http = rule.http && rule.http.path !== "" ? compileRoute(method, rule.http) : undefined;
      const rateLimit = rule.rateLimit === RateLimit.CREDENTIALS ? "credentials" : undefined;
      out.push({ service, method, access, http, rateLimit });
    }
  }
  return out;
}

function compileRoute(
  method: DescMethod,
  route: { method: string; path: string; body: string; successStatus: number; responseBody: string },
): HttpRouteSpec {
  const where = `${method.parent.typeName}.${method.name}`;
  const verb = route.method.toUpperCase();
  if (!verbs.has(verb)) throw new Error(`${where}: unsupported HTTP method "${route.method}"`);
  if (method.methodKind !== "unary") throw new Error(`${where}: only unary methods can have a REST route`);
  if (route.body !== "" && route.body !== "*") throw new Error(`${where}: body must be "*" or empty, got "${route.body}"`);
  const successStatus = route.successStatus === 0 ? 200 : route.successStatus;
  if (successStatus < 200 || successStatus > 299) throw new Error(`${where}: success_status ${successStatus} is not a 2xx status`);
  let responseBody: DescField | undefined;
  if (route.responseBody !== "") {
    responseBody = method.output.fields.find((f) => f.name === route.responseBody);
    if (!responseBody) throw new Error(`${where}: response_body names no field of ${method.output.typeName}: "${route.responseBody}"`);
  }
  return {
    method: verb,
    template: route.path,
    segments: compilePathTemplate(route.path, method.input, where),
    bodyIsRequest: route.body === "*",
    successStatus,
    responseBody,
  };
}

/**
 * Compiles "/api/cart/items/{product_id}" into segments. A `{name}` segment must name a
 * singular scalar or enum field of `input` (by proto or JSON name).
 */
export function compilePathTemplate(template: string, input: DescMessage, where = input.typeName): PathSegment[] {
  if (!template.startsWith("/")) throw new Error(`${where}: path "${template}" must start with "/"`);
  const parts = template === "/" ? [] : template.slice(1).split("/");
  return parts.map((part): PathSegment => {
    const m = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(part);
    if (!m) {
      if (part.includes("{") || part.includes("}")) throw new Error(`${where}: malformed path segment "${part}"`);
      if (part === "") throw new Error(`${where}: empty path segment in "${template}"`);
      return { literal: part };
    }
    const name = m[1] as string;
    const field = input.fields.find((f) => f.name === name || f.jsonName === name);
    if (!field) throw new Error(`${where}: path parameter {${name}} names no field of ${input.typeName}`);
    if (field.fieldKind !== "scalar" && field.fieldKind !== "enum") {
      throw new Error(`${where}: path parameter {${name}} must be a singular scalar or enum field`);
    }
    return { field, name };
  });
}
