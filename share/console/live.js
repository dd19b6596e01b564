// Live activity: the /api/v1/activity stream (an `event: totals` a second, with the signed-in
// client's totals) from sign-in to sign-out, kept as samples of the last few minutes so that the
// activity page has a history when it opens. Visits per second is the change in `visits` between
// two samples over the time between them (this browser's clock: the server's head time may run on
// the demo's faster clock).
import { activity } from "./api.js";

const WINDOW_MS = 5 * 60 * 1000;
const listeners = new Set();
let samples = []; // {at: ms, seq, visits, rate}
let latest = null; // the last totals received
let connected = false;
let close = null;

function notify() {
  for (const f of listeners) f({ samples, latest, connected });
}

function add(totals) {
  const at = Date.now();
  const previous = samples[samples.length - 1];
  let rate = 0;
  if (previous && at > previous.at) rate = Math.max(0, totals.visits - previous.visits) / ((at - previous.at) / 1000);
  samples.push({ at, seq: totals.seq, visits: totals.visits, rate });
  while (samples.length && samples[0].at < at - WINDOW_MS) samples.shift();
  latest = totals;
  notify();
}

// Starts the stream; onEnd() when the server ends it (the sign-in lapsed).
export function startLive(onEnd) {
  stopLive();
  close = activity(add, () => {
    connected = false;
    close = null;
    onEnd();
  }, (up) => {
    connected = up;
    notify();
  });
}

export function stopLive() {
  if (close) close();
  close = null;
  samples = [];
  latest = null;
  connected = false;
}

// Visits per second over the last `seconds` (0 with fewer than two samples in it).
export function recentRate(seconds) {
  if (samples.length < 2) return 0;
  const last = samples[samples.length - 1];
  let first = samples[samples.length - 2];
  for (let i = samples.length - 2; i >= 0 && samples[i].at >= last.at - seconds * 1000; --i) first = samples[i];
  return last.at > first.at ? Math.max(0, last.visits - first.visits) / ((last.at - first.at) / 1000) : 0;
}

// f({samples, latest, connected}) now and at every change; returns the unsubscribe function.
export function watchLive(f) {
  listeners.add(f);
  f({ samples, latest, connected });
  return () => listeners.delete(f);
}
