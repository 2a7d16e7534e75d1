// The packing-slips page (server/orders/export.py renders it). Its paper switch
// was a bare "?paper=80mm": the link dropped the rest of the query, the helper
// token with it, so switching paper answered 401. Keep everything and change paper.
const link = document.getElementById("paper-switch");
if (link && link.dataset.paper) {
  const query = new URLSearchParams(window.location.search);
  query.set("paper", link.dataset.paper);
  link.href = `${window.location.pathname}?${query}`;
}
