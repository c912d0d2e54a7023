// shopscore ops console: one page, five views, every figure read from the REST API
// with the key given at sign-in (kept in this tab's session storage, never in a URL).
// Text is always set with textContent (createTextNode), never parsed as HTML: the
// Content-Security-Policy forbids inline code, and shop names are data, not markup.
"use strict";

const KEY = "shopscore.key";
const LANG = "shopscore.lang";

// Words of the console itself; metric and programme names come from the policy's
// [hints.labels], in the same two languages.
const WORDS = {
  en: {
    board: "Tier board", ranking: "Ranking", shop: "Shop", jobs: "Job runs", webhooks: "Webhooks",
    myShops: "My shops", signIn: "Sign in", signOut: "Sign out", key: "API key (ops, admin or merchant)",
    keyRefused: "This key was not accepted: ", month: "Month", industry: "Industry", scale: "Scale band",
    total: "Total", byTier: "By tier", byStatus: "By status", all: "all", sort: "Sort by",
    order: "Order", minScore: "Min. score", maxScore: "Max. score", apply: "Apply", next: "Next page",
    first: "First page", serviceScore: "Service score", stars: "Stars", creditPoints: "Credit points",
    creditLevel: "Credit level", dsr: "DSR", dsrDescription: "DSR description", dsrService: "DSR service",
    dsrLogistics: "DSR logistics", tier: "Tier", status: "Status", reason: "Reason", shopId: "Shop",
    none: "none", noData: "Nothing to show yet.", indicators: "Service-score indicators",
    metric: "Metric", value: "Value", target: "Target", n: "n", passes: "Passes", score: "Score",
    hints: "What to fix first", programmes: "Programmes", period: "Period", trends: "Trends (180 days)",
    items: "Items behind", counts: "Counts", id: "Id", kind: "Kind", why: "Why", more: "More",
    kindCol: "Kind", slot: "Slot", asOf: "As of", started: "Started", duration: "Duration",
    shops: "Shops", outcome: "Outcome", lag: "Lag", error: "Error", replica: "Replica",
    durations: "Run durations (s), oldest to newest", url: "URL", enabled: "Enabled",
    pending: "Pending", failed: "Failed", events: "Events", lastFailed: "Latest failed messages",
    attempts: "Attempts", noEndpoints: "No webhook endpoints.", beats: "Beats (% of industry)",
    industryAvg: "Industry average", language: "Language", yes: "yes", no: "no",
    notFound: "Not found", loading: "Loading…", show: "show", rank: "Rank", platform: "Platform",
    name: "Name", capped: "shown up to the first page",
  },
  "zh-CN": {
    board: "客服等级看板", ranking: "店铺排行", shop: "店铺", jobs: "计算任务", webhooks: "Webhook",
    myShops: "我的店铺", signIn: "登录", signOut: "退出", key: "API 密钥（运营、管理员或商家）",
    keyRefused: "密钥未被接受：", month: "月份", industry: "行业", scale: "规模档",
    total: "合计", byTier: "按等级", byStatus: "按状态", all: "全部", sort: "排序",
    order: "顺序", minScore: "最低分", maxScore: "最高分", apply: "应用", next: "下一页",
    first: "第一页", serviceScore: "服务分", stars: "星级", creditPoints: "信用积分",
    creditLevel: "信用等级", dsr: "店铺评分", dsrDescription: "描述相符", dsrService: "服务态度",
    dsrLogistics: "物流服务", tier: "等级", status: "状态", reason: "原因", shopId: "店铺",
    none: "无", noData: "暂无数据。", indicators: "服务分指标",
    metric: "指标", value: "数值", target: "目标", n: "样本", passes: "达标", score: "得分",
    hints: "优先改进", programmes: "考核项目", period: "周期", trends: "趋势（180 天）",
    items: "明细：", counts: "计入", id: "编号", kind: "类型", why: "说明", more: "更多",
    kindCol: "类型", slot: "时段", asOf: "截至", started: "开始", duration: "耗时",
    shops: "店铺数", outcome: "结果", lag: "延迟", error: "错误", replica: "实例",
    durations: "任务耗时（秒），由旧到新", url: "地址", enabled: "启用",
    pending: "待发送", failed: "失败", events: "事件", lastFailed: "最近失败的消息",
    attempts: "尝试次数", noEndpoints: "没有 Webhook 端点。", beats: "超越同行（%）",
    industryAvg: "行业均值", language: "语言", yes: "是", no: "否",
    notFound: "未找到", loading: "加载中…", show: "查看", rank: "名次", platform: "平台",
    name: "名称", capped: "仅统计第一页",
  },
};

