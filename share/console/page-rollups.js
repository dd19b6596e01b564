// Counties, tiers and groups: the coverage rollups per county and per tier of deprivation, with a
// chart of each, and the women and children among the active cards (docs/PROJECTIONS.md, "Coverage
// by group": women are holders stated female aged 18 or over, children are aged 0-17 whatever their
// sex, so girls count as children; refahctl and refah-audit count them the same way).
import { get } from "./api.js";
import { barChart } from "./charts.js";
import { countyName } from "./counties.js";
import { asOf, el, heading, note, section, table } from "./dom.js";
import { count, decimal, percent, rials } from "./format.js";
import { t } from "./i18n.js";

const CHILD_BANDS = new Set(["Age0to11", "Age12to17"]);

function noCards(key) {
  return { key, active: 0, women: 0, children: 0, girls: 0, childCards: 0, visits: 0, visitsWomen: 0, visitsChildren: 0 };
}

// Per key (county code), in the cells' order: active cards, women, children, girls, child-category
// cards, and visits.
function groupSums(cells) {
  const sums = new Map();
  for (const c of cells) {
    if (!sums.has(c.key)) sums.set(c.key, noCards(c.key));
    const s = sums.get(c.key);
    const child = CHILD_BANDS.has(c.age_band);
    const woman = c.sex === "Female" && !child && c.age_band !== "NotStated";
    s.active += c.active_cards;
    s.visits += c.visits;
    if (woman) {
      s.women += c.active_cards;
      s.visitsWomen += c.visits;
    }
    if (child) {
      s.children += c.active_cards;
      s.visitsChildren += c.visits;
      if (c.sex === "Female") s.girls += c.active_cards;
    }
    if (c.category === "Child") s.childCards += c.active_cards;
  }
  return [...sums.values()];
}

function share(part, whole) {
  return whole ? percent(part / whole, 1) : "—";
}

function rollupTable(rows, keyLabel, keyName, name) {
  return table(
    [
      { label: keyLabel, cell: keyName, key: "key" },
      { label: t("rollups.neighbourhoods"), cell: (r) => count(r.neighbourhoods), num: true },
      { label: t("rollups.population"), cell: (r) => count(r.target_population), num: true },
      { label: t("rollups.cards"), cell: (r) => count(r.active_cards), num: true, key: "active_cards" },
      { label: t("rollups.coverage"), cell: (r) => percent(r.coverage), num: true },
      { label: t("rollups.reach"), cell: (r) => count(r.reach), num: true, key: "reach" },
      { label: t("rollups.visits"), cell: (r) => count(r.visits), num: true, key: "visits" },
      { label: t("rollups.subsidy"), cell: (r) => rials(r.subsidy_rials), num: true },
      { label: t("rollups.per_capita"), cell: (r) => decimal(r.subsidy_per_capita_rials, 1), num: true },
    ],
    rows,
    { rowData: (r) => ({ [name]: r.key }) },
  );
}

function coverageChart(name, rows, label) {
  return barChart(name, rows.map(label), [{ label: t("rollups.chart_coverage"), data: rows.map((r) => r.coverage * 100) }]).box;
}

export const rollups = {
  id: "rollups",
  nav: "nav.rollups",
  roles: ["admin", "auditor", "council"],

  load() {
    return get("coverage", { groups: "true" });
  },

  show(view, c) {
    const county = (r) => countyName(r.key);
    const tier = (r) => t("rollups.tier_label", { tier: count(r.key) });
    view.append(heading("rollups.title"), asOf("coverage", c.seq));
    view.append(
      section(
        t("rollups.counties"),
        coverageChart("counties", c.counties, county),
        rollupTable(c.counties, t("rollups.key_county"), county, "county"),
      ),
      section(
        t("rollups.tiers"),
        coverageChart("tiers", c.tiers, tier),
        rollupTable(c.tiers, t("rollups.key_tier"), tier, "tier"),
      ),
    );

    const groups = groupSums(c.county_groups);
    const all = groupSums(c.county_groups.map((cell) => ({ ...cell, key: 0 })))[0] || noCards(0);
    view.append(
      section(
        t("rollups.groups"),
        note(t("rollups.groups_help")),
        barChart(
          "groups",
          groups.map(county),
          [
            { label: t("groups.women_share"), data: groups.map((g) => (g.active ? (100 * g.women) / g.active : 0)) },
            { label: t("groups.children_share"), data: groups.map((g) => (g.active ? (100 * g.children) / g.active : 0)) },
          ],
          { yFormat: (v) => percent(v / 100, 0) },
        ).box,
        table(
          [
            { label: t("rollups.key_county"), cell: county },
            { label: t("groups.active"), cell: (g) => count(g.active), num: true, key: "active" },
            { label: t("groups.women"), cell: (g) => count(g.women), num: true, key: "women" },
            { label: t("groups.women_share"), cell: (g) => share(g.women, g.active), num: true },
            { label: t("groups.children"), cell: (g) => count(g.children), num: true, key: "children" },
            { label: t("groups.children_share"), cell: (g) => share(g.children, g.active), num: true },
            { label: t("groups.girls"), cell: (g) => count(g.girls), num: true },
            { label: t("groups.child_cards"), cell: (g) => count(g.childCards), num: true },
            { label: t("groups.visits_women"), cell: (g) => count(g.visitsWomen), num: true },
            { label: t("groups.visits_children"), cell: (g) => count(g.visitsChildren), num: true },
          ],
          groups,
          {
            rowData: (g) => ({ county: g.key }),
            footer: [
              t("common.total"),
              count(all.active),
              count(all.women),
              share(all.women, all.active),
              count(all.children),
              share(all.children, all.active),
              count(all.girls),
              count(all.childCards),
              count(all.visitsWomen),
              count(all.visitsChildren),
            ],
          },
        ),
      ),
    );
  },
};
