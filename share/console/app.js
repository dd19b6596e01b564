// The dashboard's shell: sign-in, the navigation a role may use, one page at a time by the URL's
// hash (#/overview, #/coverage, ...), the language switch and sign-out. Each page (page-*.js) loads
// its figures from the API (load) and then builds them (show); a signed-out visitor, or one whose
// call is answered 401, sees the sign-in form and nothing else.
import { ApiError, SignedOut, forgetSession, get, listAll, maySignedIn, onSignedOut, signIn, signOut } from "./api.js";
import { destroyCharts } from "./charts.js";
import { countyName } from "./counties.js";
import { el } from "./dom.js";
import { count, readInteger } from "./format.js";
import { applyLang, currentLang, onLangChange, setLang, t } from "./i18n.js";
import { startLive, stopLive } from "./live.js";
import { activity } from "./page-activity.js";
import { audit } from "./page-audit.js";
import { coverage } from "./page-coverage.js";
import { overview } from "./page-overview.js";
import { rollups } from "./page-rollups.js";
import { settlements } from "./page-settlements.js";
import { usage } from "./page-usage.js";

const PAGES = [overview, coverage, rollups, usage, activity, settlements, audit];
const $ = (id) => document.getElementById(id);

let who = null; // the signed-in client's claims (whoami)
let area = null; // {key, name}: its area as the header says it
let current = null; // {page, data, leave}
let generation = 0; // a load that a newer route() overtook is dropped

const ctx = {
  get who() {
    return who;
  },
  reload: () => route(),
};

function leavePage() {
  if (current && current.leave) current.leave();
  if (current) current.leave = null;
  destroyCharts();
}

function showSignIn() {
  ++generation;
  leavePage();
  current = null;
  stopLive();
  who = null;
  area = null;
  $("view").replaceChildren();
  $("nav").replaceChildren();
  $("who").replaceChildren();
  $("app").hidden = true;
  $("sign-out").hidden = true;
  $("sign-in-view").hidden = false;
  document.body.dataset.state = "signed-out";
  $("client").focus();
}

// The header's line: role, client and area.
function showWho() {
  if (!who) return;
  const areaText =
    area.key === "neighbourhood"
      ? t("who.neighbourhood", { name: area.name })
      : area.key === "county"
        ? t("who.county", { name: countyName(who.county) })
        : t("who.province");
  $("who").replaceChildren(
    el("span", { dataset: { figure: "who.client" } }, t("who.client", { role: t("role." + who.role), client: count(who.client) })),
    el("span", { class: "who-area", dataset: { figure: "who.area" } }, t("who.area", { area: areaText })),
  );
}

function buildNav() {
  $("nav").replaceChildren(
    ...PAGES.filter((p) => p.roles.includes(who.role)).map((p) =>
      el("a", { href: "#/" + p.id, dataset: { page: p.id, i18n: p.nav } }, t(p.nav)),
    ),
  );
}

async function enter(claims) {
  who = claims;
  area = { key: "province" };
  if (who.role === "council" && who.neighbourhood) {
    const hoods = await listAll("neighbourhoods", "neighbourhoods");
    const mine = hoods.rows.find((n) => n.id === who.neighbourhood);
    area = { key: "neighbourhood", name: mine ? mine.name : count(who.neighbourhood) };
  } else if (who.role === "council") {
    area = { key: "county" };
  }
  $("sign-in-view").hidden = true;
  $("app").hidden = false;
  $("sign-out").hidden = false;
  document.body.dataset.state = "signed-in";
  buildNav();
  showWho();
  startLive(() => {
    forgetSession();
    showSignIn();
  });
  await route();
}

function errorText(e) {
  if (e instanceof ApiError && e.status === 403) return t("common.not_permitted");
  if (e instanceof ApiError) return t("common.error", { why: t("error.status", { status: count(e.status) }) + " (" + e.message + ")" });
  return t("common.error", { why: t("error.network") });
}

// Shows the current page's data again (after a change of language: the figures stay).
function showCurrent() {
  const view = $("view");
  leavePage();
  view.replaceChildren();
  current.leave = current.page.show(view, current.data, ctx) || null;
  view.dataset.ready = current.page.id;
}

async function route() {
  if (!who) return;
  const id = location.hash.replace(/^#\/?/, "") || overview.id;
  let page = PAGES.find((p) => p.id === id && p.roles.includes(who.role));
  if (!page) {
    page = overview;
    history.replaceState(null, "", "#/" + overview.id);
  }
  const mine = ++generation;
  for (const a of $("nav").querySelectorAll("a")) a.classList.toggle("active", a.dataset.page === page.id);
  const view = $("view");
  leavePage();
  current = null;
  view.dataset.page = page.id;
  view.dataset.ready = "";
  view.replaceChildren(el("p", { class: "note loading" }, t("common.loading")));
  try {
    const data = await page.load(ctx);
    if (mine !== generation) return;
    current = { page, data, leave: null };
    showCurrent();
  } catch (e) {
    if (mine !== generation || e instanceof SignedOut) return;
    view.replaceChildren(el("p", { class: "note error", role: "alert" }, errorText(e)));
    view.dataset.ready = "error";
  }
}

function signInError(e) {
  if (e instanceof ApiError && e.status === 401) return t("signin.wrong");
  if (e instanceof ApiError && e.status === 503) return t("signin.busy");
  return t("signin.failed", { why: e instanceof ApiError ? e.message : t("error.network") });
}

function wire() {
  $("lang").addEventListener("click", () => setLang(currentLang() === "fa" ? "en" : "fa"));
  onLangChange(() => {
    showWho();
    if (current) showCurrent();
  });
  $("sign-out").addEventListener("click", async () => {
    await signOut();
    showSignIn();
  });
  $("sign-in").addEventListener("submit", async (event) => {
    event.preventDefault();
    const message = $("sign-in-error");
    message.hidden = true;
    const client = readInteger($("client").value);
    try {
      if (Number.isNaN(client)) throw new ApiError(401, null);
      const claims = await signIn(client, $("password").value);
      $("password").value = "";
      await enter(claims);
    } catch (e) {
      if (e instanceof SignedOut) return;
      message.textContent = signInError(e);
      message.hidden = false;
    }
  });
  window.addEventListener("hashchange", () => route());
  onSignedOut(showSignIn);
}

async function start() {
  applyLang();
  wire();
  if (!maySignedIn()) return showSignIn();
  try {
    await enter(await get("whoami"));
  } catch (e) {
    if (!(e instanceof SignedOut)) showSignIn();
  }
}

start();