const state = { me: null, policy: null, lang: "en", charts: [] };

// ---- small helpers ----------------------------------------------------------

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k.startsWith("data-")) el.dataset[k.slice(5).replace(/-(.)/g, (_, c) => c.toUpperCase())] = v;
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const t = (w) => (WORDS[state.lang] || WORDS.en)[w] || WORDS.en[w] || w;

/// A score or average: two decimals; missing: a dash.
function score(v) {
  return v === null || v === undefined ? "—" : Number(v).toFixed(2);
}

/// A metric's value: whole numbers as they are, others to four decimals.
function val(v) {
  if (v === null || v === undefined) return "—";
  return Number.isInteger(v) ? String(v) : String(Number(v.toFixed(4)));
}

/// A metric or programme in words, from the policy's labels: `name(p1,p2)` fills
/// {1}, {2}; without a label, the name as the policy writes it.
function label(metric) {
  const labels = state.policy?.policy?.hints?.labels;
  const m = /^([a-z_0-9]+)(?:\((.*)\))?$/.exec(metric);
  if (!labels || !m || !labels[m[1]]) return metric;
  const entry = labels[m[1]];
  let text = state.lang === "zh-CN" ? entry.zh : entry.en;
  const params = m[2] ? m[2].split(",") : [];
  params.forEach((p, i) => { text = text.split(`{${i + 1}}`).join(p.trim()); });
  return text;
}

class HttpError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(path) {
  const key = sessionStorage.getItem(KEY);
  const res = await fetch(path, { headers: { Authorization: `Bearer ${key}`, Accept: "application/json" } });
  const body = await res.json().catch(() => ({}));
  // Errors are `{"error": {"code", "message", "details"}}`, written for the client.
  const message = body.error?.message || res.statusText;
  if (res.status === 401) {
    sessionStorage.removeItem(KEY);
    signIn(message);
    throw new HttpError(401, message);
  }
  if (!res.ok) throw new HttpError(res.status, message);
  return body;
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== "") q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
}

