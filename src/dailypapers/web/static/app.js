// Progressive enhancement: upvote without a page reload. Without JavaScript the forms post normally.
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.classList.contains("vote-form")) return;
  event.preventDefault();
  const button = form.querySelector("button");
  const on = form.querySelector('input[name="on"]');
  button.disabled = true;
  try {
    const response = await fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    if (!response.ok) { form.submit(); return; }
    const data = await response.json();
    button.querySelector(".count").textContent = data.upvotes;
    button.setAttribute("aria-pressed", data.upvoted ? "true" : "false");
    on.value = data.upvoted ? "0" : "1";
  } finally {
    button.disabled = false;
  }
});

// Save and unsave without a page reload (every save button of the paper on the page follows).
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.classList.contains("save-form")) return;
  event.preventDefault();
  const button = form.querySelector("button");
  if (button.disabled) return;
  button.disabled = true;
  try {
    const response = await fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    if (!response.ok) { form.submit(); return; }
    const data = await response.json();
    for (const other of document.querySelectorAll("form.save-form")) {
      if (other.action !== form.action) continue;
      const b = other.querySelector("button");
      b.setAttribute("aria-pressed", data.saved ? "true" : "false");
      b.title = data.saved ? "Saved: click to remove it from your saved papers" : "Save this paper for later";
      b.querySelector(".save-label").textContent = data.saved ? "Saved" : "Save";
      other.querySelector('input[name="on"]').value = data.saved ? "0" : "1";
    }
  } finally {
    button.disabled = false;
  }
});
