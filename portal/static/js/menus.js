// The header's menus are <details> elements, so they open without JavaScript; with it
// they also close as menus do: on Escape (focus back on the menu's button) and on a
// click anywhere else.
const menus = [...document.querySelectorAll("details.menu")];

document.addEventListener("click", (event) => {
  for (const menu of menus) {
    if (menu.open && !menu.contains(event.target)) menu.open = false;
  }
});

document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  for (const menu of menus.filter((candidate) => candidate.open)) {
    menu.open = false;
    menu.querySelector("summary").focus();
  }
});
