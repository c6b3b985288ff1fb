/* Liaison — small behaviours of the letter form: add, remove and reorder rows without reloading
   (keyboard friendly, focus kept), and links of the QLS panel that move focus to the field. */
(function () {
  "use strict";

  function renumber(list) {
    var name = list.dataset.list;
    var rows = list.querySelectorAll(":scope > fieldset.row");
    rows.forEach(function (row, i) {
      row.dataset.index = String(i);
      var no = row.querySelector(".row-no");
      if (no) { no.textContent = String(i + 1); }
      row.querySelectorAll("[name],[id],label[for],[aria-describedby]").forEach(function (el) {
        var re = new RegExp("^(f-|e-f-)?" + name + "([.-])(\\d+|__i__)([.-])");
        ["name", "id", "for", "aria-describedby"].forEach(function (attr) {
          var v = el.getAttribute(attr);
          if (v) { el.setAttribute(attr, v.replace(re, function (_m, pre, s1, _n, s2) { return (pre || "") + name + s1 + i + s2; })); }
        });
      });
    });
  }

  function changed(form) {
    form.dispatchEvent(new Event("liaison-rows", { bubbles: true }));
  }

  function addRow(button) {
    var name = button.dataset.add;
    var list = document.querySelector('.rows[data-list="' + name + '"]');
    var tpl = document.getElementById("tpl-" + name);
    if (!list || !tpl) { return; }
    var frag = tpl.content.cloneNode(true);
    var row = frag.querySelector("fieldset.row");
    list.appendChild(frag);
    renumber(list);
    if (window.htmx) { window.htmx.process(row); }
    var first = row.querySelector("input:not([type=hidden]), select, textarea");
    if (first) { first.focus(); }
    changed(list.closest("form"));
  }

  function moveRow(button, delta) {
    var row = button.closest("fieldset.row");
    var list = row.parentElement;
    var sibling = delta < 0 ? row.previousElementSibling : row.nextElementSibling;
    if (!sibling) { return; }
    if (delta < 0) { list.insertBefore(row, sibling); } else { list.insertBefore(sibling, row); }
    renumber(list);
    button.focus();
    announce(row.querySelector("legend").textContent.trim() + " déplacé.");
    changed(list.closest("form"));
  }

  function removeRow(button) {
    var row = button.closest("fieldset.row");
    var list = row.parentElement;
    var form = list.closest("form");
    var next = row.nextElementSibling || row.previousElementSibling;
    var label = row.querySelector("legend").textContent.trim();
    row.remove();
    renumber(list);
    var target = next ? next.querySelector("input:not([type=hidden]), select") : list.parentElement.querySelector("[data-add]");
    if (target) { target.focus(); }
    announce(label + " supprimé.");
    changed(form);
  }

  function announce(text) {
    var live = document.getElementById("sr-announce");
    if (!live) {
      live = document.createElement("div");
      live.id = "sr-announce";
      live.className = "sr-only";
      live.setAttribute("aria-live", "polite");
      document.body.appendChild(live);
    }
    live.textContent = text;
  }

  function focusField(id) {
    var el = document.getElementById(id);
    if (!el) { return false; }
    var focusable = el.matches("input, select, textarea, button, a[href]") ? el
      : el.querySelector("input:not([type=hidden]), select, textarea, button") || el;
    if (focusable === el && !el.hasAttribute("tabindex")) { el.setAttribute("tabindex", "-1"); }
    el.scrollIntoView({ block: "center" });
    focusable.focus({ preventScroll: true });
    return true;
  }

  // A professional chosen in the recipients' directory: their MSSanté address and RPPS follow.
  document.addEventListener("change", function (ev) {
    var input = ev.target;
    if (!input.matches || !input.matches("input[list=correspondent-options]")) { return; }
    var chosen = Array.prototype.find.call(
      document.querySelectorAll("#correspondent-options option"),
      function (o) { return o.value === input.value; }
    );
    if (!chosen) { return; }
    var row = input.closest("[data-row]");
    var mssante = row.querySelector("input[name$='.mssante']");
    var rpps = row.querySelector("input[name$='.rpps']");
    mssante.value = chosen.dataset.mssante || "";
    rpps.value = chosen.dataset.rpps || "";
    var channel = row.querySelector("select[name$='.channel']");
    if (channel && chosen.dataset.mssante) { channel.value = "mssante"; }
    mssante.dispatchEvent(new Event("change", { bubbles: true }));
  });

  // The unit's usual exit mode is proposed, never filled in silently: one click puts it in the
  // field (the physician still confirms the planned discharge).
  document.addEventListener("click", function (ev) {
    var t = ev.target.closest("[data-propose]");
    if (!t) { return; }
    var field = document.getElementById(t.dataset.propose);
    if (!field) { return; }
    field.value = t.dataset.value;
    field.dispatchEvent(new Event("change", { bubbles: true }));
    field.focus();
  });

  document.addEventListener("click", function (ev) {
    var t = ev.target.closest("[data-add], [data-move], [data-remove], a[data-focus]");
    if (!t) { return; }
    if (t.matches("a[data-focus]")) {
      if (focusField(t.dataset.focus)) { ev.preventDefault(); }
      return;
    }
    ev.preventDefault();
    if (t.hasAttribute("data-add")) { addRow(t); }
    else if (t.hasAttribute("data-move")) { moveRow(t, parseInt(t.dataset.move, 10)); }
    else { removeRow(t); }
  });

  // On a tablet or a phone the QLS panel sits below the form: the sticky bar of the form says
  // where the check stands and leads to it.
  function qlsSummary() {
    var out = document.querySelector(".qls-jump-state");
    var summary = document.querySelector("#qls-panel .panel-summary");
    if (!out || !summary) { return; }
    var missing = summary.querySelector(".ko");
    out.textContent = missing ? " : " + missing.textContent.trim().replace(/\s+/g, " ") : " : conforme";
  }

  // A table wider than its box scrolls in it: the box then takes the keyboard focus (arrows).
  function scrollBoxes() {
    document.querySelectorAll(".table-scroll").forEach(function (box) {
      if (box.scrollWidth > box.clientWidth + 1) {
        box.setAttribute("tabindex", "0");
        box.setAttribute("role", "region");
        var table = box.querySelector("table");
        var caption = table && table.querySelector("caption");
        var name = caption ? caption.textContent.trim() : "";
        if (!box.hasAttribute("aria-label")) { box.setAttribute("aria-label", (name || "Tableau") + " (défilement horizontal)"); }
      } else if (box.getAttribute("tabindex") === "0") {
        box.removeAttribute("tabindex");
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
      }
    });
  }

  // Shared ward computers: after the session's idle delay without a key pressed, a click or a
  // touch, the page goes back to the login screen (the server has ended the session by then), so
  // no patient stays on screen. The worklist's automatic refresh does not count as activity.
  function idleLogout() {
    var body = document.body;
    var seconds = parseInt(body.dataset.idleSeconds || "", 10);
    if (!seconds) { return; }
    var last = Date.now();
    ["keydown", "pointerdown", "wheel", "touchstart"].forEach(function (type) {
      document.addEventListener(type, function () { last = Date.now(); }, { passive: true, capture: true });
    });
    window.setInterval(function () {
      if (Date.now() - last > seconds * 1000) {
        var here = window.location.pathname + window.location.search;
        window.location.assign(body.dataset.loginUrl + "?next=" + encodeURIComponent(here));
      }
    }, 5000);
  }

  document.addEventListener("DOMContentLoaded", function () { qlsSummary(); scrollBoxes(); idleLogout(); });
  document.addEventListener("htmx:afterSwap", function () { qlsSummary(); scrollBoxes(); });
  window.addEventListener("resize", scrollBoxes);
})();
