// Overview: the programme's totals (cards, balances, spent, lapsed, visits), today's visits and
// subsidy (all venues' usage on the local day of the last event), and the budgets (admins and
// auditors). A council's figures are its area's: the server scopes every answer.
import { get, listAll } from "./api.js";
import { countyName } from "./counties.js";
import { asOf, el, heading, note, phrase, section, table, tile } from "./dom.js";
import { count, day, rials } from "./format.js";
import { t } from "./i18n.js";

const TOTALS = [
  ["cards", "overview.cards", count],
  ["active_cards", "overview.active_cards", count],
  ["balance_rials", "overview.balance", rials],
  ["credited_rials", "overview.credited", rials],
  ["spent_rials", "overview.spent", rials],
  ["lapsed_rials", "overview.lapsed", rials],
  ["refunded_rials", "overview.refunded", rials],
  ["released_rials", "overview.released", rials],
  ["visits", "overview.visits", count],
  ["visits_cancelled", "overview.visits_cancelled", count],
  ["venues", "overview.venues", count],
  ["neighbourhoods", "overview.neighbourhoods", count],
];

const BUDGET_SUMS = [
  ["allocated_rials", "budget.allocated"],
  ["committed_rials", "budget.committed"],
  ["spent_rials", "budget.spent"],
  ["lapsed_rials", "budget.lapsed"],
  ["released_rials", "budget.released"],
  ["remaining_rials", "budget.remaining"],
  ["outstanding_rials", "budget.outstanding"],
];

export const overview = {
  id: "overview",
  nav: "nav.overview",
  roles: ["admin", "auditor", "council"],

  async load(ctx) {
    const [totals, coverage, budgets] = await Promise.all([
      get("totals"),
      get("coverage"),
      ctx.who.role === "council"
        ? null
        : listAll("budgets", "envelopes", { next: "next_envelope", param: "from_envelope", pinned: true }),
    ]);
    // Today: the local day of the last event (the coverage answer's), then all venues' usage that day.
    const today = coverage.today
      ? await get("venue-usage", { venue: 0, from_day: coverage.today, to_day: coverage.today })
      : null;
    return { totals, coverage, budgets, today };
  },

  show(view, { totals, coverage, budgets, today }) {
    view.append(heading("overview.title"), asOf("totals", totals.seq, totals.head_time_us));
    view.append(el("div", { class: "tiles" }, TOTALS.map(([field, key, f]) => tile(t(key), f(totals[field]), "totals." + field))));

    if (today) {
      const date = el("span", { dataset: { figure: "today.date" } }, day(coverage.today));
      view.append(
        el(
          "section",
          { class: "panel" },
          el("h3", {}, phrase("overview.today", { date })),
          el(
            "div",
            { class: "tiles" },
            tile(t("overview.visits_today"), count(today.total.visits), "today.visits"),
            tile(t("overview.subsidy_today"), rials(today.total.subsidy_rials), "today.subsidy_rials"),
            tile(t("overview.cancelled_today"), count(today.total.cancelled), "today.cancelled"),
          ),
          asOf("today", today.seq),
        ),
      );
    }

    if (!budgets) {
      view.append(section(t("overview.budgets"), note(t("overview.budgets_council"), { dataset: { figure: "budgets.hidden" } })));
      return;
    }
    const sums = Object.fromEntries(BUDGET_SUMS.map(([field]) => [field, budgets.rows.reduce((s, e) => s + e[field], 0)]));
    const rows = budgets.rows;
    view.append(
      section(
        t("overview.budgets"),
        el("div", { class: "tiles four" }, BUDGET_SUMS.map(([field, key]) => tile(t(key), rials(sums[field]), "budgets." + field))),
        rows.length === 0
          ? note(t("overview.no_budgets"))
          : table(
              [
                { label: t("budget.envelope"), cell: (e) => count(e.envelope), num: true },
                { label: t("budget.source"), cell: (e) => t("source." + e.source) },
                { label: t("budget.county"), cell: (e) => countyName(e.county) },
                { label: t("budget.period"), cell: (e) => day(e.from_day) + " – " + day(e.until_day) },
                ...BUDGET_SUMS.map(([field, key]) => ({ label: t(key), cell: (e) => rials(e[field]), num: true })),
              ],
              rows,
            ),
        asOf("budgets", budgets.seq),
      ),
    );
  },
};
