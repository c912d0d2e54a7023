// Drives the ops console in headless Chromium (Debian's) against a running shopscore:
// signs in, loads every view, checks that the figures shown equal the REST API's, that
// the page logs no error and breaks no Content-Security-Policy rule, and saves
// screenshots. Started by scripts/console-test, which sets the environment:
//   BASE (http://127.0.0.1:PORT), OPS_KEY, ADMIN_KEY, MERCHANT_KEY, MERCHANT_SHOP,
//   SHOTS (a directory), MEASURE (shop-page loads to time; 0: none).
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const env = process.env;
const BASE = env.BASE;
const SHOTS = env.SHOTS || "console-shots";
const MEASURE = Number(env.MEASURE || 0);
mkdirSync(SHOTS, { recursive: true });

let failures = 0;
function check(ok, what) {
  if (ok) {
    console.log(`  ok   ${what}`);
  } else {
    failures += 1;
    console.log(`  FAIL ${what}`);
  }
}
function same(shown, expected, what) {
  const short = (x) => { const j = JSON.stringify(x); return j.length > 60 ? `${j.slice(0, 57)}…` : j; };
  check(shown === expected, shown === expected ? `${what}: ${short(shown)}` : `${what}: shown ${JSON.stringify(shown)}, API ${JSON.stringify(expected)}`);
}

