import {
  type DescEnum,
  type DescField,
  type DescFile,
  type DescMessage,
  type DescMethod,
  type DescService,
  ScalarType,
} from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import type { CommentOf } from "./openapi.js";
import { callPolicyOf } from "@shopmesh/platform";
import { publicSurface } from "../rpc/public-surface.js";

/**
 * The reference of one service's RPC surface, from its descriptors and proto comments: its
 * methods (kind, who may call them through the edge, REST route), the messages and enums of its
 * package, the events among them. Rendered as Markdown (docs/rpc/) and HTML (served at /docs).
 */
export interface ServiceReference {
  /** Short name used in file names and URLs: "catalog" for shop.catalog.v1.CatalogService. */
  readonly slug: string;
  readonly name: string;
  readonly typeName: string;
  readonly description: string;
  readonly methods: readonly MethodReference[];
  readonly messages: readonly MessageReference[];
  readonly enums: readonly EnumReference[];
}

export interface MethodReference {
  readonly name: string;
  readonly kind: "unary" | "server streaming" | "client streaming" | "bidi streaming";
  readonly input: string;
  readonly output: string;
  /**
   * Through the edge ("public", "signed-in user", or "internal (inside the mesh only)"), then who
   * the method's call policy lets in on the service's own port.
   */
  readonly callers: string;
  /** "GET /api/products/{id}" when the method has a REST route. */
  readonly rest: string | undefined;
  readonly idempotency: "no side effects" | "idempotent" | undefined;
  readonly rateLimit: string | undefined;
  readonly description: string;
}

export interface MessageReference {
  readonly name: string;
  readonly typeName: string;
  /** From an events.proto: published on the bus. */
  readonly event: boolean;
  readonly description: string;
  readonly fields: ReadonlyArray<{ readonly name: string; readonly type: string; readonly description: string }>;
}

export interface EnumReference {
  readonly name: string;
  readonly typeName: string;
  readonly description: string;
  readonly values: ReadonlyArray<{ readonly name: string; readonly number: number; readonly description: string }>;
}

const kinds = {
  unary: "unary",
  server_streaming: "server streaming",
  client_streaming: "client streaming",
  bidi_streaming: "bidi streaming",
} as const;

/** The reference of `service`; `files` are the files of its package (messages, enums, events). */
export function serviceReference(service: DescService, files: readonly DescFile[], comment: CommentOf): ServiceReference {
  const exposed = new Map(publicSurface([service]).map((m) => [m.method, m]));
  const pkg = service.file.proto.package;
  const messages: MessageReference[] = [];
  const enums: EnumReference[] = [];
  const addEnum = (e: DescEnum) =>
    enums.push({
      name: e.name,
      typeName: e.typeName,
      description: comment(e) ?? "",
      values: e.values.map((v) => ({ name: v.name, number: v.number, description: comment(v) ?? "" })),
    });
  const addMessage = (m: DescMessage, event: boolean) => {
    messages.push({
      name: m.typeName.slice(pkg.length + 1),
      typeName: m.typeName,
      event,
      description: comment(m) ?? "",
      fields: m.fields.map((f) => ({ name: f.name, type: typeOf(f, pkg), description: comment(f) ?? "" })),
    });
    for (const nested of m.nestedMessages) addMessage(nested, event);
    for (const e of m.nestedEnums) addEnum(e);
  };
  for (const file of files) {
    const event = /(^|\/)events\.proto$/.test(file.proto.name);
    for (const m of file.messages) addMessage(m, event);
    for (const e of file.enums) addEnum(e);
  }
  return {
    slug: pkg.split(".")[1] ?? service.name,
    name: service.name,
    typeName: service.typeName,
    description: comment(service) ?? "",
    methods: service.methods.map((m): MethodReference => {
      const e = exposed.get(m);
      return {
        name: m.name,
        kind: kinds[m.methodKind],
        input: m.input.typeName.startsWith(`${pkg}.`) ? m.input.typeName.slice(pkg.length + 1) : m.input.typeName,
        output: m.output.typeName.startsWith(`${pkg}.`) ? m.output.typeName.slice(pkg.length + 1) : m.output.typeName,
        callers: `${e === undefined ? "internal (inside the mesh only)" : e.access === "user" ? "signed-in user" : e.access === "operator" ? "operator" : "public"}; on its port: ${policyCallers(m)}`,
        rest: e?.http ? `${e.http.method} ${e.http.template}` : undefined,
        idempotency:
          m.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS
            ? "no side effects"
            : m.idempotency === MethodOptions_IdempotencyLevel.IDEMPOTENT
              ? "idempotent"
              : undefined,
        rateLimit: e?.rateLimit === "credentials" ? "credentials (stricter per-address limit)" : undefined,
        description: comment(m) ?? "",
      };
    }),
    messages,
    enums,
  };
}

