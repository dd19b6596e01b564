// Settlements per venue (admins and auditors): a venue's settlement statements, newest first, with
// the subsidy owed to it and each statement's digest (refah-audit verify recomputes them).
import { listAll } from "./api.js";
import { asOf, el, heading, note, section, select, table } from "./dom.js";
import { count, day, named, rials, shortHex, time } from "./format.js";
import { t } from "./i18n.js";

const state = { venue: 0 }; // 0: the first listed

export const settlements = {
  id: "settlements",
  nav: "nav.settlements",
  roles: ["admin", "auditor"],

  async load() {
    const venues = await listAll("venues", "venues");
    if (!venues.rows.some((v) => v.id === state.venue)) state.venue = venues.rows.length ? venues.rows[0].id : 0;
    const found = state.venue
      ? await listAll("settlements", "settlements", { next: "next_after_seq", param: "after_seq", pinned: true, params: { venue: state.venue } })
      : { seq: venues.seq, rows: [] };
    return { venues: venues.rows, found };
  },

  show(view, { venues, found }, ctx) {
    view.append(heading("settlements.title", t("settlements.help")));
    const pick = select("settlements-venue", t("usage.venue"), venues.map((v) => [v.id, named(v.name, v.id)]), state.venue);
    pick.box.addEventListener("change", () => {
      state.venue = Number(pick.box.value);
      ctx.reload();
    });
    view.append(el("div", { class: "controls" }, pick.node));
    const rows = [...found.rows].reverse();
    const owed = rows.reduce((s, r) => s + r.owed_rials, 0);
    const venue = venues.find((v) => v.id === state.venue);
    view.append(
      section(
        venue ? venue.name : "—",
        rows.length === 0
          ? note(t("settlements.none"))
          : [
              note(t("settlements.total_owed", { owed: rials(owed), n: count(rows.length) }), { dataset: { figure: "settlements.owed" } }),
              table(
                [
                  { label: t("settlements.seq"), cell: (r) => count(r.seq), num: true, key: "seq" },
                  { label: t("settlements.recorded"), cell: (r) => time(r.recorded_at_us) },
                  { label: t("settlements.period"), cell: (r) => day(r.from_day) + " – " + day(r.until_day) },
                  { label: t("settlements.visits"), cell: (r) => count(r.visits), num: true, key: "visits" },
                  { label: t("settlements.cancellations"), cell: (r) => count(r.cancellations), num: true },
                  { label: t("settlements.adjustments"), cell: (r) => count(r.adjustments), num: true },
                  { label: t("settlements.visit_rials"), cell: (r) => rials(r.visit_rials), num: true },
                  { label: t("settlements.cancelled_rials"), cell: (r) => rials(r.cancelled_rials), num: true },
                  { label: t("settlements.adjusted_rials"), cell: (r) => rials(r.adjusted_rials), num: true },
                  { label: t("settlements.owed"), cell: (r) => rials(r.owed_rials), num: true, key: "owed" },
                  { label: t("settlements.digest"), cell: (r) => el("code", { title: r.digest }, shortHex(r.digest, 12)) },
                ],
                rows,
              ),
            ],
        asOf("settlements", found.seq),
      ),
    );
  },
};
