// Progressive enhancement only: every page works without this file.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // A search box that narrows a long <select> (the recipient organisation).
  for (const input of document.querySelectorAll("input.filter[data-filters]")) {
    const select = document.getElementById(input.dataset.filters);
    if (!select) continue;
    input.hidden = false;
    input.addEventListener("input", () => {
      const term = input.value.trim().toLowerCase();
      let first = null;
      for (const option of select.options) {
        if (!option.value) continue;
        const match = option.text.toLowerCase().includes(term);
        option.hidden = !match;
        if (match && !first) first = option;
      }
      // What you type chooses: the first match replaces «Velg …» or a choice the search hid.
      const current = select.selectedOptions[0];
      if (first && term && (!select.value || current?.hidden)) select.value = first.value;
      select.dispatchEvent(new Event("change"));
    });
  }
  // Units follow the chosen organisation.
  for (const select of document.querySelectorAll("select[data-depends]")) {
    const parent = document.getElementById(select.dataset.depends);
    if (!parent) continue;
    const sync = () => {
      for (const group of select.querySelectorAll("optgroup")) {
        group.hidden = parent.value !== "" && group.dataset.organisation !== parent.value;
      }
      if (select.selectedOptions[0]?.parentElement?.hidden) select.value = "";
    };
    parent.addEventListener("change", sync);
    sync();
  }
  // A field that only applies after a given choice (severity after «Pasienten fikk skade») is shown
  // only then; without this file it is shown with a note that says when it applies.
  for (const field of document.querySelectorAll("[data-shown-when]")) {
    const [name, value] = field.dataset.shownWhen.split("=");
    const radios = document.querySelectorAll(`input[type=radio][name="${name}"]`);
    const sync = () => {
      const chosen = [...radios].some((r) => r.checked && r.value === value);
      field.hidden = !chosen;
      if (!chosen) for (const control of field.querySelectorAll("select")) control.value = "";
    };
    for (const radio of radios) radio.addEventListener("change", sync);
    sync();
  }
  // After a failed post, take keyboard and screen-reader users straight to the list of errors.
  document.getElementById("error-summary")?.focus();
});
