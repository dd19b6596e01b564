// Live activity: visits per second over the last few minutes, the head event and the visit count,
// from the stream live.js keeps open while signed in (server-sent events of /api/v1/activity).
import { liveLine } from "./charts.js";
import { el, heading, tile } from "./dom.js";
import { clock, count, decimal } from "./format.js";
import { t } from "./i18n.js";
import { recentRate, watchLive } from "./live.js";

const AVERAGE_S = 10;

export const activity = {
  id: "activity",
  nav: "nav.activity",
  roles: ["admin", "auditor", "council"],

  load() {
    return null;
  },

  show(view) {
    const rate = tile(t("activity.rate"), "—", "activity.rate");
    const head = tile(t("activity.head"), "—", "activity.seq");
    const visits = tile(t("activity.visits"), "—", "activity.visits");
    const status = el("span", { class: "status", dataset: { figure: "activity.connected" } });
    const chart = liveLine("activity", t("activity.rate"));
    view.append(
      heading("activity.title", t("activity.help")),
      el("div", { class: "tiles" }, rate, head, visits),
      el("section", { class: "panel" }, el("h3", {}, t("activity.chart"), " ", status), chart.box),
    );
    const value = (tileNode) => tileNode.querySelector(".tile-value");
    const unwatch = watchLive(({ samples, latest, connected }) => {
      status.textContent = connected ? t("activity.connected") : t("activity.disconnected");
      status.className = "status " + (connected ? "status-up" : "status-down");
      if (!latest) {
        value(rate).textContent = t("activity.waiting");
        return;
      }
      value(rate).textContent = decimal(recentRate(AVERAGE_S), 1);
      value(head).textContent = count(latest.seq);
      value(visits).textContent = count(latest.visits);
      const shown = samples.slice(1); // the first sample has no rate
      chart.update(shown.map((s) => clock(s.at)), shown.map((s) => s.rate));
      view.dataset.samples = String(samples.length);
    });
    return unwatch;
  },
};
