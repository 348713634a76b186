// Forms that ask for a timezone get the browser's: a hidden field of the sign-in form
// (an account created without one gets it at its first sign-in), or a select not yet
// chosen (the invitation form). A module file: the Content-Security-Policy allows no
// inline script.
const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";

for (const field of document.querySelectorAll("input[data-browser-timezone]")) {
  field.value = zone;
}
for (const select of document.querySelectorAll("select[data-browser-timezone]")) {
  const known = [...select.options].some((option) => option.value === zone);
  if (known && !select.value) select.value = zone;
}
// A select already chosen (My account) offers the browser's zone when it differs: the
// button named by `data-browser-timezone-offer` (the select's id), hidden without script.
for (const offer of document.querySelectorAll("[data-browser-timezone-offer]")) {
  const select = document.getElementById(offer.dataset.browserTimezoneOffer);
  const button = offer.querySelector("button");
  const known = select && [...select.options].some((option) => option.value === zone);
  if (!known || !button || !select.value || select.value === zone) continue;
  button.textContent = button.dataset.label.replace("{zone}", zone.replaceAll("_", " "));
  button.addEventListener("click", () => {
    select.value = zone;
    offer.hidden = true;
    select.focus();
  });
  offer.hidden = false;
}
