// One store per source of data; views subscribe to a store and render from it.
// - LiveStore: the on-air state from the live socket (snapshot + numbered updates).
// - CommentStore, ConnectorStore: records by key, loaded over REST on every
//   (re)connect and kept fresh by socket pushes.
// - OrderStore: the order book, refetched when the server says it changed.
import { LiveSocket, api, notify, t } from "./common.js";

export class Emitter {
  constructor() {
    this.listeners = new Set();
  }

  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(...args) {
    for (const listener of this.listeners) listener(...args);
  }
}

// -- the live socket ---------------------------------------------------------------

export class LiveStore extends Emitter {
  constructor(path) {
    super();
    this.state = null;
    this.status = "connecting";
    this.statusListeners = new Emitter();
    this.handlers = new Map(); // message type -> Set of handlers
    this.socket = new LiveSocket(path, {
      onState: (state, info) => {
        this.state = state;
        this.emit(state, info);
      },
      onStatus: (status) => {
        this.status = status;
        this.statusListeners.emit(status);
      },
      onMessage: (message) => {
        for (const handler of this.handlers.get(message.type) || []) handler(message);
      },
    });
  }

  onStatus(listener) {
    return this.statusListeners.subscribe(listener);
  }

  // Handlers for one type of socket message ("snapshot", "comments", ...).
  on(type, handler) {
    if (!this.handlers.has(type)) this.handlers.set(type, new Set());
    this.handlers.get(type).add(handler);
  }

  serverNow() {
    return this.socket.serverNow();
  }

  // Commands go over the socket when it is up (fastest), else over REST.
  async command(op, args = {}) {
    let reply = await this.socket.command(op, args);
    if (!reply.ok && reply.error === "offline") {
      const rest = await api("POST", `/api/live/${op}`, args);
      reply = rest.ok ? { ok: true } : { ok: false, error: rest.data.error || rest.status };
    }
    if (!reply.ok) notify(t("panel.command_failed", { error: reply.error }));
    return reply;
  }
}

// -- records by key ------------------------------------------------------------------

// A reload replaces the whole map with what the server read, but the server may
// have read it before a push that reaches us while the reload is in flight. Socket
// messages arrive in order and each change is pushed after it is committed, so a
// record pushed during the reload is at least as new as the reloaded one: it is
// applied again on top of the reload's result instead of being overwritten.
export class KeyedStore extends Emitter {
  constructor(keyOf) {
    super();
    this.keyOf = keyOf;
    this.items = new Map();
    this.reloading = null; // { pushed: Map } while a reload is in flight
  }

  get busy() {
    return this.reloading !== null;
  }

  // fetchAll resolves to the records, or to null when the server could not answer.
  async reload(fetchAll) {
    const run = { pushed: new Map(this.reloading ? this.reloading.pushed : []) };
    this.reloading = run;
    this.changed();
    let records = null;
    try {
      records = await fetchAll();
    } catch {
      records = null; // offline: keep what we have, the next snapshot reloads
    }
    if (this.reloading === run) this.finish(run, records); // else a later reload owns it
  }

  finish(run, records) {
    this.reloading = null;
    if (records !== null) {
      this.items = new Map(records.map((record) => [this.keyOf(record), record]));
      for (const [key, record] of run.pushed) this.items.set(key, record);
    }
    this.changed();
  }

  push(records) {
    for (const record of records) {
      const key = this.keyOf(record);
      this.items.set(key, record);
      if (this.reloading) this.reloading.pushed.set(key, record);
    }
    this.changed();
  }

  changed() {
    this.emit(this);
  }
}

export class CommentStore extends KeyedStore {
  constructor(live, { feedSize = 100 } = {}) {
    super((comment) => comment.id);
    this.feedSize = feedSize;
    live.on("snapshot", () => this.load());
    live.on("comments", (message) => this.push(message.items));
  }

  // All three lists, or null if any failed: a half answer would drop the others.
  load() {
    return this.reload(async () => {
      const replies = await Promise.all([
        api("GET", `/api/comments?limit=${this.feedSize}`),
        api("GET", "/api/comments?status=review&limit=200"),
        api("GET", "/api/comments?intent=question&limit=50"),
      ]);
      return replies.every((reply) => reply.ok) ? replies.flatMap((reply) => reply.data) : null;
    });
  }

  changed() {
    this.prune();
    super.changed();
  }

  // Newest first.
  all() {
    return [...this.items.values()].sort((a, b) => b.id - a.id);
  }

  // Past the feed, only what still needs a helper is kept.
  prune() {
    for (const c of this.all().slice(this.feedSize)) {
      if (c.status !== "review" && c.intent !== "question") this.items.delete(c.id);
    }
  }

  feed() {
    return this.all().slice(0, this.feedSize);
  }

  // Most likely real orders first by the shop's model (the listing's score), then oldest first.
  review() {
    const queue = this.all().filter((c) => c.status === "review").reverse();
    return queue.sort((a, b) => (b.score ?? -1) - (a.score ?? -1));
  }

  questions(limit = 30) {
    return this.all().filter((c) => c.intent === "question").slice(0, limit);
  }
}

export class ConnectorStore extends KeyedStore {
  constructor(live) {
    super((connector) => connector.name);
    live.on("snapshot", () => this.load());
    live.on("connectors", (message) => this.push(message.items));
  }

  load() {
    return this.reload(async () => {
      const reply = await api("GET", "/api/connectors");
      return reply.ok ? reply.data : null;
    });
  }

  list() {
    return [...this.items.values()];
  }
}

// -- the order book ------------------------------------------------------------------

// "orders_changed" carries only customer ids, so the book is refetched. Fetches run
// one at a time; a change announced while one is in flight (whose answer may already
// be stale) gets one more fetch after it, so the last answer shown is never older
// than the last change announced.
export class OrderStore extends Emitter {
  constructor(live, { debounceMs = 300 } = {}) {
    super();
    this.orders = [];
    this.debounceMs = debounceMs;
    this.running = null;
    this.again = false;
    this.timer = null;
    live.on("snapshot", () => this.load());
    live.on("orders_changed", () => this.soon());
  }

  get busy() {
    return this.running !== null;
  }

  soon() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.load(), this.debounceMs); // a burst costs one fetch
  }

  load() {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.fetchUntilQuiet();
    return this.running;
  }

  async fetchUntilQuiet() {
    try {
      do {
        this.again = false;
        const reply = await api("GET", "/api/orders");
        if (reply.ok) this.orders = reply.data;
      } while (this.again);
    } catch {
      // offline: keep the book we have, the next snapshot reloads it
    } finally {
      this.running = null;
      this.emit(this);
    }
  }
}
