import { create, type DescField, type Message } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "@shopmesh/platform";
import { HttpError } from "../http/errors.js";
import { sendError } from "../http/send-error.js";
import { type NodeRequest, type NodeResponse, nodeHeaders, sendJson } from "../http/node-http.js";
import { readRequestBody, tooLarge } from "../http/request-body.js";
import { type AdmissionOptions, admit } from "../protection/admission.js";
import type { ExposedMethod, HttpRouteSpec } from "../rpc/public-surface.js";
import { applyParam, setFieldFromText, decodeJsonBody, encodeResponse } from "./rest-codec.js";
import { isCachedRead } from "../rpc/read-cache.js";
import { forwardedMetadata, type Upstream, type UpstreamMethod } from "../rpc/upstreams.js";

export interface RestRouterOptions extends AdmissionOptions {
  /** Exposed methods; those with an HTTP route and an upstream are served. */
  readonly methods: readonly ExposedMethod[];
  readonly upstreams: ReadonlyMap<string, Upstream>;
  readonly maxBodyBytes: number;
  /** Deadline of every upstream call. */
  readonly requestTimeoutMs: number;
  readonly forwardedHeaders: readonly string[];
  /**
   * Request headers that fill a request field of the same meaning, when the request message
   * has it (the header wins over the body): e.g. `Idempotency-Key` → `idempotency_key`.
   */
  readonly headerFields: Readonly<Record<string, string>>;
  readonly logger: Logger;
}

/** A parsed request target. */
export interface RequestTarget {
  readonly path: string;
  /** The raw query string without "?", or "" when there is none. */
  readonly query: string;
}

export interface RestRouter {
  /**
   * Serves the request when its path belongs to the REST surface (a declared route, or anything
   * under /api) and returns the route it took ("GET /api/orders/{id}", {@link unmatchedApiRoute});
   * returns undefined to let other handlers have it.
   */
  handle(req: NodeRequest, res: NodeResponse, target: RequestTarget, requestId: string): string | undefined;
}

interface Route {
  readonly exposed: ExposedMethod;
  readonly spec: HttpRouteSpec;
  readonly call: UpstreamMethod;
  /** Its anonymous answers are kept by the read cache: their JSON is kept with them. */
  readonly cachedRead: boolean;
  /** Header (lower case) → request field it fills. */
  readonly headerFields: ReadonlyArray<readonly [string, DescField]>;
}

/** The routes of one path template, by verb. */
interface PathRoutes {
  readonly segments: HttpRouteSpec["segments"];
  readonly byVerb: Map<string, Route>;
  readonly allow: string;
}

const apiPrefix = "/api";

/** Request headers that fill a request field by default: `Idempotency-Key` → `idempotency_key`. */
export const defaultHeaderFields: Readonly<Record<string, string>> = { "idempotency-key": "idempotency_key" };

/** The route of a request under /api that no declared route takes (404/405). */
export const unmatchedApiRoute = "/api (unmatched)";

/**
 * A lean router on plain node:http for the REST routes declared in the contracts. It does not
 * go through the Connect router: a request is matched, decoded into the request message,
 * forwarded over the platform's grpc-js client and encoded back to snake_case JSON.
 */
