// What a person sees as a broken layout, measured in the page (called by tests/web/test_layout.py).
// Returns a list of French findings, each naming the element: an element wider than the screen or
// than the box drawn around it (card, fieldset, button, table cell…) outside a container meant to
// scroll; text clipped by a box that hides its overflow; chart text cut at the chart's edge; two
// controls drawn over each other.
() => {
  const TOL = 1;
  const findings = [];
  const seen = new Set();
  const describe = (el) => {
    if (el === document.documentElement) return "la page";
    let s = el.tagName.toLowerCase();
    if (el.id) s += "#" + el.id;
    const cls = typeof el.className === "string" ? el.className.trim() : "";
    if (cls) s += "." + cls.split(/\s+/).slice(0, 2).join(".");
    const text = (el.innerText || el.textContent || el.getAttribute("aria-label") || "").trim().replace(/\s+/g, " ");
    return text ? `${s} « ${text.slice(0, 50)} »` : s;
  };
  const add = (kind, el, detail) => {
    const msg = `${kind} : ${describe(el)}${detail ? " (" + detail + ")" : ""}`;
    if (!seen.has(msg)) { seen.add(msg); findings.push(msg); }
  };
  const INF = { left: -Infinity, top: -Infinity, right: Infinity, bottom: Infinity };
  const meet = (a, b) => ({
    left: Math.max(a.left, b.left), top: Math.max(a.top, b.top),
    right: Math.min(a.right, b.right), bottom: Math.min(a.bottom, b.bottom),
  });
  // What of an element can be seen at all: its box cut by every ancestor that clips or scrolls.
  const clipMemo = new Map();
  const clipOf = (el) => {
    if (!el || el === document.body || el === document.documentElement) return INF;
    if (clipMemo.has(el)) return clipMemo.get(el);
    const p = el.parentElement;
    let c = clipOf(p);
    if (p && p !== document.body) {
      const pst = getComputedStyle(p);
      if (pst.overflowX !== "visible" || pst.overflowY !== "visible") c = meet(c, p.getBoundingClientRect());
    }
    clipMemo.set(el, c);
    return c;
  };
  const visible = (el) => {
    if (!el.getClientRects().length) return false;
    const st = getComputedStyle(el);
    if (st.visibility === "hidden" || st.display === "none") return false;
    const r = meet(el.getBoundingClientRect(), clipOf(el));
    if (r.right - r.left < 2 || r.bottom - r.top < 2) return false;  // visually hidden (sr-only)
    if (r.right <= 0 || r.bottom <= 0) return false;  // parked off-screen (the skip link)
    return true;
  };
  const scrolls = (st) => st.overflowX === "auto" || st.overflowX === "scroll";
  const clips = (st) => st.overflowX === "hidden" || st.overflowX === "clip";
  // A box a person sees: a border, a background, or one of the page's frames.
  const isBox = (el, st) =>
    el === document.body || el.tagName === "MAIN" ||
    ["Top", "Right", "Bottom", "Left"].some((side) => parseFloat(st[`border${side}Width`]) > 0 && st[`border${side}Style`] !== "none") ||
    (st.backgroundColor !== "rgba(0, 0, 0, 0)" && st.backgroundColor !== "transparent");

  const viewport = document.documentElement.clientWidth;
  const main = document.querySelector("main") || document.body;
  const mainStyle = getComputedStyle(main);
  const column = main.clientWidth - parseFloat(mainStyle.paddingLeft) - parseFloat(mainStyle.paddingRight);
  if (document.documentElement.scrollWidth > viewport + TOL) {
    add("La page défile horizontalement", document.documentElement,
        `${document.documentElement.scrollWidth} px pour ${viewport} px d'écran`);
  }

  const all = Array.from(document.body.querySelectorAll("*")).filter(
    (el) => !(el.closest("svg") && el.tagName !== "svg") && !["SCRIPT", "STYLE", "TEMPLATE", "OPTION", "BR"].includes(el.tagName)
  );
  const style = new Map(all.map((el) => [el, getComputedStyle(el)]));
  style.set(document.body, getComputedStyle(document.body));

  for (const el of all) {
    if (!visible(el)) continue;
    const st = style.get(el);
    if (st.position === "fixed") continue;
    const r = el.getBoundingClientRect();
    // 1. wider than the screen, unless inside a container meant to scroll (or one that clips:
    // then check 3 speaks of that container)
    let scroller = null;
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      const ast = style.get(a) || getComputedStyle(a);
      if (scrolls(ast) || clips(ast)) { scroller = a; break; }
    }
    if (!scroller && (r.right > viewport + TOL || r.left < -TOL)) {
      const p = el.parentElement;
      const pr = p && p.getBoundingClientRect();
      if (!p || !(pr.right > viewport + TOL || pr.left < -TOL)) {
        add("Dépasse de l'écran", el, `${Math.round(r.left)}–${Math.round(r.right)} px pour ${viewport} px`);
      }
    }
    // 2. wider than the nearest drawn box around it (up to the nearest scroll container)
    for (let a = el.parentElement; a && a !== scroller; a = a.parentElement) {
      const ast = style.get(a) || getComputedStyle(a);
      if (scrolls(ast)) break;
      if (!isBox(a, ast)) continue;
      const ar = a.getBoundingClientRect();
      const over = Math.max(r.right - ar.right, ar.left - r.left);
      if (over > TOL && !clips(ast)) {
        const p = el.parentElement;
        const pr = p.getBoundingClientRect();
        if (p === a || !(Math.max(pr.right - ar.right, ar.left - pr.left) > TOL)) {
          add("Plus large que son cadre", el, `dépasse de ${Math.round(over)} px : ${describe(a).slice(0, 60)}`);
        }
      }
      break;
    }
    // 3. text clipped by a box that hides what overflows
    // (a text field scrolls under the caret: its value is not clipped for good)
    if ((clips(st) || st.overflowY === "hidden" || st.overflowY === "clip" || st.textOverflow === "ellipsis") &&
        !["svg", "INPUT", "TEXTAREA", "SELECT"].includes(el.tagName)) {
      if (el.scrollWidth > el.clientWidth + TOL || el.scrollHeight > el.clientHeight + TOL) {
        add("Texte coupé", el, `${el.scrollWidth}×${el.scrollHeight} px dans ${el.clientWidth}×${el.clientHeight} px`);
      }
    }
    // 3b. a select narrower than its chosen option, unless it already spans the page's column
    // (then only a shorter wording helps, not the layout)
    if (el.tagName === "SELECT" && el.selectedOptions.length && el.offsetWidth > 0 && r.width < column * 0.9) {
      const probe = document.createElement("span");
      probe.style.cssText = `position:absolute;visibility:hidden;white-space:pre;font:${st.font}`;
      probe.textContent = el.selectedOptions[0].text;
      document.body.appendChild(probe);
      const need = probe.getBoundingClientRect().width + parseFloat(st.paddingLeft) + 16;
      probe.remove();
      if (need > el.clientWidth + 4) add("Texte coupé", el, `option de ${Math.round(need)} px dans ${el.clientWidth} px`);
    }
  }

  // 4. chart text cut at the chart's edge (an SVG clips what it draws outside itself)
  for (const svg of document.querySelectorAll("svg")) {
    if (!visible(svg)) continue;
    const sr = svg.getBoundingClientRect();
    for (const t of svg.querySelectorAll("text")) {
      const tr = t.getBoundingClientRect();
      if (!t.textContent.trim() || tr.width === 0) continue;
      if (tr.left < sr.left - TOL || tr.right > sr.right + TOL || tr.top < sr.top - TOL || tr.bottom > sr.bottom + TOL) {
        add("Texte du graphique coupé", t, describe(svg).slice(0, 60));
      }
    }
  }

  // 5. controls drawn over each other (a bar that stays in view while the page scrolls under it
  // is left out; an inline link is measured line by line)
  const pinned = (el) => {
    for (let a = el; a && a !== document.body; a = a.parentElement) {
      const p = (style.get(a) || getComputedStyle(a)).position;
      if (p === "sticky" || p === "fixed") return true;
    }
    return false;
  };
  const controls = Array.from(document.querySelectorAll("input:not([type=hidden]), select, textarea, button, a[href], label"))
    .filter((c) => visible(c) && !pinned(c));
  const rects = controls.map((c) => Array.from(c.getClientRects()).map((r) => meet(r, clipOf(c))));
  for (let i = 0; i < controls.length; i++) {
    for (let j = i + 1; j < controls.length; j++) {
      const a = controls[i], b = controls[j];
      if (a.contains(b) || b.contains(a)) continue;
      if ((a.tagName === "LABEL" && a.control === b) || (b.tagName === "LABEL" && b.control === a)) continue;
      const hit = rects[i].some((ra) => rects[j].some((rb) =>
        Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left) > 2 &&
        Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top) > 2));
      if (hit) add("Se chevauchent", a, describe(b).slice(0, 60));
    }
  }
  return findings;
}