async function api(key, path, init = {}) {
  const res = await fetch(BASE + path, { ...init, headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" } });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

// The console's own formatting, restated: two decimals for scores, four at most for
// metric values, a dash for null.
const score = (v) => (v === null || v === undefined ? "—" : Number(v).toFixed(2));
const val = (v) => (v === null || v === undefined ? "—" : Number.isInteger(v) ? String(v) : String(Number(v.toFixed(4))));

const browser = await chromium.launch({
  executablePath: env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});

/// A fresh tab that records every console error, page error and failed request.
async function tab() {
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  const page = await context.newPage();
  page.problems = [];
  page.on("console", (m) => { if (m.type() === "error") page.problems.push(`console: ${m.text()}`); });
  page.on("pageerror", (e) => page.problems.push(`page error: ${e.message}`));
  page.on("requestfailed", (r) => page.problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on("response", (r) => { if (r.status() >= 400) page.problems.push(`HTTP ${r.status()}: ${r.url()}`); });
  return page;
}

/// Waits until the view is drawn; returns the render time in ms (hash change → drawn).
async function ready(page, view) {
  await page.waitForSelector(`main[data-state="ready"][data-view="${view}"]`, { timeout: 15000 });
  return page.evaluate((v) => performance.getEntriesByName(`render:${v}`).pop()?.duration, view);
}

function noProblems(page, step, allowed = []) {
  const left = page.problems.filter((p) => !allowed.some((re) => re.test(p)));
  check(left.length === 0, `${step}: no console error${left.length ? `: ${left.join(" | ")}` : ""}`);
  page.problems.length = 0;
}

async function go(page, hash, view) {
  await page.evaluate((h) => { location.hash = h; }, hash);
  return ready(page, view);
}

async function signIn(page, key) {
  await page.goto(`${BASE}/console`);
  await page.fill("#key", key);
  await page.click("form#login button[type=submit]");
}

// ---- the page itself --------------------------------------------------------
console.log("== headers");
{
  const res = await fetch(`${BASE}/console`);
  const csp = res.headers.get("content-security-policy") || "";
  check(res.status === 200 && (res.headers.get("content-type") || "").startsWith("text/html"), "GET /console is a page");
  check(csp.includes("script-src 'self'") && !csp.includes("unsafe-inline") && !csp.includes("unsafe-eval"),
    `CSP without unsafe-inline: ${csp}`);
  const missing = await fetch(`${BASE}/console/nothing.js`);
  check(missing.status === 404, "an unknown console file is 404");
}

const opsKey = env.OPS_KEY;
const page = await tab();

console.log("== sign-in");
await signIn(page, "ssk_not_a_key");
await page.waitForSelector("#login-error");
check(await page.isVisible("#login-error"), "a wrong key is refused at sign-in");
check(!page.url().includes("ssk_"), "the key never appears in the URL");
noProblems(page, "wrong key", [/status of 401/, /^HTTP 401: .*\/v1\/me$/]);
await signIn(page, opsKey);
await ready(page, "board");
check(!page.url().includes(opsKey), "the key is not in the URL");
check(await page.evaluate((k) => sessionStorage.getItem("shopscore.key") === k, opsKey), "the key is kept in session storage");

console.log("== tier board");
{
  const b = await api(opsKey, "/v1/cs-tiers/board");
  const want = new Map();
  for (const c of b.cells) {
    for (const k of [`${c.industry}/${c.scale}`, "total"]) {
      for (const col of [`tier:${c.tier}`, `status:${c.status}`, "total"]) {
        want.set(`${k}|${col}`, (want.get(`${k}|${col}`) || 0) + c.shops);
      }
    }
  }
  const shown = await page.$$eval("#board td[data-col]", (tds) =>
    tds.map((td) => [`${td.closest("tr").dataset.cohort}|${td.dataset.col}`, Number(td.textContent)]));
  const nonzero = shown.filter(([, n]) => n > 0);
  check(b.cells.length > 0, `the month ${b.month} has tier rows (${b.cells.length} cells)`);
  check(nonzero.length === want.size && nonzero.every(([k, n]) => want.get(k) === n),
    `every board count equals the API's (${want.size} non-zero cells)`);
  await page.screenshot({ path: `${SHOTS}/board.png`, fullPage: true });
  noProblems(page, "board");
}

console.log("== ranking");
{
  await go(page, "#/ranking", "ranking");
  const list = await api(opsKey, "/v1/shops?sort=service_score&limit=50");
  const rows = await page.$$eval("#ranking tbody tr", (trs) => trs.map((tr) => ({
    id: tr.dataset.shop,
    score: tr.querySelector('[data-f="service_score"]').textContent,
    credit: tr.querySelector('[data-f="credit_points"]').textContent,
  })));
  same(rows.map((r) => r.id).join(","), list.items.map((s) => s.shop_id).join(","), "ranking order");
  check(rows.every((r, i) => r.score === score(list.items[i].latest?.service_score)
    && r.credit === String(list.items[i].latest?.credit_points)), "every ranked shop's score and credit equal the API's");
  // Filter: a minimum score, through the form.
  const min = list.items.length ? list.items[Math.min(5, list.items.length - 1)].latest.service_score : 4;
  await page.fill('input[name="min_score"]', String(min));
  await page.click("#ranking-filters button[type=submit]");
  await page.waitForFunction(() => location.hash.includes("min_score"));
  await ready(page, "ranking");
  const filtered = await api(opsKey, `/v1/shops?sort=service_score&min_score=${min}&limit=50`);
  const ids = await page.$$eval("#ranking tbody tr", (trs) => trs.map((tr) => tr.dataset.shop));
  same(ids.join(","), filtered.items.map((s) => s.shop_id).join(","), `ranking filtered to min_score ${min}`);
  await page.screenshot({ path: `${SHOTS}/ranking.png`, fullPage: true });
  noProblems(page, "ranking");
}

/// Checks one shop's page against its scorecard; returns the card.
async function checkShop(page, key, id) {
  const card = await api(key, `/v1/shops/${encodeURIComponent(id)}/scorecard`);
  const f = async (k) => page.textContent(`#headline [data-f="${k}"]`);
  same(await f("service_score"), score(card.service_score.score), `${id} service score`);
  same(await f("stars"), String(card.star_level?.stars ?? "—"), `${id} stars`);
  same(await f("credit_points"), String(card.credit.points), `${id} credit points`);
  same(await f("dsr_service"), score(card.dsr.service?.score), `${id} DSR service`);
  let all = true;
  let count = 0;
  for (const ind of Object.values(card.service_score.indicators || {})) {
    for (const [metric, m] of Object.entries(ind.metrics)) {
      const row = page.locator(`#indicators tr[data-metric="${metric}"]`);
      const shown = await row.locator('[data-f="value"]').textContent();
      const n = await row.locator('[data-f="n"]').textContent();
      if (shown !== val(m.value) || n !== String(m.n)) {
        all = false;
        console.log(`    ${metric}: shown ${shown} (n ${n}), API ${val(m.value)} (n ${m.n})`);
      }
      count += 1;
    }
  }
  check(all && count > 0, `${id}: all ${count} metric values and n equal the card's`);
  const canvases = await page.locator("#trends canvas").count();
  check(canvases >= 4, `${id}: four trend charts drawn (${canvases} canvases)`);
  return card;
}

console.log("== shop page");
let shopId;
{
  const top = await api(opsKey, "/v1/shops?sort=service_score&limit=1");
  shopId = top.items[0].shop_id;
  const ms = await go(page, `#/shop/${encodeURIComponent(shopId)}`, "shop");
  console.log(`  shop page of ${shopId} drawn in ${ms.toFixed(0)} ms after the hash change`);
  const card = await checkShop(page, opsKey, shopId);
  await page.screenshot({ path: `${SHOTS}/shop.png` });
  // Drill-down: the first metric with items.
  let metric = null;
  for (const ind of Object.values(card.service_score.indicators)) {
    for (const [m, v] of Object.entries(ind.metrics)) if (!metric && v.n > 0) metric = m;
  }
  await page.click(`button[data-drill="${metric}"]`);
  await page.waitForSelector(`#items-table[data-metric="${metric}"]`);
  const items = await api(opsKey, `/v1/shops/${encodeURIComponent(shopId)}/metrics/${encodeURIComponent(metric)}/items?limit=20`);
  const ids = await page.$$eval("#items-table tbody tr", (trs) => trs.map((tr) => tr.dataset.item));
  same(ids.join(","), items.items.map((i) => i.id).join(","), `${metric} drill-down page`);
  const totals = await page.textContent("#items-totals");
  check(totals.includes(`numerator ${items.totals.numerator}`) && totals.includes(`denominator ${items.totals.denominator}`),
    `${metric} totals shown: ${totals}`);
  await page.screenshot({ path: `${SHOTS}/shop-full.png`, fullPage: true });
  noProblems(page, "shop page");

  // The other language: the policy's zh-CN labels.
  const policy = await api(opsKey, "/v1/policy");
  await page.selectOption("#lang", "zh-CN");
  await ready(page, "shop");
  const name = metric.replace(/\(.*$/, "");
  const params = (/\((.*)\)/.exec(metric)?.[1] || "").split(",").filter(Boolean);
  let zh = policy.policy.hints?.labels?.[name]?.zh;
  if (zh) {
    params.forEach((p, i) => { zh = zh.split(`{${i + 1}}`).join(p.trim()); });
    const first = await page.textContent(`#indicators tr[data-metric="${metric}"] td`);
    same(first, zh, `${metric} in the policy's zh-CN label`);
  }
  same(await page.getAttribute("html", "lang"), "zh-CN", "the page says its language");
  await checkShop(page, opsKey, shopId);
  await page.screenshot({ path: `${SHOTS}/shop-zh.png`, fullPage: true });
  await page.selectOption("#lang", "en");
  await ready(page, "shop");
  noProblems(page, "shop page in zh-CN");
}

console.log("== job runs");
{
  await api(opsKey, "/v1/recompute", { method: "POST", body: "{}" });
  await go(page, "#/jobs", "jobs");
  const runs = await api(opsKey, "/v1/jobs?limit=100");
  const shown = await page.$$eval("#jobs tbody tr", (trs) => trs.map((tr) => ({
    id: Number(tr.dataset.run), outcome: tr.querySelector('[data-f="outcome"]').textContent,
    shops: tr.querySelector('[data-f="shops"]').textContent })));
  same(shown.map((r) => r.id).join(","), runs.items.map((r) => r.id).join(","), "runs listed");
  check(shown.every((r, i) => r.outcome === runs.items[i].outcome && r.shops === String(runs.items[i].shops_scored ?? "—")),
    "every run's outcome and shop count equal the API's");
  await page.screenshot({ path: `${SHOTS}/jobs.png`, fullPage: true });
  noProblems(page, "job runs");
}

console.log("== webhooks");
{
  await go(page, "#/webhooks", "webhooks");
  const before = await api(opsKey, "/v1/webhooks/endpoints");
  if (before.items.length === 0) check(await page.isVisible("text=No webhook endpoints."), "no endpoints yet: said so");
  const ep = await api(env.ADMIN_KEY, "/v1/webhooks/endpoints", { method: "POST",
    body: JSON.stringify({ url: "https://hooks.example.com/shopscore", description: "console test" }) });
  await go(page, "#/ranking", "ranking");
  await go(page, "#/webhooks", "webhooks");
  const row = page.locator(`#endpoints tr[data-endpoint="${ep.id}"]`);
  same(await row.locator('[data-f="enabled"]').textContent(), "yes", "the new endpoint is enabled");
  const pending = await api(opsKey, `/v1/webhooks/endpoints/${ep.id}/messages?status=pending&limit=500`);
  same(await row.locator('[data-f="pending"]').textContent(), `${pending.items.length}${pending.next_cursor ? "+" : ""}`, "pending messages");
  await page.screenshot({ path: `${SHOTS}/webhooks.png`, fullPage: true });
  noProblems(page, "webhooks");
}

console.log("== merchant key");
{
  const m = await tab();
  await signIn(m, env.MERCHANT_KEY);
  await ready(m, "shop");
  const nav = await m.$$eval("#nav a", (as) => as.map((a) => a.dataset.view));
  same(nav.join(","), "mine", "a merchant's console offers only its shops");
  await checkShop(m, env.MERCHANT_KEY, env.MERCHANT_SHOP);
  noProblems(m, "merchant's own shop");
  // Another shop, and an ops view: the API refuses, the page says so.
  const other = shopId === env.MERCHANT_SHOP ? "demo-shop-001" : shopId;
  await m.evaluate((h) => { location.hash = h; }, `#/shop/${other}`);
  await m.waitForSelector("#page-error");
  same(await m.textContent("#page-error"), "Not found", "another shop is not found for a merchant");
  await m.evaluate(() => { location.hash = "#/board"; });
  await m.waitForFunction(() => document.querySelector("main").dataset.state === "error" && location.hash === "#/board");
  check((await m.textContent("#page-error")).length > 0, `ops views refused: ${await m.textContent("#page-error")}`);
  noProblems(m, "merchant refused", [/status of 40[34]/, /^HTTP 40[34]: /]);
  await m.context().close();
}

if (MEASURE > 0) {
  console.log(`== shop page speed: ${MEASURE} fresh loads of random shops`);
  const list = await api(opsKey, "/v1/shops?limit=500");
  const full = [];
  const inPage = [];
  // Baseline, in the same run: a fresh tab loading the console's files alone (the
  // sign-in page, no API call), navigation start to DOMContentLoaded.
  const files = [];
  for (let i = 0; i < MEASURE; i += 1) {
    const id = list.items[Math.floor(Math.random() * list.items.length)].shop_id;
    const p = await tab();
    // The key as a signed-in tab holds it (set on the sign-in page, `/console/`);
    // then a fresh load (another path) of the shop's page.
    await p.goto(`${BASE}/console/`);
    await p.evaluate((k) => sessionStorage.setItem("shopscore.key", k), opsKey);
    await p.goto(`${BASE}/console#/shop/${id}`);
    const ms = await ready(p, "shop");
    const end = await p.evaluate(() => performance.getEntriesByName("render:shop").pop());
    full.push(end.startTime + end.duration);
    inPage.push(ms);
    noProblems(p, `load ${i + 1}`);
    await p.context().close();
    const bare = await tab();
    await bare.goto(`${BASE}/console/`);
    await bare.waitForSelector("#login");
    files.push(await bare.evaluate(() => performance.getEntriesByType("navigation")[0].domContentLoadedEventEnd));
    await bare.context().close();
  }
  const pct = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)];
  console.log(`  from navigation start to drawn: p50 ${pct(full, 0.5).toFixed(0)} ms, p99 ${pct(full, 0.99).toFixed(0)} ms, max ${Math.max(...full).toFixed(0)} ms`);
  console.log(`  of which the view (API calls, tables, charts): p50 ${pct(inPage, 0.5).toFixed(0)} ms, p99 ${pct(inPage, 0.99).toFixed(0)} ms`);
  console.log(`  baseline: the console's files alone (sign-in page, no API call): p50 ${pct(files, 0.5).toFixed(0)} ms, p99 ${pct(files, 0.99).toFixed(0)} ms`);
}

await browser.close();
console.log(failures === 0 ? "== console: all checks passed" : `== console: ${failures} check(s) FAILED`);
process.exit(failures === 0 ? 0 : 1);