/// The route: `#/view/arg?k=v` → {view, arg, params}.
function route() {
  const [path, qs] = location.hash.replace(/^#\/?/, "").split("?");
  const [view, ...rest] = path.split("/");
  return { view, arg: rest.map(decodeURIComponent).join("/"), params: Object.fromEntries(new URLSearchParams(qs || "")) };
}

const isOps = () => state.me && (state.me.role === "ops" || state.me.role === "admin");

// ---- sign-in and frame ------------------------------------------------------

function signIn(problem) {
  document.getElementById("nav").replaceChildren();
  document.getElementById("who").replaceChildren();
  const input = h("input", { type: "password", id: "key", autocomplete: "off", required: true });
  const form = h("form", { class: "login", id: "login", onsubmit: async (e) => {
    e.preventDefault();
    sessionStorage.setItem(KEY, input.value.trim());
    await start();
  } },
  h("h1", {}, "shopscore"),
  h("label", { for: "key" }, t("key")), input,
  problem ? h("p", { class: "error", id: "login-error" }, t("keyRefused") + problem) : null,
  h("button", { class: "primary", type: "submit" }, t("signIn")));
  const main = document.getElementById("main");
  main.replaceChildren(form);
  main.dataset.state = "signin";
  input.focus();
}

function frame() {
  const views = isOps()
    ? [["board", t("board")], ["ranking", t("ranking")], ["jobs", t("jobs")], ["webhooks", t("webhooks")]]
    : [["mine", t("myShops")]];
  const current = route().view;
  document.getElementById("nav").replaceChildren(...views.map(([v, text]) =>
    h("a", { href: `#/${v}`, class: current === v ? "on" : null, "data-view": v }, text)));
  const lang = h("select", { id: "lang", "aria-label": t("language"), onchange: (e) => {
    state.lang = e.target.value; sessionStorage.setItem(LANG, state.lang); render();
  } }, h("option", { value: "en" }, "English"), h("option", { value: "zh-CN" }, "中文"));
  lang.value = state.lang;
  document.getElementById("who").replaceChildren(
    h("span", { id: "me" }, `${state.me.name || state.me.id} · ${state.me.role}`), lang,
    h("button", { id: "signout", onclick: () => { sessionStorage.removeItem(KEY); signIn(); } }, t("signOut")));
}

async function start() {
  try {
    state.me = await api("/v1/me");
    state.policy = await api("/v1/policy");
  } catch (e) {
    if (e.status !== 401) signIn(e.message);
    return;
  }
  document.documentElement.lang = state.lang = sessionStorage.getItem(LANG)
    || state.policy?.policy?.hints?.language || "en";
  render();
}

async function render() {
  if (!state.me) return;
  if (!location.hash) {
    location.hash = isOps() ? "#/board" : (state.me.shops.length === 1 ? `#/shop/${state.me.shops[0]}` : "#/mine");
    return;
  }
  document.documentElement.lang = state.lang;
  frame();
  const main = document.getElementById("main");
  performance.mark("render-start");
  main.dataset.state = "loading";
  main.replaceChildren(h("p", { class: "muted" }, t("loading")));
  state.charts.forEach((c) => c.destroy());
  state.charts = [];
  const { view, arg, params } = route();
  const views = { board, ranking, shop, jobs, webhooks, mine };
  try {
    const content = await (views[view] || mine)(arg, params);
    main.replaceChildren(...[content].flat());
    main.dataset.state = "ready";
    main.dataset.view = view;
    for (const draw of pendingCharts.splice(0)) draw();
    // The browser test reads this: the view is drawn, figures and charts.
    performance.measure(`render:${view}`, "render-start");
  } catch (e) {
    if (e.status === 401) return;
    main.replaceChildren(h("p", { class: "error", id: "page-error" }, e.status === 404 ? t("notFound") : e.message));
    main.dataset.state = "error";
  }
}

// ---- views ------------------------------------------------------------------

function table(head, rows, attrs) {
  return h("table", attrs || {},
    h("thead", {}, h("tr", {}, head.map(([text, cls]) => h("th", { class: cls }, text)))),
    h("tbody", {}, rows));
}

const TIERS = ["gold", "silver", "black", "none"];
const STATUSES = ["active", "eligible", "ineligible", "cancelled", "disqualified"];

async function board(_, params) {
  const b = await api(`/v1/cs-tiers/board${query({ month: params.month })}`);
  const cohorts = new Map();
  const add = (key, col, n) => {
    if (!cohorts.has(key)) cohorts.set(key, {});
    const c = cohorts.get(key);
    c[col] = (c[col] || 0) + n;
  };
  for (const cell of b.cells) {
    for (const key of [`${cell.industry}\u0000${cell.scale}`, "\u0001total"]) {
      add(key, `tier:${cell.tier}`, cell.shops);
      add(key, `status:${cell.status}`, cell.shops);
      add(key, "total", cell.shops);
    }
  }
  const cols = [...TIERS.map((x) => `tier:${x}`), ...STATUSES.map((x) => `status:${x}`), "total"];
  // Cohorts in the API's order, the total last.
  const ordered = [...cohorts.entries()].filter(([k]) => k !== "\u0001total");
  if (cohorts.has("\u0001total")) ordered.push(["\u0001total", cohorts.get("\u0001total")]);
  const rows = ordered.map(([key, c]) => {
    const total = key === "\u0001total";
    const [industry, scale] = total ? [t("total"), ""] : key.split("\u0000");
    return h("tr", { class: total ? "total" : null, "data-cohort": total ? "total" : `${industry}/${scale}` },
      h("td", {}, industry), h("td", {}, scale),
      cols.map((col) => h("td", { class: "n", "data-col": col }, String(c[col] || 0))));
  });
  const monthInput = h("input", { type: "month", name: "month", value: b.month || "" });
  return [
    h("h1", {}, `${t("board")} ${b.month || ""}`),
    h("form", { class: "filters", onsubmit: (e) => { e.preventDefault(); location.hash = `#/board${query({ month: monthInput.value })}`; } },
      h("label", {}, t("month"), monthInput), h("button", { type: "submit" }, t("apply"))),
    b.cells.length === 0 ? h("p", { class: "muted" }, t("noData")) :
      table([[t("industry")], [t("scale")], ...TIERS.map((x) => [`${t("tier")}: ${x}`, "n"]),
        ...STATUSES.map((x) => [`${t("status")}: ${x}`, "n"]), [t("total"), "n"]], rows, { id: "board" }),
  ];
}

async function ranking(_, params) {
  const list = await api(`/v1/shops${query({ ...params, sort: params.sort || "service_score", limit: params.limit || 50 })}`);
  const field = (name, input) => h("label", {}, name, input);
  const industry = h("input", { name: "industry", value: params.industry || "", size: 12 });
  const sort = h("select", { name: "sort" }, ["service_score", "stars", "credit_points", "dsr_service", "shop_id"]
    .map((s) => h("option", { value: s, selected: (params.sort || "service_score") === s ? "" : null }, s)));
  const order = h("select", { name: "order" }, ["", "desc", "asc"].map((o) =>
    h("option", { value: o, selected: (params.order || "") === o ? "" : null }, o || "—")));
  const min = h("input", { name: "min_score", type: "number", step: "any", value: params.min_score || "", size: 6 });
  const max = h("input", { name: "max_score", type: "number", step: "any", value: params.max_score || "", size: 6 });
  const filters = () => ({ industry: industry.value, sort: sort.value, order: order.value, min_score: min.value, max_score: max.value });
  const rows = list.items.map((s) => h("tr", { "data-shop": s.shop_id },
    h("td", {}, h("a", { href: `#/shop/${encodeURIComponent(s.shop_id)}` }, s.shop_id)),
    h("td", {}, s.name || ""), h("td", {}, s.industry),
    h("td", { class: "n", "data-f": "service_score" }, score(s.latest?.service_score)),
    h("td", { class: "n", "data-f": "stars" }, s.latest?.stars ?? "—"),
    h("td", { class: "n", "data-f": "credit_points" }, s.latest ? String(s.latest.credit_points) : "—"),
    h("td", { class: "n", "data-f": "dsr_service" }, score(s.latest?.dsr?.service)),
    h("td", { "data-f": "cs_tier" }, s.latest?.cs_tier || "—")));
  return [
    h("h1", {}, t("ranking")),
    h("form", { class: "filters", id: "ranking-filters", onsubmit: (e) => { e.preventDefault(); location.hash = `#/ranking${query({ ...filters(), sort: sort.value })}`; } },
      field(t("industry"), industry), field(t("sort"), sort), field(t("order"), order),
      field(t("minScore"), min), field(t("maxScore"), max), h("button", { type: "submit" }, t("apply"))),
    list.items.length === 0 ? h("p", { class: "muted" }, t("noData")) :
      table([[t("shopId")], [t("name")], [t("industry")], [t("serviceScore"), "n"], [t("stars"), "n"],
        [t("creditPoints"), "n"], [t("dsrService"), "n"], [t("tier")]], rows, { id: "ranking" }),
    h("div", { class: "pager" },
      params.cursor ? h("a", { href: `#/ranking${query({ ...params, cursor: null })}` }, t("first")) : null,
      list.next_cursor ? h("a", { id: "next", href: `#/ranking${query({ ...params, cursor: list.next_cursor })}` }, t("next")) : null),
  ];
}

async function mine() {
  const rows = state.me.shops.map((id) => h("tr", {}, h("td", {}, h("a", { href: `#/shop/${encodeURIComponent(id)}` }, id))));
  return [h("h1", {}, t("myShops")), rows.length ? table([[t("shopId")]], rows) : h("p", { class: "muted" }, t("noData"))];
}

// Charts are drawn once their container is in the page (uPlot measures it).
const pendingCharts = [];

function chart(title, id, times, series) {
  // The series' names in the title, in their colours (uPlot's legend is left off: a
  // table under each chart would double its height).
  const names = series.length > 1 ? series.map(([name], i) => h("span", { class: `key k${i}` }, name)) : [];
  const box = h("div", { class: "chart", id }, h("p", { class: "title" }, title, ...names));
  pendingCharts.push(() => {
    if (!window.uPlot) return;
    const colours = ["#2456c7", "#c75a24", "#1d7a46"];
    const opts = {
      width: 290, height: 170, legend: { show: false },
      scales: { x: { time: true } },
      series: [{}, ...series.map(([name], i) => ({ label: name, stroke: colours[i % 3], width: 2, spanGaps: true }))],
      axes: [{}, { size: 56 }],
    };
    state.charts.push(new window.uPlot(opts, [times, ...series.map(([, ys]) => ys)], box));
  });
  return box;
}

async function shop(id, params) {
  const enc = encodeURIComponent(id);
  const from = new Date(Date.now() - 180 * 86400e3).toISOString().slice(0, 10);
  const [info, card, history] = await Promise.all([
    api(`/v1/shops/${enc}`),
    api(`/v1/shops/${enc}/scorecard`).catch((e) => { if (e.status === 404) return null; throw e; }),
    api(`/v1/shops/${enc}/history${query({ from, limit: 500 })}`),
  ]);
  const out = [h("h1", {}, `${t("shop")} ${info.shop_id}`, info.name ? ` · ${info.name}` : "", ` · ${info.industry}`)];
  if (!card) return [...out, h("p", { class: "muted" }, t("noData"))];
  const ss = card.service_score;
  const fig = (k, name, v) => h("div", { class: "card" }, h("div", { class: "k" }, name), h("div", { class: "v", "data-f": k }, v));
  out.push(h("div", { class: "cards", id: "headline" },
    fig("service_score", t("serviceScore"), score(ss.score)),
    fig("beats_pct", t("beats"), score(ss.beats_pct)),
    fig("stars", t("stars"), card.star_level?.stars ?? "—"),
    fig("credit_points", t("creditPoints"), String(card.credit.points)),
    fig("credit_level", t("creditLevel"), card.credit.level ? `${card.credit.level.tier} ${card.credit.level.rank}` : "—"),
    fig("dsr_description", t("dsrDescription"), score(card.dsr.description?.score)),
    fig("dsr_service", t("dsrService"), score(card.dsr.service?.score)),
    fig("dsr_logistics", t("dsrLogistics"), score(card.dsr.logistics?.score)),
    fig("cs_tier", t("tier"), card.cs_tier ? `${card.cs_tier.tier} (${card.cs_tier.status})` : "—")));

  // Trends, oldest first.
  const items = [...history.items].sort((a, b) => a.as_of.localeCompare(b.as_of));
  const times = items.map((x) => Date.parse(x.as_of) / 1000);
  out.push(h("h2", {}, t("trends")), h("div", { class: "charts", id: "trends" },
    chart(t("serviceScore"), "chart-service-score", times, [[t("serviceScore"), items.map((x) => x.service_score)]]),
    chart(t("stars"), "chart-stars", times, [[t("stars"), items.map((x) => x.stars)]]),
    chart(t("dsr"), "chart-dsr", times, [
      [t("dsrDescription"), items.map((x) => x.dsr.description)],
      [t("dsrService"), items.map((x) => x.dsr.service)],
      [t("dsrLogistics"), items.map((x) => x.dsr.logistics)]]),
    chart(t("creditPoints"), "chart-credit", times, [[t("creditPoints"), items.map((x) => x.credit_points)]])));

  // Hints first: what to do.
  if (card.hints?.length) {
    out.push(h("h2", {}, t("hints")), h("ul", { class: "hints", id: "hints" },
      card.hints.map((x) => h("li", { "data-metric": x.metric }, x.message))));
  }

  // Indicators and their metrics, each with its drill-down.
  const itemsBox = h("div", { id: "items" });
  const rows = [];
  for (const [area, ind] of Object.entries(ss.indicators || {})) {
    rows.push(h("tr", { class: "total", "data-indicator": area }, h("td", {}, area), h("td"), h("td"), h("td"), h("td"),
      h("td", { class: "n", "data-f": "score" }, score(ind.score)), h("td")));
    for (const [metric, m] of Object.entries(ind.metrics)) {
      rows.push(h("tr", { "data-metric": metric },
        h("td", {}, label(metric)),
        h("td", { class: "n", "data-f": "value" }, val(m.value)),
        h("td", { class: "n" }, `${m.target_condition} ${val(m.target_value)}`),
        h("td", { class: "n", "data-f": "n" }, String(m.n)),
        h("td", { class: m.passes === true ? "pass" : m.passes === false ? "fail" : "muted" },
          m.passes === null ? "—" : m.passes ? t("yes") : t("no")),
        h("td", { class: "n", "data-f": "score" }, score(m.score)),
        h("td", {}, h("button", { class: "link", "data-drill": metric, onclick: () => drill(id, metric, null, itemsBox) }, t("show")))));
    }
  }
  out.push(h("h2", {}, t("indicators")), table([[t("metric")], [t("value"), "n"], [t("target"), "n"], [t("n"), "n"],
    [t("passes")], [t("score"), "n"], [""]], rows, { id: "indicators" }), itemsBox);

  // Programmes and their rules.
  const progRows = [];
  for (const [name, p] of Object.entries(card.programs || {})) {
    if (!p) continue; // a programme with no period evaluated yet
    progRows.push(h("tr", { class: "total", "data-program": name }, h("td", {}, label(name)), h("td", {}, p.period || ""),
      h("td", { "data-f": "status" }, p.status), h("td")));
    for (const r of p.rules || []) {
      progRows.push(h("tr", {}, h("td", {}, label(r.metric)), h("td", { class: "n" }, `${r.op} ${val(r.threshold)}`),
        h("td", { class: r.pass ? "pass" : "fail" }, val(r.value)),
        h("td", {}, h("button", { class: "link", onclick: () => drill(id, r.metric, name, itemsBox) }, t("show")))));
    }
  }
  if (progRows.length) {
    out.push(h("h2", {}, t("programmes")), table([[t("metric")], [t("target"), "n"], [t("value")], [""]], progRows, { id: "programs" }));
  }
  if (params.metric) pendingCharts.push(() => drill(id, params.metric, params.window || null, itemsBox));
  return out;
}

/// The items behind one metric, first page, with "more" paging below.
async function drill(shopId, metric, window, box, cursor) {
  const path = `/v1/shops/${encodeURIComponent(shopId)}/metrics/${encodeURIComponent(metric)}/items${query({ window, cursor, limit: 20 })}`;
  let page;
  try {
    page = await api(path);
  } catch (e) {
    box.replaceChildren(h("p", { class: "error" }, e.message));
    return;
  }
  const rows = page.items.map((it) => h("tr", { "data-item": it.id },
    h("td", {}, it.id), h("td", {}, it.kind), h("td", { "data-f": "counts" }, it.counts),
    h("td", { class: "n" }, val(it.value)), h("td", {}, it.reason)));
  const tot = page.totals;
  const head = h("h2", {}, `${t("items")} ${label(metric)}`);
  const summary = h("p", { class: "muted", id: "items-totals" },
    `${t("value")} ${val(page.value)} · n ${page.n} · numerator ${tot.numerator} · denominator ${tot.denominator} · term ${tot.term} · excluded ${tot.excluded}`);
  const more = page.next_cursor
    ? h("button", { onclick: () => drill(shopId, metric, window, box, page.next_cursor) }, t("more")) : null;
  box.replaceChildren(head, summary, table([[t("id")], [t("kind")], [t("counts")], [t("value"), "n"], [t("why")]], rows,
    { id: "items-table", "data-metric": metric }), h("div", { class: "pager" }, more));
  box.dataset.state = "ready";
}

function seconds(a, b) {
  if (!a || !b) return null;
  return (Date.parse(b) - Date.parse(a)) / 1000;
}

async function jobs(_, params) {
  const list = await api(`/v1/jobs${query({ kind: params.kind, outcome: params.outcome, limit: 100 })}`);
  const rows = list.items.map((r) => {
    // Lag: how long after its slot (a scheduled tick's interval start) the run began.
    const lag = r.kind === "dirty" ? seconds(r.slot, r.started_at) : null;
    return h("tr", { "data-run": r.id },
      h("td", { class: "n" }, String(r.id)), h("td", {}, r.kind), h("td", {}, r.slot || "—"),
      h("td", {}, r.as_of), h("td", {}, r.started_at),
      h("td", { class: "n", "data-f": "duration" }, r.duration_ms === null ? "—" : `${(r.duration_ms / 1000).toFixed(2)} s`),
      h("td", { class: "n", "data-f": "shops" }, r.shops_scored ?? "—"),
      h("td", { class: r.outcome === "failed" ? "fail" : r.outcome === "succeeded" ? "pass" : "muted", "data-f": "outcome" }, r.outcome),
      h("td", { class: "n" }, lag === null || Number.isNaN(lag) ? "—" : `${lag.toFixed(1)} s`),
      h("td", {}, r.replica), h("td", { class: "error" }, r.error || ""));
  });
  const done = [...list.items].filter((r) => r.duration_ms !== null).reverse();
  return [
    h("h1", {}, t("jobs")),
    done.length > 1 ? chart(t("durations"), "chart-durations", done.map((r) => Date.parse(r.started_at) / 1000),
      [[t("duration"), done.map((r) => r.duration_ms / 1000)]]) : null,
    list.items.length === 0 ? h("p", { class: "muted" }, t("noData")) :
      table([["#", "n"], [t("kindCol")], [t("slot")], [t("asOf")], [t("started")], [t("duration"), "n"], [t("shops"), "n"],
        [t("outcome")], [t("lag"), "n"], [t("replica")], [t("error")]], rows, { id: "jobs" }),
  ];
}

/// Messages of one status on the first page (at most 500): "500+" when there are more.
async function countOf(endpoint, status) {
  const page = await api(`/v1/webhooks/endpoints/${encodeURIComponent(endpoint)}/messages${query({ status, limit: 500 })}`);
  return { n: page.items.length, more: !!page.next_cursor, items: page.items };
}

async function webhooks() {
  const list = await api("/v1/webhooks/endpoints?limit=500");
  if (list.items.length === 0) return [h("h1", {}, t("webhooks")), h("p", { class: "muted" }, t("noEndpoints"))];
  const health = await Promise.all(list.items.map(async (e) => ({
    e, pending: await countOf(e.id, "pending"), failed: await countOf(e.id, "failed") })));
  const n = (c) => `${c.n}${c.more ? "+" : ""}`;
  const rows = health.map(({ e, pending, failed }) => h("tr", { "data-endpoint": e.id },
    h("td", {}, e.id), h("td", {}, e.url),
    h("td", { class: e.enabled ? "pass" : "fail", "data-f": "enabled" }, e.enabled ? t("yes") : `${t("no")} (${e.disabled_reason || ""})`),
    h("td", {}, (e.event_types || []).join(", ") || t("all")),
    h("td", { class: "n", "data-f": "pending" }, n(pending)),
    h("td", { class: "n", "data-f": "failed" }, n(failed))));
  const failedRows = health.flatMap(({ e, failed }) => failed.items.slice(0, 20).map((m) => h("tr", {},
    h("td", {}, e.id), h("td", {}, m.id), h("td", {}, m.event_type), h("td", {}, m.shop_id || ""),
    h("td", { class: "n" }, String(m.attempts)), h("td", {}, m.created_at))));
  return [
    h("h1", {}, t("webhooks")),
    table([[t("id")], [t("url")], [t("enabled")], [t("events")], [t("pending"), "n"], [t("failed"), "n"]], rows, { id: "endpoints" }),
    failedRows.length ? [h("h2", {}, t("lastFailed")),
      table([[t("id")], ["message"], [t("events")], [t("shopId")], [t("attempts"), "n"], [t("started")]], failedRows, { id: "failed" })] : [],
  ];
}

window.addEventListener("hashchange", render);
window.addEventListener("DOMContentLoaded", () => {
  if (sessionStorage.getItem(KEY)) start(); else signIn();
});
