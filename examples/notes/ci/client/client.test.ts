// A client generated from examples/notes/openapi.json by openapi-typescript
// (schema.d.ts, written by ../openapi.sh), called with openapi-fetch against
// the running notes service at NOTES_URL: sign up, create, list, delete.
// `tsc --noEmit` checks every call and field against the document.
import { test } from "node:test";
import assert from "node:assert/strict";
import createClient from "openapi-fetch";
import type { paths } from "./schema.js";

const baseUrl = process.env.NOTES_URL;
if (!baseUrl) throw new Error("NOTES_URL is not set");

test("sign up, create, list and delete a note through the typed client", async () => {
  const client = createClient<paths>({ baseUrl });
  const email = `client-${Date.now()}@example.com`;

  const signup = await client.POST("/api/auth/signup", {
    body: { email, password: "correct horse battery" },
  });
  assert.equal(signup.response.status, 201);
  assert.equal(signup.data?.user.email, email);
  const cookie = signup.response.headers.get("set-cookie")?.split(";")[0];
  assert.ok(cookie, "a session cookie");
  const headers = { cookie };

  const created = await client.POST("/api/notes", {
    headers,
    body: { title: "Milk", body: "two litres", public: false },
  });
  assert.equal(created.response.status, 201);
  const note = created.data;
  assert.ok(note);
  assert.equal(note.title, "Milk");

  const page = await client.GET("/api/notes", {
    headers,
    params: { query: { q: "milk", limit: "10" } },
  });
  assert.equal(page.response.status, 200);
  assert.deepEqual(
    page.data?.notes.map((n) => n.id),
    [note.id],
  );

  const removed = await client.DELETE("/api/notes/{id}", {
    headers,
    params: { path: { id: String(note.id) } },
  });
  assert.equal(removed.response.status, 204);

  const gone = await client.GET("/api/notes/{id}", {
    headers,
    params: { path: { id: String(note.id) } },
  });
  assert.equal(gone.response.status, 404);
  assert.equal(gone.error?.error.status, 404);
});
