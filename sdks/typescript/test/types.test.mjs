// The interfaces of src/types.ts against the gateway's /openapi.json, key by key (read
// with the TypeScript compiler's own checker, inherited members included).
import assert from "node:assert/strict";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { env, getJson } from "./stack.mjs";

function interfaces() {
  const file = fileURLToPath(new URL("../src/types.ts", import.meta.url));
  const program = ts.createProgram([file], { strict: true });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file);
  const found = {};
  ts.forEachChild(source, (node) => {
    if (!ts.isInterfaceDeclaration(node)) return;
    const type = checker.getTypeAtLocation(node.name);
    found[node.name.text] = Object.fromEntries(
      checker.getPropertiesOfType(type).map((p) => [p.name, (p.flags & ts.SymbolFlags.Optional) === 0]),
    );
  });
  return found;
}

function schemaKeys(schema) {
  const required = new Set(schema.required ?? []);
  return Object.fromEntries(Object.keys(schema.properties).map((name) => [name, required.has(name)]));
}

test("types match /openapi.json", async () => {
  const api = await getJson(`${env("MAILPASS_BASE_URL")}/openapi.json`);
  const body = (path) => api.paths[path].post.requestBody.content["application/json"].schema;
  const variants = Object.fromEntries(body("/api/v1/mail/send").oneOf.map((v) => [v.title, v]));
  const expected = {
    SendRequest: schemaKeys(variants.SendRequest),
    TemplatedSendRequest: schemaKeys(variants.TemplatedSendRequest),
    BatchRequest: schemaKeys(body("/api/v1/mail/send-batch")),
    Attachment: schemaKeys(variants.SendRequest.properties.attachments.items),
  };
  const sdkOnly = new Set(["Response", "MessageQuery"]);
  const found = interfaces();
  assert.ok(Object.keys(found).length > 15);
  for (const [name, keys] of Object.entries(found)) {
    if (sdkOnly.has(name)) continue;
    const schema = api.components.schemas[name];
    const want = expected[name] ?? (schema ? schemaKeys(schema) : undefined);
    assert.ok(want, `${name} is not a schema of /openapi.json`);
    assert.deepEqual(keys, want, `${name}: keys (=> required) differ from /openapi.json`);
  }
  const queryParams = api.paths["/api/v1/mail/messages"].get.parameters.map((p) => p.name).sort();
  assert.deepEqual(Object.keys(found.MessageQuery).sort(), queryParams);
});
