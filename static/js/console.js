// Genesis Console: dialogs, the Copy button and the one-time key's cleanup.
// Everything here is an enhancement: without JavaScript every dialog is a page of its own.
(() => {
  "use strict";

  document.documentElement.classList.replace("no-js", "js");

  // The console page this tab was last on, for the way back from one's account pages
  // (a[data-back-to-console]: the recovery codes); without it, the link's own address.
  const CONSOLE_PAGE = "genesis:console-page";
  if (window.location.pathname.startsWith("/o/")) {
    window.sessionStorage.setItem(CONSOLE_PAGE, window.location.pathname + window.location.search);
  }
  document.addEventListener("DOMContentLoaded", () => {
    const page = window.sessionStorage.getItem(CONSOLE_PAGE);
    if (!page || !page.startsWith("/o/")) return;
    document.querySelectorAll("a[data-back-to-console]").forEach((link) => {
      link.href = page;
    });
  });

  // The browser's time zone, for times shown before the person chose one in their
  // profile (accounts.time_zones reads the cookie; the first sign-in keeps it).
  // IANA names ("America/Argentina/Buenos_Aires") are valid cookie values as they are.
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (/^[\w/+-]+$/.test(zone || "") && !document.cookie.split("; ").includes(`time_zone=${zone}`)) {
    const secure = window.location.protocol === "https:" ? "; secure" : "";
    document.cookie = `time_zone=${zone}; path=/; max-age=31536000; samesite=lax${secure}`;
  }

  const FOCUSABLE =
    "a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), " +
    "select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex='-1'])";
  const shownControls = (root) =>
    [...root.querySelectorAll(FOCUSABLE)].filter((control) => control.getClientRects().length > 0);

  // The element that opened the current dialog, to give focus back when it closes.
  let opener = null;

  // Where focus goes when the element it was on leaves the page with the list it was in
  // (a deleted key's row, a refreshed members panel): the same control if it comes back
  // (a role's select, by id), else the same action on the row that was next, or the one
  // before, else the list's heading. Never the page's start.
  let focusPlan = null;

  function planFocus(element) {
    const row = element.closest("tr[id]");
    const heading = element.closest("section")?.querySelector("h2[id]");
    focusPlan = {
      element,
      id: element.id,
      rows: row ? [row.id, row.nextElementSibling?.id, row.previousElementSibling?.id] : [],
      index: row ? shownControls(row).indexOf(element) : -1,
      heading: heading?.id,
    };
  }

  function plannedTarget(plan) {
    const byId = (id) => (id ? document.getElementById(id) : null);
    let target = byId(plan.id);
    for (const row of plan.rows.map(byId)) {
      if (target || !row) continue;
      const controls = shownControls(row);
      target = controls[plan.index] || controls[0];
    }
    return target || byId(plan.heading);
  }

  // Once the list that came back has settled: htmx has set up its buttons by then.
  document.addEventListener("htmx:afterSettle", (event) => {
    const lost = !document.activeElement || document.activeElement === document.body;
    if (!focusPlan || !lost) return;
    const target = plannedTarget(focusPlan);
    if (target && event.target.isConnected && event.target.contains(target)) {
      focusPlan = null;
      target.focus();
    }
  });
  document.addEventListener("focusin", (event) => {
    if (focusPlan && event.target !== focusPlan.element) focusPlan = null;
  });

  function openDialogs(root) {
    root.querySelectorAll("dialog[data-dialog]").forEach((dialog) => {
      if (dialog.open && dialog.matches(":modal")) return;
      enhanceForm(dialog);
      // A dialog page comes with the dialog open but not modal. Dropping the attribute
      // doesn't fire "close" (close() would, and the handler below removes the dialog).
      dialog.removeAttribute("open");
      dialog.showModal();
    });
  }

  // Parts of a form shown only for one choice (data-shown-when="field=value": the date
  // for a custom expiry, the note for Never). Without JavaScript they are all shown.
  function applyChoices(root) {
    root.querySelectorAll("[data-shown-when]").forEach((element) => {
      const [name, value] = element.dataset.shownWhen.split("=");
      const control = element.closest("form")?.elements[name];
      if (control) element.hidden = control.value !== value;
    });
  }

  // A live count beside inputs with a length limit, so a long name is seen, not cut.
  function addCounters(root) {
    root.querySelectorAll("input[data-max-length]").forEach((input) => {
      if (input.nextElementSibling?.classList.contains("counter")) return;
      const counter = document.createElement("div");
      counter.className = "counter";
      counter.setAttribute("aria-hidden", "true");
      input.after(counter);
      const update = () => {
        const length = [...input.value].length;
        const limit = Number(input.dataset.maxLength);
        counter.textContent = `${length} / ${limit}`;
        counter.classList.toggle("counter--over", length > limit);
      };
      input.addEventListener("input", update);
      update();
    });
  }

  function enhanceForm(root) {
    applyChoices(root);
    addCounters(root);
  }

  function restoreFocus() {
    const target =
      opener && opener.isConnected
        ? opener
        : document.querySelector("main h2[tabindex], main h1") || document.getElementById("main");
    opener = null;
    if (!target) return;
    // The list it is in may be refreshed next (the key was deleted): plan for that.
    if (target.closest("tr[id], section")) planFocus(target);
    target.focus();
  }

  // The key must not outlive its dialog: not in the DOM, not in the back/forward cache.
  function forgetSecrets() {
    document.querySelectorAll("[data-secret]").forEach((secret) => {
      const dialog = secret.closest("dialog");
      if (dialog) dialog.remove();
      else secret.remove();
    });
  }

  // The opener is taken from the request's own element (the dialog-opener form's button),
  // not from document.activeElement, which a click or a late swap may have moved.
  document.addEventListener("htmx:beforeRequest", (event) => {
    const { elt, target } = event.detail;
    // A row's own action (an invitation's Resend, Revoke) refreshes the list it is in.
    if (elt && target?.id !== "dialog-slot" && elt.closest("tr[id]")) {
      const control = document.activeElement;
      if (control && elt.contains(control)) planFocus(control);
    }
    if (!target || target.id !== "dialog-slot" || !elt || elt.closest("dialog")) return;
    // A form's control that is shown: its button, or a role's select (whose button is
    // for browsers without JavaScript).
    const shown = elt.matches("form")
      ? [...elt.querySelectorAll("button, select")].find((control) => control.getClientRects().length)
      : null;
    opener = shown || elt;
  });

  document.addEventListener("htmx:afterSwap", (event) => {
    const target = event.detail.target;
    if (!target || target.id !== "dialog-slot") return;
    if (target.querySelector("dialog[data-dialog]")) openDialogs(target);
    else restoreFocus();
  });

  // Texts in the page's language, from data-text-* attributes on <body>.
  const say = (name) => document.body.dataset[name] || "";

  // Errors htmx doesn't swap (403, 404, 405, 429, 5xx): say so where messages appear.
  document.addEventListener("htmx:responseError", (event) => {
    const status = event.detail.xhr.status;
    const known = { 403: "textError403", 404: "textError404", 429: "textError429" }[status];
    const text = say(known || "textError");
    const messages = document.getElementById("messages");
    if (!messages) return;
    const message = document.createElement("p");
    message.className = "message message--error";
    const words = document.createElement("span");
    words.textContent = text;
    const dismiss = document.createElement("button");
    dismiss.type = "button";
    dismiss.className = "message__close";
    dismiss.dataset.dismiss = "";
    dismiss.setAttribute("aria-label", say("textDismiss"));
    dismiss.title = say("textDismiss");
    dismiss.textContent = "×";
    message.append(words, " ", dismiss);
    messages.replaceChildren(message);
    showArrived(messages);
  });

  // Messages dock at the top of the page, where they never cover a control. One that
  // arrives while the dock is out of sight (an action far down a list) also shows over
  // the window's corner for a few seconds, longer while the pointer or focus is on it,
  // then fades there and stays in the dock; one that carries an action (a link, a
  // button other than Dismiss) stays in the dock only, never over the page.
  const FLOATING_MS = 5000;
  let floating = null;

  function showArrived(messages) {
    window.clearTimeout(floating);
    messages.classList.remove("messages--floating", "messages--fading");
    if (!messages.querySelector(".message")) return;
    if (messages.querySelector(".message a[href], .message button:not(.message__close)")) return;
    const box = messages.getBoundingClientRect();
    if (box.bottom > 0 && box.top < window.innerHeight) return; // in sight where it is
    messages.classList.add("messages--floating");
    floating = window.setTimeout(() => dock(messages), FLOATING_MS);
  }

  function dock(messages) {
    if (messages.matches(":hover, :focus-within")) {
      floating = window.setTimeout(() => dock(messages), FLOATING_MS);
      return;
    }
    messages.classList.add("messages--fading");
    const seconds = parseFloat(getComputedStyle(messages).transitionDuration) || 0;
    floating = window.setTimeout(
      () => messages.classList.remove("messages--floating", "messages--fading"),
      seconds * 1000,
    );
  }

  // Once settled: htmx puts the swapped element's own attributes back as it settles.
  document.addEventListener("htmx:afterSettle", (event) => {
    if (event.target.id === "messages") showArrived(event.target);
  });

  // `close` doesn't bubble: listen while capturing.
  document.addEventListener(
    "close",
    (event) => {
      const dialog = event.target;
      if (!(dialog instanceof HTMLDialogElement) || !dialog.hasAttribute("data-dialog")) return;
      const back = dialog.querySelector("[data-dialog-close]");
      dialog.remove();
      // A pick the dialog asked about and that wasn't confirmed shows what is so again
      // (a confirmed one comes back from the server with the list).
      document.querySelectorAll("select[data-apply-on-change]").forEach((select) => select.form.reset());
      // A dialog that came as a page of its own: leave its URL, so reload shows the list
      // (and never posts the creation form again).
      if (back && back.href && window.location.href !== back.href) {
        window.history.replaceState(null, "", back.href);
      }
      restoreFocus();
    },
    true,
  );

  document.addEventListener("click", (event) => {
    // A message stays until it is read and dismissed (or the next one replaces it).
    const dismiss = event.target.closest("[data-dismiss]");
    if (dismiss) {
      dismiss.closest(".message")?.remove();
      return;
    }
    const close = event.target.closest("[data-dialog-close]");
    if (close) {
      const dialog = close.closest("dialog");
      if (dialog) {
        event.preventDefault();
        dialog.close();
      }
      return;
    }
    const copy = event.target.closest("[data-copy]");
    if (copy) copyFrom(copy);
  });

  async function copyFrom(button) {
    const source = document.querySelector(button.dataset.copy);
    if (!source) return;
    const label = button.innerHTML;
    try {
      await navigator.clipboard.writeText(source.value ?? source.textContent);
      if (source.matches("[data-secret]")) source.closest("dialog")?.setAttribute("data-copied", "");
      button.textContent = say("textCopied");
    } catch {
      if (source.select) source.select();
      button.textContent = say("textCopyByHand");
    }
    window.setTimeout(() => {
      button.innerHTML = label;
    }, 2000);
  }

  // Leaving the new key's dialog by Escape or by its link, before copying the key, asks
  // once whether it was copied (Done and Cancel are deliberate and don't ask).
  function mayLeaveSecret(dialog) {
    if (!dialog?.querySelector("[data-secret]") || dialog.hasAttribute("data-copied")) return true;
    if (dialog.hasAttribute("data-asked")) return true;
    dialog.setAttribute("data-asked", "");
    return window.confirm(say("textLeaveSecret"));
  }

  document.addEventListener(
    "cancel",
    (event) => {
      if (event.target instanceof HTMLDialogElement && !mayLeaveSecret(event.target)) {
        event.preventDefault();
      }
    },
    true,
  );
  document.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-leaves-secret]");
    if (link && !mayLeaveSecret(link.closest("dialog"))) event.preventDefault();
  });

  document.addEventListener("change", (event) => {
    if (event.target.form) applyChoices(event.target.form);
  });

  window.addEventListener("pagehide", forgetSecrets);
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) forgetSecrets();
  });

  document.addEventListener("DOMContentLoaded", () => {
    openDialogs(document);
    restoreDraft();
  });

  // A session that ended while a dialog was open: the server sends the page to sign in
  // and back to the dialog's own URL (accounts.middleware, with "session-ended"); what
  // was typed waits in this tab's sessionStorage meanwhile, and goes back into the
  // dialog's form when it opens again. Dialog forms hold names, dates, choices and
  // address lists, never a secret; hidden fields (the CSRF token) are not kept.
  const DRAFT = "genesis:dialog-draft";

  document.addEventListener("session-ended", () => {
    const form = document.querySelector("dialog[data-dialog][open] form[method=post]");
    if (!form) return;
    const fields = [...form.elements]
      .filter((field) => field.name && !["hidden", "submit", "button", "file"].includes(field.type))
      .map((field) =>
        ["checkbox", "radio"].includes(field.type)
          ? { name: field.name, value: field.value, checked: field.checked }
          : { name: field.name, value: field.value },
      );
    const action = new URL(form.action, window.location.href).pathname;
    window.sessionStorage.setItem(DRAFT, JSON.stringify({ action, fields }));
  });

  function restoreDraft() {
    const saved = window.sessionStorage.getItem(DRAFT);
    if (!saved) return;
    const { action, fields } = JSON.parse(saved);
    const form = [...document.querySelectorAll("dialog[data-dialog] form[method=post]")].find(
      (candidate) => new URL(candidate.action, window.location.href).pathname === action,
    );
    if (!form) return; // not yet: the sign-in page comes first
    window.sessionStorage.removeItem(DRAFT);
    for (const { name, value, checked } of fields) {
      for (const field of form.querySelectorAll(`[name="${CSS.escape(name)}"]`)) {
        if (checked === undefined) field.value = value;
        else if (field.value === value) field.checked = checked;
      }
    }
    enhanceForm(form);
    form.querySelectorAll("input[data-max-length]").forEach((input) => {
      input.dispatchEvent(new Event("input"));
    });
  }

  // A pick applies at once (select[data-apply-on-change]: the language; a member's role,
  // which opens its confirmation): picked with a pointer (or from the opened list), on
  // change; moved to with the arrow keys on a closed list, which changes the value at
  // each step, on Enter or on leaving the list, so nothing changes under the keys
  // (WCAG 3.2.2).
  const STEPPING_KEYS = ["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "Home", "End", "PageUp", "PageDown"];
  const applyPick = (select) => {
    delete select.dataset.pending;
    delete select.dataset.stepping;
    if (!select.querySelector("option[selected]")?.selected) select.form.requestSubmit();
  };
  document.addEventListener("keydown", (event) => {
    const select = event.target.closest?.("select[data-apply-on-change]");
    if (!select) return;
    if (event.key === "Enter" && select.dataset.pending) {
      event.preventDefault();
      applyPick(select);
    } else if (STEPPING_KEYS.includes(event.key) || /^\w$/.test(event.key)) {
      select.dataset.stepping = "";
    }
  });
  document.addEventListener("pointerdown", (event) => {
    const select = event.target.closest?.("select[data-apply-on-change]");
    if (select) delete select.dataset.stepping;
  });
  document.addEventListener("change", (event) => {
    const select = event.target.closest?.("select[data-apply-on-change]");
    if (!select) return;
    if ("stepping" in select.dataset) select.dataset.pending = "1";
    else applyPick(select);
  });
  document.addEventListener("focusout", (event) => {
    const select = event.target.closest?.("select[data-apply-on-change]");
    if (select?.dataset.pending) applyPick(select);
  });

  // Tab and Shift+Tab go round inside an open dialog. A modal dialog already keeps focus
  // off the page behind it, but Tab from its last control leaves for the browser's own
  // UI (the document body, for the page), a dead end for keyboard users.
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Tab") return;
    const dialog = document.querySelector("dialog[data-dialog][open]");
    if (!dialog) return;
    const controls = shownControls(dialog);
    if (!controls.length) return;
    const first = controls[0];
    const last = controls[controls.length - 1];
    const inside = dialog.contains(document.activeElement);
    if (event.shiftKey && (document.activeElement === first || !inside)) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && (document.activeElement === last || !inside)) {
      event.preventDefault();
      first.focus();
    }
  });

  // Close the header menus when focus or a click leaves them.
  document.addEventListener("click", (event) => {
    document.querySelectorAll("details.menu[open]").forEach((menu) => {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details.menu[open]").forEach((menu) => {
      menu.removeAttribute("open");
      menu.querySelector("summary").focus();
    });
  });
})();
