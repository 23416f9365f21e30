// The notes page in headless Chromium, driven as a person would: sign up,
// write, search, edit and delete notes, post the no-JavaScript form, and see
// a note made through the API (from this process, not the page) appear live.
//
// run.sh starts the server and sets NOTES_URL; to run by hand against a
// server you started: NOTES_URL=http://127.0.0.1:3000 npm test
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const BASE = process.env.NOTES_URL ?? "http://127.0.0.1:3000";
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), "artifacts");
const EMAIL = `e2e-${Date.now()}@example.com`;
const PASSWORD = "correct horse battery";

let context;
let page;
let profile;
const consoleErrors = [];

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  profile = mkdtempSync(join(tmpdir(), "notes-chromium-"));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: { width: 900, height: 1000 },
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(10_000);
  page.on("console", (msg) => {
    // HTTP errors the test provokes (401, 422) are logged as "Failed to
    // load resource"; anything else is a bug in the page.
    if (msg.type() === "error" && !msg.text().startsWith("Failed to load resource")) {
      consoleErrors.push(msg.text());
    }
  });
  page.on("pageerror", (err) => consoleErrors.push(String(err)));
});

after(async () => {
  if (page) await page.screenshot({ path: join(ARTIFACTS, "last.png"), fullPage: true }).catch(() => {});
  await context?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

const note = (title) => page.locator("#notes li", { hasText: title });

test("sign up", async () => {
  await page.goto(BASE);
  await page.locator("#auth").waitFor();
  assert.equal(await page.locator("#app").isHidden(), true, "notes hidden until signed in");
  await page.fill("#email", EMAIL);
  await page.fill("#password", "short");
  await page.click("#signup");
  await page.locator("#auth-error", { hasText: "password must be at least 8 characters" }).waitFor();

  await page.fill("#password", PASSWORD);
  await page.click("#signup");
  await page.locator("#app").waitFor();
  assert.equal(await page.textContent("#who"), EMAIL);
  // The session cookie is HttpOnly: the page's scripts cannot read it.
  assert.equal(await page.evaluate(() => document.cookie), "");
  const [cookie] = await context.cookies(BASE);
  assert.equal(cookie.name, "session");
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, "Lax");
  // The event stream is open.
  await page.locator("#live.on").waitFor();
});

test("create a note and see it listed", async () => {
  await page.fill("#new-title", "Buy milk");
  await page.fill("#new-body", "two litres\nand eggs");
  await page.click("#add");
  await note("Buy milk").waitFor();
  assert.match(await note("Buy milk").textContent(), /two litres\s+and eggs/);
  assert.equal(await page.inputValue("#new-title"), "", "the form is cleared");

  // Validation errors come back from the server and are shown.
  await page.fill("#new-title", "   ");
  await page.click("#add");
  await page.locator("#new-error", { hasText: "title must not be empty" }).waitFor();
  await page.fill("#new-title", "Call the plumber");
  await page.check("#new-public");
  await page.click("#add");
  await note("Call the plumber").waitFor();
  assert.match(await note("Call the plumber").textContent(), /public/);
  assert.equal(await page.locator("#notes li").count(), 2);
});

test("search", async () => {
  await page.fill("#search", "MILK");
  await page.waitForFunction(() => document.querySelectorAll("#notes li").length === 1);
  await note("Buy milk").waitFor();
  await page.fill("#search", "nothing like this");
  await page.locator("#empty", { hasText: "No notes match." }).waitFor();
  await page.fill("#search", "");
  await page.waitForFunction(() => document.querySelectorAll("#notes li").length === 2);
});

test("edit a note", async () => {
  await note("Buy milk").locator("[data-action=edit]").click();
  const form = page.locator("#notes form.edit");
  await form.locator("input[name=title]").fill("Buy oat milk");
  await form.locator("textarea[name=body]").fill("one litre");
  await form.locator("button[type=submit]").click();
  await note("Buy oat milk").waitFor();
  assert.match(await note("Buy oat milk").textContent(), /one litre/);
  assert.match(await note("Buy oat milk").textContent(), /version 2/);
});

test("a note made through the API appears live", async () => {
  // Mark this page load: if the page reloaded, the mark would be gone.
  await page.evaluate(() => { window.__sameLoad = true; });
  const signin = await fetch(`${BASE}/api/auth/signin`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: EMAIL, password: PASSWORD }),
  });
  assert.equal(signin.status, 200);
  const session = signin.headers.get("set-cookie").split(";")[0];
  const created = await fetch(`${BASE}/api/notes`, {
    method: "POST",
    headers: { "content-type": "application/json", cookie: session },
    body: JSON.stringify({ title: "Made elsewhere", body: "via fetch" }),
  });
  assert.equal(created.status, 201);
  await note("Made elsewhere").waitFor();

  // An edit and a delete from elsewhere show up too.
  const { id } = await created.json();
  const patched = await fetch(`${BASE}/api/notes/${id}`, {
    method: "PATCH",
    headers: { "content-type": "application/json", cookie: session },
    body: JSON.stringify({ title: "Changed elsewhere" }),
  });
  assert.equal(patched.status, 200);
  await note("Changed elsewhere").waitFor();
  const deleted = await fetch(`${BASE}/api/notes/${id}`, { method: "DELETE", headers: { cookie: session } });
  assert.equal(deleted.status, 204);
  await note("Changed elsewhere").waitFor({ state: "detached" });
  assert.equal(await page.evaluate(() => window.__sameLoad), true, "no reload: it came over the event stream");
});

test("the plain HTML form posts and comes back with a 303", async () => {
  await page.click("details summary");
  await page.fill("#plain-title", "Posted without JavaScript");
  await page.fill("#plain-body", "a real form post");
  await Promise.all([page.waitForURL(`${BASE}/`), page.click("#plain-form button[type=submit]")]);
  await page.locator("#flash", { hasText: "Note saved." }).waitFor();
  await note("Posted without JavaScript").waitFor();
});

test("delete a note", async () => {
  await page.locator("#live.on").waitFor();
  await note("Buy oat milk").locator("[data-action=delete]").click();
  await note("Buy oat milk").waitFor({ state: "detached" });
  assert.equal(await page.locator("#notes li").count(), 2);
  await page.screenshot({ path: join(ARTIFACTS, "notes.png"), fullPage: true });
});

test("sign out, and back in", async () => {
  await page.click("#signout");
  await page.locator("#auth").waitFor();
  const res = await page.evaluate(async () => (await fetch("/api/notes")).status);
  assert.equal(res, 401, "the session is over on the server");
  await page.fill("#email", EMAIL);
  await page.fill("#password", PASSWORD);
  await page.click("#signin");
  await note("Call the plumber").waitFor();
  assert.deepEqual(consoleErrors, [], "no script errors in the page");
});
