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
