// The sign-in form tells the server the browser's timezone (hidden field), so that an
// account created without one gets it at its first sign-in. A module file: the
// Content-Security-Policy allows no inline script.
const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";

for (const field of document.querySelectorAll("input[data-browser-timezone]")) {
  field.value = zone;
}
