// Progressive enhancement only: every page works without this file.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // A <select> with many choices becomes a combobox (WAI-ARIA 1.2, list autocomplete with automatic
  // selection): what you type chooses the first match, so Tab moves on with it chosen. The select
  // stays in the form, hidden, and is what is sent; without this file it is the control.
  for (const select of document.querySelectorAll("select[data-combobox]")) combobox(select);
  // Units follow the chosen organisation.
  for (const select of document.querySelectorAll("select[data-depends]")) {
    const parent = document.querySelector(`select[name="${select.dataset.depends}"]`);
    if (!parent) continue;
    const sync = () => {
      for (const group of select.querySelectorAll("optgroup")) {
        group.hidden = group.dataset.organisation !== parent.value;
      }
      if (select.selectedOptions[0]?.parentElement?.hidden) select.value = "";
    };
    parent.addEventListener("change", sync);
    sync();
  }
  // A field that only applies after a given choice (severity after «Pasienten fikk skade») is shown
  // only then; without this file it is shown with a note that says when it applies.
  // «name=value» waits for that radio; a bare «name» for any choice in that select (the units, once
  // an organisation is chosen).
  for (const field of document.querySelectorAll("[data-shown-when]")) {
    const [name, value] = field.dataset.shownWhen.split("=");
    const controls = document.querySelectorAll(`input[type=radio][name="${name}"], select[name="${name}"]`);
    const sync = () => {
      const chosen = [...controls].some((c) => (c.type === "radio" ? c.checked && c.value === value : c.value !== ""));
      field.hidden = !chosen;
      if (!chosen) for (const control of field.querySelectorAll("select")) control.value = "";
    };
    for (const control of controls) control.addEventListener("change", sync);
    sync();
  }
  // A text area says how much room is left, by the same limit the server holds it to. Screen
  // readers hear it only near the end, not on every key.
  for (const field of document.querySelectorAll("textarea[maxlength]")) {
    const max = field.maxLength;
    const counter = document.createElement("p");
    counter.className = "help counter";
    const live = document.createElement("p");
    live.className = "visually-hidden";
    live.setAttribute("aria-live", "polite");
    const update = () => {
      const left = max - field.value.length;
      counter.textContent = `${left.toLocaleString("nb-NO")} av ${max.toLocaleString("nb-NO")} tegn igjen`;
      live.textContent = left <= max / 10 ? `${left} tegn igjen` : "";
    };
    field.after(counter, live);
    field.addEventListener("input", update);
    update();
  }
  // After a failed post, take keyboard and screen-reader users straight to the list of errors.
  (document.getElementById("error-summary") ?? document.getElementById("problem"))?.focus();
});

function combobox(select) {
  const id = select.id;
  const options = [];
  const seen = new Set();
  for (const option of select.options) {
    if (!option.value || seen.has(option.value)) continue;
    seen.add(option.value);
    options.push({ value: option.value, label: option.text });
  }
  const input = document.createElement("input");
  input.type = "text";
  input.autocomplete = "off";
  input.spellcheck = false;
  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-expanded", "false");
  input.setAttribute("aria-controls", `${id}-list`);
  for (const name of ["aria-describedby", "aria-invalid"]) {
    if (select.hasAttribute(name)) input.setAttribute(name, select.getAttribute(name));
  }
  const list = document.createElement("ul");
  list.id = `${id}-list`;
  list.className = "combobox-list";
  list.setAttribute("role", "listbox");
  list.setAttribute("aria-label", select.dataset.combobox);
  list.hidden = true;
  const status = document.createElement("p");
  status.className = "visually-hidden";
  status.setAttribute("role", "status");
  // The label's for= now names the text box; the select keeps its name and value.
  select.id = `${id}-select`;
  input.id = id;
  select.hidden = true;
  select.tabIndex = -1;
  const wrapper = document.createElement("div");
  wrapper.className = "combobox";
  select.after(wrapper);
  wrapper.append(input, list, status);
  const chosen = () => options.find((o) => o.value === select.value);
  input.value = chosen()?.label ?? "";

  let shown = [];
  let active = -1;
  const choose = (option) => {
    if (select.value === (option?.value ?? "")) return;
    select.value = option?.value ?? "";
    select.dispatchEvent(new Event("change"));
  };
  const mark = (index) => {
    active = index;
    for (const [i, li] of [...list.children].entries()) li.setAttribute("aria-selected", String(i === index));
    if (index < 0) input.removeAttribute("aria-activedescendant");
    else {
      input.setAttribute("aria-activedescendant", `${id}-option-${index}`);
      list.children[index].scrollIntoView({ block: "nearest" });
      choose(shown[index]);
    }
  };
  const open = (term) => {
    const t = term.trim().toLowerCase();
    shown = options.filter((o) => o.label.toLowerCase().includes(t));
    list.replaceChildren(
      ...shown.map((o, i) => {
        const li = document.createElement("li");
        li.id = `${id}-option-${i}`;
        li.setAttribute("role", "option");
        li.textContent = o.label;
        li.addEventListener("mousedown", (e) => e.preventDefault());
        li.addEventListener("click", () => {
          choose(o);
          close();
        });
        return li;
      }),
    );
    list.hidden = shown.length === 0;
    input.setAttribute("aria-expanded", String(!list.hidden));
    status.textContent = shown.length === 0 ? "Ingen treff" : `${shown.length} treff`;
    return shown;
  };
  const close = () => {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    input.value = chosen()?.label ?? input.value;
  };
  input.addEventListener("input", () => {
    const found = open(input.value);
    if (!input.value.trim()) {
      choose(null);
      mark(-1);
    } else if (found.length) mark(0);
    else choose(null);
  });
  input.addEventListener("keydown", (e) => {
    const expanded = !list.hidden;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      if (!expanded) open(chosen() ? "" : input.value);
      if (!shown.length) return;
      const step = e.key === "ArrowDown" ? 1 : -1;
      const current = active < 0 ? shown.findIndex((o) => o.value === select.value) : active;
      mark(current < 0 ? 0 : (current + step + shown.length) % shown.length);
    } else if (e.key === "Enter" && expanded) {
      // Enter takes the highlighted choice; it does not send the form.
      e.preventDefault();
      close();
    } else if (e.key === "Escape") {
      if (expanded) close();
      else {
        input.value = "";
        choose(null);
      }
    }
  });
  input.addEventListener("blur", close);
}
