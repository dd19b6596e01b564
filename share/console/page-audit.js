// Audit status (admins and auditors): the newest checkpoint the server has signed and saved (on its
// schedule, at a stop, or at the first asking when none is saved): head seq, head hash, the read
// models' digest, when it was signed and the public key; then the head itself and how many events
// have come since the checkpoint.
import { ApiError, get } from "./api.js";
import { el, heading, note, section } from "./dom.js";
import { count, time } from "./format.js";
import { t } from "./i18n.js";

function row(label, value, figure, code = false) {
  return [el("dt", {}, label), el("dd", { dataset: { figure } }, code ? el("code", { class: "hex" }, value) : value)];
}

export const audit = {
  id: "audit",
  nav: "nav.audit",
  roles: ["admin", "auditor"],

  async load() {
    const totals = await get("totals");
    try {
      return { totals, checkpoint: await get("checkpoint") };
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return { totals, checkpoint: null };
      throw e;
    }
  },

  show(view, { totals, checkpoint }) {
    view.append(heading("audit.title", t("audit.help")));
    view.append(
      section(
        t("audit.checkpoint"),
        checkpoint
          ? el(
              "dl",
              { class: "facts" },
              row(t("audit.head_seq"), count(checkpoint.head_seq), "checkpoint.head_seq"),
              row(t("audit.signed_at"), time(checkpoint.signed_at_us), "checkpoint.signed_at"),
              row(t("audit.head_hash"), checkpoint.head_hash, "checkpoint.head_hash", true),
              row(t("audit.projections"), checkpoint.projections_digest, "checkpoint.projections_digest", true),
              row(t("audit.public_key"), checkpoint.public_key, "checkpoint.public_key", true),
              row(t("audit.signature"), checkpoint.signature, "checkpoint.signature", true),
            )
          : note(t("audit.no_key")),
      ),
      section(
        t("audit.head"),
        el(
          "dl",
          { class: "facts" },
          row(t("audit.head_seq"), count(totals.seq), "head.seq"),
          row(t("audit.head_time"), totals.head_time_us ? time(totals.head_time_us) : "—", "head.time"),
          ...(checkpoint ? row(t("audit.since"), count(Math.max(0, totals.seq - checkpoint.head_seq)), "head.since") : []),
        ),
      ),
    );
  },
};
