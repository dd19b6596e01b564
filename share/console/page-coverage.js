// Coverage per neighbourhood, ranked by need (docs/PROJECTIONS.md, "Need"): the neediest first,
// with coverage, reach, capacity and the flags of high-need neighbourhoods left behind. A council
// sees its area's rows, keeping their province-wide ranks.
import { get } from "./api.js";
import { countyName } from "./counties.js";
import { asOf, badge, heading, note, table } from "./dom.js";
import { basisPoints, count, decimal, percent } from "./format.js";
import { t } from "./i18n.js";

function flags(n) {
  const out = [];
  if (n.high_need) out.push(badge(t("flag.high_need"), "need"));
  for (const f of n.need_flags) out.push(badge(t("flag." + f), "alert"));
  return out;
}

export const coverage = {
  id: "coverage",
  nav: "nav.coverage",
  roles: ["admin", "auditor", "council"],

  load() {
    return get("coverage", { by_need: "true" });
  },

  show(view, c) {
    view.append(heading("coverage.title", t("coverage.help", { median: percent(c.provincial_median_coverage) })));
    view.append(note(t("coverage.flags_help")), asOf("coverage", c.seq));
    view.append(
      table(
        [
          { label: t("coverage.rank"), cell: (n) => (n.need_rank ? count(n.need_rank) : t("coverage.not_profiled")), num: true, key: "rank" },
          { label: t("coverage.neighbourhood"), cell: (n) => n.name, key: "name" },
          { label: t("coverage.county"), cell: (n) => countyName(n.county), key: "county" },
          { label: t("coverage.tier"), cell: (n) => count(n.tier), num: true, key: "tier" },
          { label: t("coverage.need"), cell: (n) => (n.profiled ? basisPoints(n.need_bp) : "—"), num: true, key: "need" },
          { label: t("coverage.cards"), cell: (n) => count(n.active_cards), num: true, key: "active_cards" },
          { label: t("coverage.coverage"), cell: (n) => percent(n.coverage), num: true, key: "coverage" },
          { label: t("coverage.reach"), cell: (n) => count(n.reach), num: true, key: "reach" },
          { label: t("coverage.visits"), cell: (n) => count(n.visits), num: true, key: "visits" },
          { label: t("coverage.capacity"), cell: (n) => decimal(n.capacity_per_1000, 1), num: true, key: "capacity" },
          { label: t("coverage.flags"), cell: flags, key: "flags" },
        ],
        c.neighbourhoods,
        { rowData: (n) => ({ neighbourhood: n.id, flagged: n.need_flags.length > 0 ? "yes" : "no" }) },
      ),
    );
  },
};
