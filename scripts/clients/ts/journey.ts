// A client developer's journey with the TypeScript client (openapi-typescript types + openapi-fetch)
// generated from docs/api/openapi.yaml by scripts/clients/run.sh, which type-checks this file with
// `tsc --strict --noEmit` and runs it against a live server. Every answer is validated against the schema
// (Ajv). No cast of the API's types: answers are narrowed by status and by `type`.
// Usage: node build/journey.js BASE_URL SCHEMA_PATH

import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { Ajv, type ValidateFunction } from "ajv";
import { default as addFormats } from "ajv-formats";
import createClient, { type Middleware } from "openapi-fetch";
import { parse } from "yaml";
import type { components, paths } from "./build/schema.js";

type Schemas = components["schemas"];

const [baseUrl, schemaPath] = process.argv.slice(2);
if (!baseUrl || !schemaPath) throw new Error("usage: node build/journey.js BASE_URL SCHEMA_PATH");

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`journey: ${message}`);
}

// --- every answer validated against the schema ------------------------------------------------------
const document: unknown = parse(readFileSync(schemaPath, "utf8"));
const ajv = new Ajv({ strict: false, validateSchema: false, allErrors: true });
addFormats.default(ajv);
ajv.addSchema(document as object, "openapi");
const validators = new Map<string, ValidateFunction>();
let checked = 0;

const pointer = (...segments: string[]): string =>
  segments.map((s) => encodeURIComponent(s.replaceAll("~", "~0").replaceAll("/", "~1"))).join("/");

const validateAnswers: Middleware = {
  async onResponse({ request, response, schemaPath: path }) {
    const method = request.method.toLowerCase();
    const status = String(response.status);
    const type = (response.headers.get("Content-Type") ?? "").split(";")[0] ?? "";
    const key = `${method} ${path} ${status} ${type}`;
    let validate = validators.get(key);
    if (!validate) {
      const ref = `openapi#/${pointer("paths", path, method, "responses", status)}`;
      const bodyRef = type ? `${ref}/${pointer("content", type, "schema")}` : null;
      // The status must be documented, and so must the body's media type.
      check(ajv.getSchema(ref), `${key}: not in the schema`);
      validate = bodyRef ? ajv.compile({ $ref: bodyRef }) : ajv.compile({ not: {} });
      validators.set(key, validate);
    }
    if (type) {
      const body: unknown = await response.clone().json();
      check(validate(body), `${key}: ${ajv.errorsText(validate.errors)}`);
    }
    checked += 1;
    return undefined;
  },
};

function client(authorization?: string) {
  const api = createClient<paths>({ baseUrl });
  api.use(validateAnswers);
  if (authorization) {
    api.use({
      onRequest({ request }) {
        request.headers.set("Authorization", authorization);
        return request;
      },
    });
  }
  return api;
}

function cursorOf(url: string | null): string {
  check(url, "a next page");
  const cursor = new URL(url).searchParams.get("cursor");
  check(cursor, "a cursor in the next URL");
  return cursor;
}

// --- the journey -------------------------------------------------------------------------------------
const anonymous = client();
const email = `journey-${randomUUID().slice(0, 12)}@example.com`;
const password = "a long journey passphrase";

// Register, log in, refresh (the old refresh token is spent).
const registered = await anonymous.POST("/api/v1/auth/register", { body: { email, password } });
check(registered.data?.user.email === email, "registered");
const login = await anonymous.POST("/api/v1/auth/token", { body: { email, password } });
check(login.data, "logged in");
const refreshed = await anonymous.POST("/api/v1/auth/token/refresh", { body: { refresh: login.data.refresh } });
check(refreshed.data, "refreshed");
const reused = await anonymous.POST("/api/v1/auth/token/refresh", { body: { refresh: login.data.refresh } });
check(reused.response.status === 401 && reused.error?.code === "authentication_failed", "a spent refresh token");
const api = client(`Bearer ${refreshed.data.access}`);

// Lists and items, a filter and the next page.
const created = await api.POST("/api/v1/lists", { body: { name: "Groceries" } });
check(created.response.status === 201 && created.data, "list created");
const groceries: Schemas["List"] = created.data;
check(created.response.headers.get("ETag") === '"1"', "the ETag of a new list");
for (const [position, title] of ["Milk", "Bread", "Eggs"].entries()) {
  const item = await api.POST("/api/v1/items", { body: { list: groceries.id, title, position, priority: 2 } });
  check(item.response.status === 201, `item ${title} created`);
}
const lists = await api.GET("/api/v1/lists");
check(lists.data?.results.map((list) => list.name).join() === "Groceries", "the lists");
const query = { list: groceries.id, status: "open", ordering: "position", limit: 2 } as const;
const first = await api.GET("/api/v1/items", { params: { query } });
check(first.data?.results.map((item) => item.title).join() === "Milk,Bread", "the first page");
const second = await api.GET("/api/v1/items", {
  params: { query: { ...query, cursor: cursorOf(first.data.next) } },
});
check(second.data?.results.map((item) => item.title).join() === "Eggs", "the next page");
check(second.data.next === null, "no page after the last");
const [milk, bread] = first.data.results;
check(milk && bread, "two items");

