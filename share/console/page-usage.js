// Venue usage over time: one venue's visits and subsidy per local day over the last 7, 30 or 90
// days up to today (the local day of the last event, from the coverage answer), and every venue's
// totals over the same days by category and by county. A council sees its area's venues only.
import { get, listAll } from "./api.js";
import { barChart, usageChart } from "./charts.js";
import { countyName } from "./counties.js";
import { asOf, el, heading, note, section, select, table, tile } from "./dom.js";
import { count, day, dayShort, named, rials } from "./format.js";
import { t } from "./i18n.js";

const RANGES = [7, 30, 90];
const state = { venue: 0, days: 30 }; // venue 0: the first listed

function usageRowsTable(rows, keyLabel, keyName, name) {
  return table(
    [
      { label: keyLabel, cell: keyName, key: "key" },
      { label: t("usage.visits"), cell: (r) => count(r.visits), num: true, key: "visits" },
      { label: t("usage.cancelled"), cell: (r) => count(r.cancelled), num: true },
      { label: t("usage.subsidy"), cell: (r) => rials(r.subsidy_rials), num: true, key: "subsidy" },
      { label: t("usage.copay"), cell: (r) => rials(r.copay_rials), num: true },
    ],
    rows,
    { rowData: (r) => ({ [name]: r.key }) },
  );
}

export const usage = {
  id: "usage",
  nav: "nav.usage",
  roles: ["admin", "auditor", "council"],

  async load() {
    const [venues, coverage] = await Promise.all([listAll("venues", "venues"), get("coverage")]);
    const today = coverage.today;
    const from = today - state.days + 1;
    if (!venues.rows.some((v) => v.id === state.venue)) state.venue = venues.rows.length ? venues.rows[0].id : 0;
    const [one, all] = await Promise.all([
      state.venue ? get("venue-usage", { venue: state.venue, from_day: from, to_day: today }) : null,
      get("venue-usage", { venue: 0, from_day: from, to_day: today }),
    ]);
    return { venues: venues.rows, today, from, one, all };
  },

  show(view, { venues, today, from, one, all }, ctx) {
    view.append(heading("usage.title"));
    const venuePick = select(
      "usage-venue",
      t("usage.venue"),
      venues.map((v) => [v.id, named(v.name, v.id)]),
      state.venue,
    );
    const rangePick = select("usage-range", t("usage.range"), RANGES.map((n) => [n, t("usage.days", { n: count(n) })]), state.days);
    venuePick.box.addEventListener("change", () => {
      state.venue = Number(venuePick.box.value);
      ctx.reload();
    });
    rangePick.box.addEventListener("change", () => {
      state.days = Number(rangePick.box.value);
      ctx.reload();
    });
    view.append(
      el("div", { class: "controls" }, venuePick.node, rangePick.node, el("span", { class: "note" }, t("usage.period", { from: day(from), to: day(today) }))),
    );

    if (one && one.found) {
      const byDay = new Map(one.days.map((d) => [d.day, d]));
      const days = [];
      for (let d = from; d <= today; ++d) days.push(d);
      const visits = days.map((d) => (byDay.has(d) ? byDay.get(d).visits : 0));
      const subsidy = days.map((d) => (byDay.has(d) ? byDay.get(d).subsidy_rials : 0));
      view.append(
        section(
          one.name,
          el(
            "p",
            { class: "note" },
            [t("category." + one.category), countyName(one.county), t("usage.capacity", { n: count(one.daily_capacity) }), t("usage.status", { status: t("status." + one.status) })].join(" · "),
          ),
          el(
            "div",
            { class: "tiles" },
            tile(t("usage.visits"), count(one.total.visits), "venue.visits"),
            tile(t("usage.cancelled"), count(one.total.cancelled), "venue.cancelled"),
            tile(t("usage.card_days"), count(one.total.card_days), "venue.card_days"),
            tile(t("usage.subsidy"), rials(one.total.subsidy_rials), "venue.subsidy_rials"),
            tile(t("usage.copay"), rials(one.total.copay_rials), "venue.copay_rials"),
          ),
          one.days.length === 0
            ? note(t("usage.no_days"))
            : usageChart("venue-days", days.map(dayShort), visits, subsidy, t("usage.visits"), t("usage.subsidy"), (v) => rials(v)).box,
          asOf("venue", one.seq),
        ),
      );
    }

    const category = (r) => t("category." + ["Sport", "Pool", "Culture", "Library", "Cinema", "Children"][r.key]);
    view.append(
      section(
        t("usage.by_category"),
        el(
          "div",
          { class: "split" },
          usageRowsTable(all.by_category, t("usage.category"), category, "category"),
          barChart("categories", all.by_category.map(category), [{ label: t("usage.visits"), data: all.by_category.map((r) => r.visits) }]).box,
        ),
        asOf("all", all.seq),
      ),
      section(t("usage.by_county"), usageRowsTable(all.by_county, t("rollups.key_county"), (r) => countyName(r.key), "county")),
    );
  },
};