function typeOf(f: DescField, pkg: string): string {
  const name = (t: DescMessage | DescEnum) => (t.typeName.startsWith(`${pkg}.`) ? t.typeName.slice(pkg.length + 1) : t.typeName);
  const scalar = (t: ScalarType) => ScalarType[t].toLowerCase();
  switch (f.fieldKind) {
    case "scalar":
      return scalar(f.scalar);
    case "enum":
      return name(f.enum);
    case "message":
      return name(f.message);
    case "list":
      return `repeated ${f.listKind === "scalar" ? scalar(f.scalar) : name(f.listKind === "enum" ? f.enum : f.message)}`;
    case "map": {
      const v = f.mapKind === "scalar" ? scalar(f.scalar) : name(f.mapKind === "enum" ? f.enum : f.message);
      return `map<${scalar(f.mapKey)}, ${v}>`;
    }
  }
}

const oneLine = (s: string) => s.replace(/\s*\n\s*/g, " ").trim();
const cell = (s: string) => oneLine(s).replace(/\|/g, "\\|");

/** The Markdown page of a service (docs/rpc/<slug>.md). */
export function renderMarkdown(ref: ServiceReference): string {
  const out: string[] = [];
  out.push(`# ${ref.name}`, "", `\`${ref.typeName}\` — generated from the proto comments by \`npm run docs:api\`; do not edit.`, "");
  if (ref.description) out.push(ref.description, "");
  out.push("## Methods", "", "| method | kind | callers | REST |", "|---|---|---|---|");
  for (const m of ref.methods)
    out.push(`| [${m.name}](#${m.name.toLowerCase()}) | ${m.kind} | ${m.callers} | ${m.rest ? `\`${m.rest}\`` : ""} |`);
  out.push("");
  for (const m of ref.methods) {
    out.push(
      `### ${m.name}`,
      "",
      `\`rpc ${m.name}(${m.kind.includes("client") || m.kind.startsWith("bidi") ? "stream " : ""}${m.input}) returns (${m.kind.includes("server") || m.kind.startsWith("bidi") ? "stream " : ""}${m.output})\``,
      "",
    );
    if (m.description) out.push(m.description, "");
    const facts = [`Callers: ${m.callers}.`];
    if (m.rest) facts.push(`REST: \`${m.rest}\`.`);
    if (m.idempotency) facts.push(`Idempotency: ${m.idempotency}.`);
    if (m.rateLimit) facts.push(`Rate limit: ${m.rateLimit}.`);
    out.push(facts.join(" "), "");
  }
  const section = (title: string, list: readonly MessageReference[]) => {
    if (list.length === 0) return;
    out.push(`## ${title}`, "");
    for (const m of list) {
      out.push(`### ${m.name}`, "");
      if (m.description) out.push(m.description, "");
      if (m.fields.length === 0) {
        out.push("No fields.", "");
        continue;
      }
      out.push("| field | type | description |", "|---|---|---|");
      for (const f of m.fields) out.push(`| \`${f.name}\` | \`${f.type}\` | ${cell(f.description)} |`);
      out.push("");
    }
  };
  section(
    "Messages",
    ref.messages.filter((m) => !m.event),
  );
  section(
    "Events",
    ref.messages.filter((m) => m.event),
  );
  if (ref.enums.length > 0) {
    out.push("## Enums", "");
    for (const e of ref.enums) {
      out.push(`### ${e.name}`, "");
      if (e.description) out.push(e.description, "");
      out.push("| value | number | description |", "|---|---|---|");
      for (const v of e.values) out.push(`| \`${v.name}\` | ${v.number} | ${cell(v.description)} |`);
      out.push("");
    }
  }
  return `${out.join("\n").trimEnd()}\n`;
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
/** Comment text as HTML paragraphs, `code` spans kept. */
const prose = (s: string) =>
  s
    .split(/\n\s*\n/)
    .filter((p) => p.trim() !== "")
    .map((p) => `<p>${esc(oneLine(p)).replace(/`([^`]+)`/g, "<code>$1</code>")}</p>`)
    .join("\n");

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · shopmesh docs</title>
<link rel="stylesheet" href="/docs/docs.css">
<link rel="icon" href="data:,">
</head>
<body>
<header><nav aria-label="Documentation"><a href="/docs">shopmesh docs</a> · <a href="/docs/api">REST API</a> · <a href="/">Shop</a></nav></header>
<main>
${body}
</main>
</body>
</html>
`;
}

