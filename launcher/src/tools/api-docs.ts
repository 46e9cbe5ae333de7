import { execFileSync } from "node:child_process";
import { createFileRegistry, type DescFile, type DescService, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { getComments } from "@bufbuild/protoplugin";
import {
  buildOpenApi,
  type CommentOf,
  defaultHeaderFields,
  renderHtml,
  renderIndexHtml,
  renderMarkdown,
  renderMarkdownIndex,
  serviceReference,
} from "@shopmesh/edge";

/**
 * The API documentation generated from the contracts (`npm run docs:api` writes it, CI checks it
 * is fresh): the OpenAPI document of the edge's REST routes and one reference page per service,
 * from the descriptors `buf build` compiles with their source comments.
 */

const root = new URL("../../../", import.meta.url);

/** Path (relative to the repository) → content of every generated file. */
export function apiDocsFiles(version: string): Map<string, string> {
  const image = execFileSync("buf", ["build", "--as-file-descriptor-set", "-o", "-#format=binpb"], {
    cwd: root,
    maxBuffer: 64 * 1024 * 1024,
  });
  const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, image));
  const files: DescFile[] = [];
  for (const f of registry.files) if (/^shop\/(?!api\/)/.test(f.proto.name)) files.push(f);
  const services: DescService[] = files.flatMap((f) => f.services);
  const comments: CommentOf = (desc) => {
    // protoplugin brings its own copy of @bufbuild/protobuf: the same descriptors, other types.
    const c = getComments(desc as unknown as Parameters<typeof getComments>[0]).leading;
    if (c === undefined || c.trim() === "") return undefined;
    // "// text" leaves " text" on each line.
    return c
      .split("\n")
      .map((line) => line.replace(/^ /, "").trimEnd())
      .join("\n")
      .trim();
  };

  const out = new Map<string, string>();
  const doc = buildOpenApi(services, { version, headerFields: defaultHeaderFields, comments });
  out.set("docs/api/openapi.json", `${JSON.stringify(doc, null, 2)}\n`);
  const refs = services.map((s) =>
    serviceReference(
      s,
      files.filter((f) => f.proto.package === s.file.proto.package),
      comments,
    ),
  );
  for (const ref of refs) {
    out.set(`docs/rpc/${ref.slug}.md`, renderMarkdown(ref));
    out.set(`docs/api/rpc/${ref.slug}.html`, renderHtml(ref));
  }
  out.set("docs/rpc/README.md", renderMarkdownIndex(refs));
  out.set("docs/api/index.html", renderIndexHtml(refs));
  return out;
}
