// The console's HTTP API (docs/HTTP.md) from the page: JSON over fetch() with the session cookie
// that sign-in sets (HttpOnly: no script here ever sees the token). A 401 from any call means the
// visitor is signed out: onSignedOut's handler runs and the call throws SignedOut.

export class SignedOut extends Error {}

export class ApiError extends Error {
  constructor(status, body, retryAfterS) {
    super(body && body.message ? body.message : "HTTP " + status);
    this.status = status;
    this.reason = body ? body.error : undefined;
    this.retryAfterMs = 1000 * (Number.isFinite(retryAfterS) && retryAfterS >= 0 ? retryAfterS : 1);
  }
}

const HINT_KEY = "refah.session_until_us";
let signedOutHandler = () => {};

// f() when a call finds the visitor signed out.
export function onSignedOut(f) {
  signedOutHandler = f;
}

// Whether a session cookie may be there: the page remembers the sign-in's expiry (the cookie
// itself is out of reach), so that a visitor who never signed in is not sent to the API at all.
export function maySignedIn() {
  const until = Number(localStorage.getItem(HINT_KEY) || 0);
  return until * 1e-3 > Date.now();
}

// The page forgets the session (the server ended it, or the visitor signed out).
export function forgetSession() {
  localStorage.removeItem(HINT_KEY);
}

async function call(method, path, body) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" }, cache: "no-store" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const answer = await fetch(path, init);
  if (answer.status === 204) return null;
  let json = null;
  try {
    json = await answer.json();
  } catch (e) {
    json = null;
  }
  if (answer.ok) return json;
  throw new ApiError(answer.status, json, parseInt(answer.headers.get("Retry-After"), 10));
}

// A GET answered 503 because refahd's query threads were busy (OVERLOADED: the server-wide count of
// expensive queries for the visitor's class, docs/HTTP.md "Bounds") is asked again after the
// answer's Retry-After (capped at BUSY_WAIT_MAX_MS), up to BUSY_TRIES times in all; the wait is
// lengthened by up to half at random so that the calls of one page (Promise.all) and of other
// visitors do not come back together. Any other error, a stopping refahd or failed storage among
// them, is shown at once.
const BUSY_TRIES = 5;
const BUSY_REASONS = new Set(["OVERLOADED", "TOO_MANY_IN_FLIGHT"]);
const BUSY_WAIT_MAX_MS = 5000;

function busy(e) {
  return e instanceof ApiError && e.status === 503 && BUSY_REASONS.has(e.reason);
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// GET /api/v1/<route>?<params>: the answer's JSON.
export async function get(route, params = {}) {
  const query = new URLSearchParams(params).toString();
  for (let attempt = 1; ; ++attempt) {
    try {
      return await call("GET", "/api/v1/" + route + (query ? "?" + query : ""));
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        forgetSession();
        signedOutHandler();
        throw new SignedOut();
      }
      if (!busy(e) || attempt >= BUSY_TRIES) throw e;
      await sleep(Math.min(e.retryAfterMs, BUSY_WAIT_MAX_MS) * (1 + Math.random() / 2));
    }
  }
}

// Signs in with the session cookie; the claims (client, role, county, neighbourhood, expiry).
export async function signIn(client, password) {
  const claims = await call("POST", "/api/v1/sign-in", { client, password, session: "cookie" });
  localStorage.setItem(HINT_KEY, String(claims.expires_at_us));
  return claims;
}

export async function signOut() {
  forgetSession();
  try {
    await call("POST", "/api/v1/sign-out");
  } catch (e) {
    // Signed out already, or the server is gone: the page forgets the session all the same.
  }
}

// Every row of a paged answer: `field` of each page, following `next` (sent back as `param`). With
// `pinned` (admins and auditors: councils may not ask for as_of) the later pages are asked as of the
// first page's seq, so that the rows are of one moment. Returns {seq, rows}.
export async function listAll(route, field, { next = "next_after", param = "after", pinned = false, params = {} } = {}) {
  const first = await get(route, params);
  const rows = [...first[field]];
  let page = first;
  while (page[next]) {
    const more = { ...params, [param]: page[next] };
    if (pinned) more.as_of_seq = first.seq;
    page = await get(route, more);
    rows.push(...page[field]);
  }
  return { seq: first.seq, rows };
}

// Server-sent events of /api/v1/activity: onTotals(totals) about once a second, onEnd() when the
// sign-in lapses, onState(connected) as the stream drops and comes back. Returns a close function.
export function activity(onTotals, onEnd, onState) {
  const source = new EventSource("/api/v1/activity");
  source.addEventListener("open", () => onState(true));
  source.addEventListener("totals", (e) => onTotals(JSON.parse(e.data)));
  source.addEventListener("end", () => {
    source.close();
    onEnd();
  });
  source.addEventListener("error", (e) => {
    if (e.data !== undefined) return; // the server's `event: error` (busy for a tick): the next comes
    onState(false);
    // EventSource retries by itself unless the answer was not a stream (a 401): then ask whether
    // the sign-in is still good, which signs the page out if it is not.
    if (source.readyState === EventSource.CLOSED) get("whoami").catch(() => {});
  });
  return () => source.close();
}
