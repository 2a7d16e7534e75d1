// The helper panel: a phone page that sends commands and shows what is on air.
// Entry point: reads the join token, makes one store per source of data and
// mounts the views that render from them. No view reaches into another's state.
import { mountLanguage, takeToken, useToken } from "./common.js";
import { mountComments } from "./panel-comments.js";
import { mountLive } from "./panel-live.js";
import { mountConnectors, mountOrders } from "./panel-orders.js";
import { CommentStore, ConnectorStore, LiveStore, OrderStore } from "./stores.js";

function mountTabs() {
  const buttons = [...document.querySelectorAll("#tabs button")];
  for (const button of buttons) {
    button.addEventListener("click", () => {
      for (const other of buttons) other.classList.toggle("active", other === button);
      for (const section of document.querySelectorAll(".tab")) {
        section.classList.toggle("hidden", section.id !== `tab-${button.dataset.tab}`);
      }
    });
  }
}

const token = takeToken();
useToken(token);
await mountLanguage();
mountTabs();

// Stores first, then views: every store's socket handlers are registered before
// the first message can arrive (messages are tasks; this runs in one go).
const live = new LiveStore(`/ws/panel?token=${encodeURIComponent(token)}`);
const comments = new CommentStore(live);
const orders = new OrderStore(live);
const connectors = new ConnectorStore(live);
mountLive(live);
mountComments(comments, live);
mountOrders(orders, token);
mountConnectors(connectors);

// For tests and debugging in the browser console.
window.chotdonPanel = { live, comments, orders, connectors };