// Updates: with the base version in the body, then with If-Match; a 409 and a 412.
const path = { path: { id: milk.id } };
const renamed = await api.PATCH("/api/v1/items/{id}", { params: path, body: { title: "Oat milk", version: 1 } });
check(renamed.data?.version === 2, "updated with a body version");
const done = await api.PATCH("/api/v1/items/{id}", {
  params: { ...path, header: { "If-Match": `"${renamed.data.version}"` } },
  body: { status: "done" },
});
check(done.data?.version === 3 && done.data.completed_at !== null, "updated with If-Match");
const conflict = await api.PATCH("/api/v1/items/{id}", { params: path, body: { title: "Soy milk", version: 1 } });
check(conflict.response.status === 409 && conflict.error?.code === "version_conflict", "a 409");
check(conflict.error.conflicting_fields?.join() === "title", "the conflicting field");
const stale = await api.PATCH("/api/v1/items/{id}", {
  params: { ...path, header: { "If-Match": '"1"' } },
  body: { notes: "x" },
});
check(stale.response.status === 412 && stale.error?.code === "precondition_failed", "a 412");

// Full sync, then a delete and a push, then an incremental sync from the push's cursor.
const full = await api.GET("/api/v1/sync");
check(full.data && !full.data.has_more, "a full sync");
const listIds = full.data.changes.flatMap((change) => (change.type === "list" ? [change.id] : []));
check(listIds.join() === groceries.id, "the list in the full sync");
const deleted = await api.DELETE("/api/v1/items/{id}", {
  params: { path: { id: bread.id }, query: { version: bread.version } },
});
check(deleted.response.status === 204, "deleted");
const butter = randomUUID();
const operation: Schemas["ItemOperation"] = {
  op_id: randomUUID(),
  type: "item",
  action: "create",
  id: butter,
  data: { list: groceries.id, title: "Butter" },
};
const pushed = await api.POST("/api/v1/sync", { body: { cursor: full.data.cursor, operations: [operation] } });
check(pushed.data?.results.map((result) => result.status).join() === "applied", "the push applied");
const tombstone = pushed.data.changes.find((change) => change.id === bread.id);
check(tombstone?.type === "item" && tombstone.deleted && tombstone.data === undefined, "the tombstone");
const pushedItem = pushed.data.changes.find((change) => change.id === butter);
check(pushedItem?.type === "item" && pushedItem.data?.title === "Butter", "the pushed item");
const notes = await api.PATCH("/api/v1/items/{id}", { params: path, body: { notes: "2 l", version: 3 } });
check(notes.data?.version === 4, "notes");
const incremental = await api.GET("/api/v1/sync", { params: { query: { cursor: pushed.data.cursor } } });
const [change] = incremental.data?.changes ?? [];
check(change?.type === "item" && change.id === milk.id && change.data?.notes === "2 l", "an incremental sync");

// API keys: a read-only key reads and may not write; revoked, it stops working.
const key = await api.POST("/api/v1/user/api-keys", { body: { name: "reader", scopes: ["read"] } });
check(key.response.status === 201 && key.data, "an API key");
const reader = client(`Api-Key ${key.data.key}`);
check((await reader.GET("/api/v1/lists")).response.status === 200, "a read-only key reads");
const refused = await reader.POST("/api/v1/lists", { body: { name: "No" } });
check(refused.response.status === 403 && refused.error?.code === "permission_denied", "and may not write");
const keys = await api.GET("/api/v1/user/api-keys");
check(keys.data?.results.map((k) => k.id).join() === key.data.id, "the key listed");
const revoked = await api.DELETE("/api/v1/user/api-keys/{key_id}", { params: { path: { key_id: key.data.id } } });
check(revoked.response.status === 204, "revoked");
check((await reader.GET("/api/v1/lists")).response.status === 401, "a revoked key");

// Export: the whole document, typed.
const exported = await api.GET("/api/v1/user/export");
check(exported.data?.lists.map((list) => list.name).join() === "Groceries", "the export's lists");
const titles = exported.data.items.map((item) => item.title).sort();
check(titles.join() === "Butter,Eggs,Oat milk", "the export's items");

console.log(`typescript journey: passed, ${checked} answers valid against the schema`);