export function createRestRouter(opts: RestRouterOptions): RestRouter {
  const literal = new Map<string, PathRoutes>();
  const templated: PathRoutes[] = [];
  const byTemplate = new Map<string, PathRoutes>();

  for (const exposed of opts.methods) {
    const spec = exposed.http;
    const upstream = opts.upstreams.get(exposed.service.typeName);
    if (!spec || !upstream) continue;
    const headerFields: Array<readonly [string, DescField]> = [];
    for (const [header, fieldName] of Object.entries(opts.headerFields)) {
      const f = exposed.method.input.fields.find((x) => x.name === fieldName);
      if (f && f.fieldKind === "scalar") headerFields.push([header.toLowerCase(), f]);
    }
    const route: Route = {
      exposed,
      spec,
      call: upstream.method(exposed.method.localName),
      cachedRead: isCachedRead(exposed),
      headerFields,
    };
    const key = spec.segments.map((s) => ("literal" in s ? s.literal : "{}")).join("/");
    let group = byTemplate.get(key);
    if (!group) {
      group = { segments: spec.segments, byVerb: new Map(), allow: "" };
      byTemplate.set(key, group);
      if (spec.segments.every((s) => "literal" in s)) literal.set(spec.template, group);
      else templated.push(group);
    }
    const clash = group.byVerb.get(spec.method);
    if (clash) {
      throw new Error(
        `REST route ${spec.method} ${spec.template} is declared by ${clash.exposed.method.parent.typeName}.${clash.exposed.method.name} and ${exposed.method.parent.typeName}.${exposed.method.name}`,
      );
    }
    group.byVerb.set(spec.method, route);
  }
  for (const group of byTemplate.values()) {
    const verbs = [...group.byVerb.keys()];
    if (verbs.includes("GET")) verbs.push("HEAD");
    (group as { allow: string }).allow = verbs.join(", ");
  }
  // The most literal templates first: /api/x/special wins over /api/x/{id}.
  templated.sort((a, b) => countLiterals(b) - countLiterals(a));

  /**
   * The JSON of answers the read cache may hand out again, by message object: a kept answer is
   * encoded once, and a hit does no protobuf→JSON work.
   */
  const keptJson = new WeakMap<Message, string>();
  const responseJson = (route: Route, out: Message): string => {
    const kept = route.cachedRead ? keptJson.get(out) : undefined;
    if (kept !== undefined) return kept;
    const text = encodeResponse(route.exposed.method.output, out, route.spec.responseBody);
    if (route.cachedRead) keptJson.set(out, text);
    return text;
  };

  const match = (path: string): { group: PathRoutes; params: string[] } | undefined => {
    const exact = literal.get(path);
    if (exact) return { group: exact, params: [] };
    if (templated.length === 0) return undefined;
    const parts = path.slice(1).split("/");
    outer: for (const group of templated) {
      if (group.segments.length !== parts.length) continue;
      const params: string[] = [];
      for (let i = 0; i < parts.length; i++) {
        const seg = group.segments[i] as HttpRouteSpec["segments"][number];
        const part = parts[i] as string;
        if ("literal" in seg) {
          if (seg.literal !== part) continue outer;
        } else {
          if (part === "") continue outer;
          params.push(part);
        }
      }
      return { group, params };
    }
    return undefined;
  };

  const serve = async (route: Route, params: string[], req: NodeRequest, res: NodeResponse, target: RequestTarget, requestId: string) => {
    const { exposed, spec } = route;
    const headers = nodeHeaders(req);
    await admit(opts, exposed, opts.protection?.clientOf(req) ?? "", headers);
    const input = exposed.method.input;
    let msg: Message;
    if (spec.bodyIsRequest) {
      if (target.query !== "")
        throw new ConnectError(
          `${spec.method} ${spec.template} takes its input from the JSON body, not from query parameters`,
          Code.InvalidArgument,
        );
      msg = decodeJsonBody(input, await readBody(req, opts.maxBodyBytes));
    } else {
      msg = create(input);
      if (target.query !== "") {
        const grouped = new Map<string, string[]>();
        for (const [k, v] of new URLSearchParams(target.query)) {
          const list = grouped.get(k);
          if (list) list.push(v);
          else grouped.set(k, [v]);
        }
        for (const [k, values] of grouped) applyParam(input, msg, k, values);
      }
    }
    let p = 0;
    for (const seg of spec.segments) {
      if ("field" in seg) setFieldFromText(msg, seg.field, decodePathSegment(params[p++] as string, seg.name));
    }
    for (const [header, field] of route.headerFields) {
      const v = headers.get(header);
      if (v !== null && v !== "") setFieldFromText(msg, field, v);
    }
    const abort = new AbortController();
    const onClose = () => {
      if (!res.writableEnded) abort.abort(new ConnectError("client went away", Code.Canceled));
    };
    res.once("close", onClose);
    try {
      const out = (await route.call(msg, {
        timeoutMs: opts.requestTimeoutMs,
        signal: abort.signal,
        metadata: forwardedMetadata(headers, opts.forwardedHeaders, requestId),
      })) as Message;
      sendJson(res, spec.successStatus, responseJson(route, out));
    } finally {
      res.off("close", onClose);
    }
  };

  const fail = (req: NodeRequest, res: NodeResponse, route: Route | undefined, err: unknown) =>
    sendError(req, res, err, opts.logger, "rest call failed", route ? `${route.spec.method} ${route.spec.template}` : undefined);

  return {
    handle(req, res, target, requestId) {
      const found = match(target.path);
      if (!found) {
        if (target.path !== apiPrefix && !target.path.startsWith(`${apiPrefix}/`)) return undefined;
        fail(req, res, undefined, new HttpError(404, Code.NotFound, `no route for ${req.method} ${target.path}`));
        return unmatchedApiRoute;
      }
      const verb = req.method === "HEAD" ? "GET" : (req.method ?? "GET");
      const route = found.group.byVerb.get(verb);
      if (!route) {
        fail(
          req,
          res,
          undefined,
          new HttpError(405, Code.Unimplemented, `${req.method} is not allowed on ${target.path}`, { allow: found.group.allow }),
        );
        return unmatchedApiRoute;
      }
      serve(route, found.params, req, res, target, requestId).catch((err: unknown) => fail(req, res, route, err));
      return `${route.spec.method} ${route.spec.template}`;
    },
  };
}

function countLiterals(g: PathRoutes): number {
  return g.segments.filter((s) => "literal" in s).length;
}

function decodePathSegment(raw: string, name: string): string {
  if (!raw.includes("%")) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new ConnectError(`${name}: malformed percent-encoding in the path`, Code.InvalidArgument);
  }
}

/**
 * Reads a JSON request body as UTF-8 up to `limit` bytes (413 above it, see readRequestBody);
 * another Content-Type is refused (415).
 */
export async function readBody(req: NodeRequest, limit: number): Promise<string> {
  const declared = req.headers["content-length"];
  if (declared !== undefined && Number(declared) > limit) throw tooLarge(limit);
  const type = req.headers["content-type"];
  if (type !== undefined && type !== "" && !/^application\/([\w.+-]+\+)?json\b/i.test(type)) {
    throw new HttpError(415, Code.InvalidArgument, "content-type must be application/json");
  }
  return (await readRequestBody(req, limit)).toString("utf8");
}