/** The HTML page of a service, served at /docs/rpc/<slug>. */
export function renderHtml(ref: ServiceReference): string {
  const b: string[] = [];
  b.push(`<h1>${esc(ref.name)}</h1>`, `<p><code>${esc(ref.typeName)}</code></p>`, prose(ref.description));
  b.push(
    '<h2 id="methods">Methods</h2>',
    "<table><thead><tr><th>method</th><th>kind</th><th>callers</th><th>REST</th></tr></thead><tbody>",
  );
  for (const m of ref.methods) {
    b.push(
      `<tr><td><a href="#${esc(m.name)}">${esc(m.name)}</a></td><td>${m.kind}</td><td>${esc(m.callers)}</td><td>${m.rest ? `<code>${esc(m.rest)}</code>` : ""}</td></tr>`,
    );
  }
  b.push("</tbody></table>");
  for (const m of ref.methods) {
    b.push(`<section id="${esc(m.name)}"><h3>${esc(m.name)}</h3>`);
    b.push(`<p><code>${esc(m.input)}</code> → <code>${esc(m.output)}</code> (${m.kind})</p>`, prose(m.description));
    const facts = [`Callers: ${esc(m.callers)}.`];
    if (m.rest) facts.push(`REST: <code>${esc(m.rest)}</code>.`);
    if (m.idempotency) facts.push(`Idempotency: ${m.idempotency}.`);
    if (m.rateLimit) facts.push(`Rate limit: ${esc(m.rateLimit)}.`);
    b.push(`<p>${facts.join(" ")}</p></section>`);
  }
  const section = (title: string, list: readonly MessageReference[]) => {
    if (list.length === 0) return;
    b.push(`<h2>${title}</h2>`);
    for (const m of list) {
      b.push(`<section id="${esc(m.name)}"><h3>${esc(m.name)}</h3>`, prose(m.description));
      if (m.fields.length > 0) {
        b.push("<table><thead><tr><th>field</th><th>type</th><th>description</th></tr></thead><tbody>");
        for (const f of m.fields)
          b.push(
            `<tr><td><code>${esc(f.name)}</code></td><td><code>${esc(f.type)}</code></td><td>${esc(oneLine(f.description))}</td></tr>`,
          );
        b.push("</tbody></table>");
      }
      b.push("</section>");
    }
  };
  section(
    "Messages",
    ref.messages.filter((m) => !m.event),
  );
  section(
    "Events",
    ref.messages.filter((m) => m.event),
  );
  if (ref.enums.length > 0) {
    b.push("<h2>Enums</h2>");
    for (const e of ref.enums) {
      b.push(`<section id="${esc(e.name)}"><h3>${esc(e.name)}</h3>`, prose(e.description));
      b.push("<table><thead><tr><th>value</th><th>number</th><th>description</th></tr></thead><tbody>");
      for (const v of e.values)
        b.push(`<tr><td><code>${esc(v.name)}</code></td><td>${v.number}</td><td>${esc(oneLine(v.description))}</td></tr>`);
      b.push("</tbody></table></section>");
    }
  }
  return page(ref.name, b.filter((x) => x !== "").join("\n"));
}

/** The /docs index: the REST reference and one page per service. */
export function renderIndexHtml(refs: readonly ServiceReference[]): string {
  const items = refs.map((r) => `<li><a href="/docs/rpc/${esc(r.slug)}">${esc(r.name)}</a> — ${esc(firstSentence(r.description))}</li>`);
  return page(
    "Documentation",
    [
      "<h1>shopmesh documentation</h1>",
      "<h2>REST API</h2>",
      '<p><a href="/docs/api">The REST API reference</a>, where requests can be tried against this shop, and its OpenAPI 3.1 document: <a href="/api/openapi.json">/api/openapi.json</a>.</p>',
      "<h2>RPC services</h2>",
      "<p>Every method of every service, with who may call it: through the edge over Connect, gRPC-Web and gRPC (public or signed-in user methods), or only inside the mesh.</p>",
      `<ul>\n${items.join("\n")}\n</ul>`,
    ].join("\n"),
  );
}

/** The Markdown index of docs/rpc. */
export function renderMarkdownIndex(refs: readonly ServiceReference[]): string {
  const lines = [
    "# RPC reference",
    "",
    "One page per service, generated from the proto comments by `npm run docs:api` (do not edit). The edge",
    "serves the same pages at `/docs`, next to the REST reference at `/docs/api`",
    "([OpenAPI document](../api/openapi.json)).",
    "",
    ...refs.map((r) => `- [${r.name}](${r.slug}.md): ${firstSentence(r.description)}`),
  ];
  return `${lines.join("\n")}\n`;
}

function firstSentence(s: string): string {
  const flat = oneLine(s);
  const m = /^(.+?\.)(\s|$)/.exec(flat);
  return m ? (m[1] as string) : flat;
}

/** Who a method's call policy lets in on its service's port: workloads, and whether operators. */
function policyCallers(method: DescMethod): string {
  const policy = callPolicyOf(method);
  if (!policy) return "nobody (no call policy)";
  const who = [...policy.workloads, ...(policy.operator ? ["an operator (or the reconcile tool)"] : [])];
  return who.length > 0 ? who.join(", ") : "nobody";
}
