// StockWiz web UI: plain JavaScript, no build step. Every value from the API reaches the page through
// textContent or a form value, never as HTML, so a product named <img onerror=...> is just text.
"use strict";

(() => {
  const PAGE_SIZE = 20;
  const TOKEN_KEY = "stockwiz.token";
  const $ = (id) => document.getElementById(id);

  // ---- DOM helpers ---------------------------------------------------------------------------------
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "className") node.className = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function showState(id, text) {
    const node = $(id);
    node.textContent = text || "";
    node.hidden = !text;
  }

  function showError(error) {
    $("error-text").textContent = error instanceof ApiError ? error.describe() : String(error.message || error);
    $("error").hidden = false;
  }

  function notice(text) {
    const node = $("notice");
    node.textContent = text;
    node.hidden = false;
    clearTimeout(notice.timer);
    notice.timer = setTimeout(() => { node.hidden = true; }, 4000);
  }

  const money = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const count = new Intl.NumberFormat();
  const when = new Intl.DateTimeFormat(undefined, { dateStyle: "short", timeStyle: "short" });
  const formatDate = (value) => (value ? when.format(new Date(value)) : "");

  function randomKey() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // Upstream UI labels: below 30 Low, below 100 Medium; a record at or below its reorder point is Low too.
  function level(quantity, reorderPoint) {
    if (quantity === 0) return ["Out", "level-out"];
    if (quantity < 30 || (reorderPoint !== undefined && quantity <= reorderPoint)) return ["Low", "level-low"];
    if (quantity < 100) return ["Medium", "level-medium"];
    return ["High", "level-high"];
  }

  function levelBadge(quantity, reorderPoint) {
    const [text, cls] = level(quantity, reorderPoint);
    return el("span", { className: `badge ${cls}` }, text);
  }

  // ---- API client ----------------------------------------------------------------------------------
  class ApiError extends Error {
    constructor(status, problem) {
      super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
      this.status = status;
      this.problem = problem || {};
    }
    get fieldErrors() {
      return Array.isArray(this.problem.errors) ? this.problem.errors : [];
    }
    describe() {
      const fields = this.fieldErrors.map((e) => `${e.field}: ${e.message}`).join("; ");
      return fields ? `${this.message} (${fields})` : this.message;
    }
  }

  // ---- the sign-in token ---------------------------------------------------------------------------
  // Kept in sessionStorage (never a cookie, so no request carries it unasked and nothing outlives the
  // browser session) and shared with the other StockWiz tabs of this browser over a BroadcastChannel
  // (same origin only): a new tab asks the open ones for it before its first request; signing in or out
  // in one tab does so in all of them. Once every StockWiz tab is closed, the token is gone.
  const channel = "BroadcastChannel" in window ? new BroadcastChannel("stockwiz.session") : null;
  const NEEDS_TOKEN = "This StockWiz asks everyone for a sign-in token. Enter yours.";
  // declined: the user dismissed the prompt. Requests already in flight then answer 401 one by one;
  // they must not open the prompt again behind the user's back (only "Sign in" does).
  const session = { authRequired: false, prompt: null, declined: false };

  const currentToken = () => sessionStorage.getItem(TOKEN_KEY);

  function showAuthButtons() {
    const token = currentToken();
    if (token) session.authRequired = true;
    $("sign-out").hidden = !token;
    $("sign-in").hidden = Boolean(token) || !session.authRequired;
  }

  function keepToken(token, { tell = true } = {}) {
    sessionStorage.setItem(TOKEN_KEY, token);
    if (tell && channel) channel.postMessage({ type: "token", token });
    showAuthButtons();
  }

  function signedOut(text) {
    // The data on screen belongs to the session that ended: none of it stays visible.
    for (const id of ["card-products", "card-units", "card-low", "card-value"]) $(id).textContent = "–";
    $("card-value-note").textContent = "";
    $("nav-low").hidden = true;
    $("signed-out-text").textContent = text;
    show("signed-out");
    showAuthButtons();
  }

  function signOut({ tell = true } = {}) {
    sessionStorage.removeItem(TOKEN_KEY);
    if (tell && channel) channel.postMessage({ type: "signed-out" });
    session.authRequired = true;
    if ($("token-dialog").open) $("token-dialog").close();
    signedOut(tell ? "You are signed out, in every StockWiz tab of this browser." :
      "You were signed out in another StockWiz tab.");
  }

  if (channel) {
    channel.addEventListener("message", (event) => {
      const message = event.data || {};
      const token = currentToken();
      if (message.type === "ask" && token) channel.postMessage({ type: "token", token });
      else if (message.type === "token" && typeof message.token === "string" && message.token !== token) {
        keepToken(message.token, { tell: false });
        if ($("token-dialog").open) $("token-dialog").close();  // the pending requests retry with it
        else if (!$("view-signed-out").hidden) reload();
      } else if (message.type === "signed-out" && token) signOut({ tell: false });
    });
  }

  // A new tab borrows the token of an open one: ask, and wait briefly for the first answer.
  function borrowToken() {
    if (currentToken() || !channel) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        channel.removeEventListener("message", answered);
        resolve();
      };
      const answered = (event) => { if (event.data && event.data.type === "token") setTimeout(done); };
      const timer = setTimeout(done, 300);
      channel.addEventListener("message", answered);
      channel.postMessage({ type: "ask" });
    });
  }

  // Resolves with the token to use, or null when the user dismissed the prompt.
  function askForToken(reason) {
    if (session.prompt) return session.prompt;
    session.prompt = new Promise((resolve) => {
      const dialog = $("token-dialog");
      $("token-reason").textContent = reason;
      const form = $("token-form");
      form.elements.token.value = "";
      dialog.addEventListener("close", () => {
        session.prompt = null;
        session.declined = !currentToken();
        resolve(currentToken());
      }, { once: true });
      dialog.showModal();
    });
    return session.prompt;
  }

  const NOT_SIGNED_IN = "StockWiz needs a sign-in token to show your stock. Ask whoever runs your " +
    "StockWiz for one, then choose “Sign in”.";

  // `raw` sends a file as it is (a CSV import) with `headers` naming its type; `body` goes as JSON.
  async function api(method, path, { body, headers, raw } = {}) {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const sent = { Accept: "application/json", ...(headers || {}) };
      const token = sessionStorage.getItem(TOKEN_KEY);
      if (token) sent.Authorization = `Bearer ${token}`;
      if (body !== undefined) sent["Content-Type"] = "application/json";
      let response;
      try {
        response = await fetch(path, {
          method, headers: sent, body: raw !== undefined ? raw : body === undefined ? undefined : JSON.stringify(body),
          credentials: "omit", cache: "no-store",
        });
      } catch (error) {
        throw new ApiError(0, { detail: `The StockWiz server cannot be reached (${error.message}).` });
      }
      const text = response.status === 204 ? "" : await response.text();
      let data = null;
      if (text) {
        try { data = JSON.parse(text); } catch { data = { detail: text.slice(0, 200) }; }
      }
      if (response.status === 401) {
        session.authRequired = true;
        const reason = token ? "That token was not accepted. Check it and enter it again." : NEEDS_TOKEN;
        const next = !token && session.declined ? null : await askForToken(reason);
        if (next && next !== token) continue;
        // Dismissed: say so in the shop's words, not the API's.
        signedOut(NOT_SIGNED_IN);
        throw new ApiError(401, { detail: NOT_SIGNED_IN });
      }
      if (!response.ok) throw new ApiError(response.status, data);
      return { status: response.status, headers: response.headers, data };
    }
    signedOut(NOT_SIGNED_IN);
    throw new ApiError(401, { detail: NOT_SIGNED_IN });
  }

  const query = (params) => {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) {
      if (value !== undefined && value !== null && value !== "") search.set(key, String(value));
    }
    return search.toString();
  };
  const totalOf = (result) => Number(result.headers.get("X-Total-Count") || 0);

  function pager(prefix, offset, shown, total, onMove) {
    $(`${prefix}-range`).textContent = total ? `${offset + 1}–${offset + shown} of ${count.format(total)}` : "";
    const prev = $(`${prefix}-prev`);
    const next = $(`${prefix}-next`);
    prev.disabled = offset === 0;
    next.disabled = offset + shown >= total;
    prev.onclick = () => onMove(Math.max(0, offset - PAGE_SIZE));
    next.onclick = () => onMove(offset + PAGE_SIZE);
  }

  function fieldErrors(form, error) {
    for (const node of form.querySelectorAll(".field-error")) node.textContent = "";
    let shown = false;
    if (error instanceof ApiError) {
      for (const item of error.fieldErrors) {
        const name = String(item.field).split(".")[0];
        const slot = form.querySelector(`.field-error[data-field="${CSS.escape(name)}"]`);
        if (slot) {
          slot.textContent = slot.textContent ? `${slot.textContent}; ${item.message}` : item.message;
          shown = true;
        }
      }
    }
    return shown;
  }

  // A form's outcome is shown in the form itself, next to the button that caused it: field errors under
  // their fields, anything else (not enough stock, a conflict) in the form's own error line. Each submit
  // starts by clearing both.
  function clearFormErrors(form) {
    fieldErrors(form, null);
    const line = form.querySelector(".form-error");
    if (line) line.textContent = "";
  }

  function formFailed(form, error) {
    const shown = fieldErrors(form, error);
    const line = form.querySelector(".form-error");
    if (error instanceof ApiError && error.status === 412) {
      line.textContent = "Someone changed this meanwhile. The page now shows their version; try again.";
    } else {
      line.textContent = shown ? "Please correct the marked fields." : error.message;
    }
    // On a phone the button can sit at the bottom edge of the screen: bring the message up with it.
    line.scrollIntoView({ block: "nearest" });
  }

  // ---- the shop's settings and the stock value -------------------------------------------------------
  // The currency is the gateway's CURRENCY (GET /api/settings), read once; until it is known, amounts
  // show without a currency sign.
  const shop = { currency: null };

  // False when nobody is signed in (the signed-out view is up and nothing else should ask again).
  async function loadSettings() {
    try {
      const { data } = await api("GET", "/api/settings");
      shop.currency = data.currency;
      $("value-currency").textContent = data.currency;
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return false;
      showError(error);
    }
    return true;
  }

  // Amounts arrive as exact decimal strings ("1234.50"); a Number holds every cent of the sums a shop has.
  function formatAmount(value) {
    if (!shop.currency) return money.format(Number(value));
    return new Intl.NumberFormat(undefined, { style: "currency", currency: shop.currency }).format(Number(value));
  }

  function unpricedNote(amounts) {
    if (!amounts.unpriced_units) return "";
    const products = amounts.unpriced_products === 1 ? "1 product" : `${count.format(amounts.unpriced_products)} products`;
    return `${count.format(amounts.unpriced_units)} units unpriced (${products} without a cost price)`;
  }

  // The dashboard card (total) and the Warehouses view's card (per warehouse and total), from one call.
  async function loadStockValue() {
    try {
      const { data } = await api("GET", "/api/stock-value");
      $("card-value").textContent = formatAmount(data.total.value);
      $("card-value-note").textContent = data.total.unpriced_units ?
        `${count.format(data.total.unpriced_units)} units unpriced` : "";
      $("value-body").replaceChildren(...data.warehouses.map((row) => el("tr", { dataset: { warehouseId: row.id } },
        el("td", {}, row.name, el("span", { className: "card-note" }, unpricedNote(row))),
        el("td", { className: "num" }, count.format(row.units)),
        el("td", { className: "num" }, formatAmount(row.value)))));
      $("value-total-units").textContent = count.format(data.total.units);
      $("value-total").textContent = formatAmount(data.total.value);
      $("value-total-unpriced").textContent = unpricedNote(data.total);
      $("value-table").hidden = false;
      showState("value-state", "");
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return;
      $("value-table").hidden = true;
      showState("value-state", `Could not load the stock value: ${error.message}`);
    }
  }

  // ---- dashboard -----------------------------------------------------------------------------------
  async function refreshCards() {
    loadStockValue();
    try {
      const [products, low] = await Promise.all([
        api("GET", "/api/products?limit=1"),
        api("GET", "/api/inventory/low-stock?limit=1"),
      ]);
      $("card-products").textContent = count.format(totalOf(products));
      $("card-low").textContent = count.format(totalOf(low));
      showLowCount(totalOf(low));
      let units = 0;
      let offset = 0;
      for (let page = 0; page < 20; page += 1) {
        const result = await api("GET", `/api/inventory?limit=1000&offset=${offset}`);
        units += result.data.reduce((sum, record) => sum + record.quantity, 0);
        offset += result.data.length;
        if (!result.data.length || offset >= totalOf(result)) break;
      }
      $("card-units").textContent = count.format(units);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 401)) showError(error);
    }
  }

  // The low-stock count beside "Low stock" in the navigation, kept current after every change.
  function showLowCount(total) {
    const badge = $("nav-low");
    badge.textContent = count.format(total);
    badge.hidden = total === 0;
    badge.setAttribute("aria-label", `${count.format(total)} low-stock records`);
  }

  // What each ledger reason means, in the shop's words.
  const REASONS = {
    create: "New stock record", receive: "Received", return: "Customer return", ship: "Shipped",
    damage: "Damaged", adjust: "Adjustment", count: "Stock count", transfer_in: "Transfer in",
    transfer_out: "Transfer out", delete: "Record removed",
  };
  const reasonLabel = (reason) => REASONS[reason] || reason;
  const actorLabel = (actor) => actor || "unknown";
  const signed = (delta) => (delta > 0 ? `+${count.format(delta)}` : count.format(delta));

  // ---- products ------------------------------------------------------------------------------------
  const productsView = { offset: 0 };

  async function loadCategories() {
    const select = $("category");
    const chosen = select.value;
    try {
      const { data } = await api("GET", "/api/products/categories");
      select.replaceChildren(el("option", { value: "" }, "All categories"),
        ...data.map((c) => el("option", { value: c.category }, `${c.category} (${c.count})`)));
      select.value = chosen;
      $("category-options").replaceChildren(...data.map((c) => el("option", { value: c.category })));
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 401)) showError(error);
    }
  }

  async function loadProducts() {
    const table = $("products-table");
    // Only the latest request renders (typing, sorting and paging overlap); aria-busy marks the wait.
    productsView.seq = (productsView.seq || 0) + 1;
    const seq = productsView.seq;
    table.setAttribute("aria-busy", "true");
    showState("products-state", "Loading products…");
    const archived = $("show-archived").checked;
    const params = {
      q: $("search").value.trim(), category: $("category").value, sort: $("sort").value,
      limit: PAGE_SIZE, offset: productsView.offset, archived: archived ? "true" : undefined,
    };
    try {
      const result = await api("GET", `/api/products-full?${query(params)}`);
      if (seq !== productsView.seq) return undefined;
      table.removeAttribute("aria-busy");
      const total = totalOf(result);
      if (!result.data.length && productsView.offset > 0 && total > 0) {
        productsView.offset = Math.max(0, total - PAGE_SIZE);
        return loadProducts();
      }
      $("products-body").replaceChildren(...result.data.map(productRow));
      labelCells(table);
      table.hidden = result.data.length === 0;
      showState("products-state", result.data.length ? "" :
        (params.q || params.category ? "No product matches these filters." :
          (archived ? "No archived products." : "No products yet. Create the first one.")));
      pager("products", productsView.offset, result.data.length, total, (offset) => {
        productsView.offset = offset;
        loadProducts();
      });
    } catch (error) {
      if (seq !== productsView.seq) return undefined;
      table.removeAttribute("aria-busy");
      table.hidden = true;
      showState("products-state", `Could not load products: ${error.message}`);
    }
    return undefined;
  }

  // Sortable headers: a button in each sortable header (so a click, Enter and Space all sort), the sort
  // menu kept in step, and aria-sort on the one header the list is sorted by.
  function showSort() {
    const sort = $("sort").value;
    const key = sort.replace(/^-/, "");
    for (const button of document.querySelectorAll("#products-table button.sort")) {
      const th = button.closest("th");
      const mark = button.querySelector(".sort-mark");
      if (button.dataset.sort === key) {
        const ascending = !sort.startsWith("-");
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        mark.textContent = ascending ? " ▲" : " ▼";
      } else {
        th.removeAttribute("aria-sort");
        mark.textContent = "";
      }
    }
  }

  function sortBy(key) {
    const select = $("sort");
    select.value = select.value === key ? `-${key}` : key;
    showSort();
    productsView.offset = 0;
    loadProducts();
  }

  // Each cell carries its column's name, which the phone layout shows before the value.
  function labelCells(table) {
    const names = [...table.tHead.rows[0].cells].map((th) => th.textContent.replace(/[▲▼]/g, "").trim());
    for (const row of table.tBodies[0].rows) {
      [...row.cells].forEach((cell, index) => { if (names[index]) cell.dataset.label = names[index]; });
    }
  }

  function productRow(product) {
    const stock = product.inventory;
    const quantity = stock ? stock.quantity : 0;
    let badge;
    if (!stock) badge = el("span", { className: "badge level-none" }, "No stock");
    else if (quantity > 0 && stock.warehouses.some((w) => w.quantity <= w.reorder_point)) {
      badge = el("span", { className: "badge level-low" }, "Low");
    } else badge = levelBadge(quantity);
    return el("tr", { dataset: { productId: product.id } },
      el("td", {}, el("a", { href: `#/product/${product.id}`, className: "product-link" }, product.name)),
      el("td", { className: "mono" }, product.sku || ""),
      el("td", {}, product.category || ""),
      el("td", { className: "num" }, money.format(Number(product.price))),
      el("td", { className: "num" }, stock ? count.format(quantity) : "–"),
      el("td", {}, badge),
      el("td", { className: "actions" },
        el("button", { type: "button", className: "secondary small", onclick: () => editProduct(product.id) }, "Edit"),
        product.archived ?
          el("button", { type: "button", className: "secondary small", onclick: () => restoreProduct(product) }, "Restore") :
          el("button", { type: "button", className: "secondary small", onclick: () => archiveProduct(product) }, "Archive"),
        el("button", { type: "button", className: "danger small", onclick: () => deleteProduct(product) }, "Delete"),
        el("p", { className: "row-error", role: "alert" }, rowErrors.get(product.id) || "")));
  }

  const productDialog = { editing: null, etag: null };

  function openProductDialog(product, etag) {
    const form = $("product-form");
    form.reset();
    fieldErrors(form, null);
    $("product-form-error").textContent = "";
    productDialog.editing = product ? product.id : null;
    productDialog.etag = etag || null;
    $("product-dialog-title").textContent = product ? "Edit product" : "New product";
    if (product) {
      form.elements.name.value = product.name;
      form.elements.price.value = String(product.price);
      form.elements.cost_price.value = product.cost_price === null || product.cost_price === undefined ?
        "" : String(product.cost_price);
      form.elements.category.value = product.category || "";
      form.elements.sku.value = product.sku || "";
      form.elements.description.value = product.description || "";
    }
    $("product-dialog").showModal();
    form.elements.name.focus();
  }

  async function editProduct(id) {
    try {
      const result = await api("GET", `/api/products/${id}`);
      openProductDialog(result.data, result.headers.get("ETag"));
    } catch (error) {
      showError(error);
    }
  }

  function productBody(form, editing) {
    const value = (name) => form.elements[name].value.trim();
    const body = { name: value("name") };
    const price = value("price").replace(",", ".");
    // Sent as a JSON number with the digits typed; a non-number goes as text so the API names the field.
    body.price = /^\d+(\.\d+)?$/.test(price) ? Number(price) : price;
    const cost = value("cost_price").replace(",", ".");
    // Empty means not known: left out of a new product, cleared (null) on an edit.
    if (cost) body.cost_price = /^\d+(\.\d+)?$/.test(cost) ? Number(cost) : cost;
    else if (editing) body.cost_price = null;
    for (const name of ["category", "sku", "description"]) {
      const text = name === "description" ? form.elements[name].value : value(name);
      if (text.trim()) body[name] = text;
      else if (editing) body[name] = null;
    }
    return body;
  }

  async function saveProduct(event) {
    event.preventDefault();
    const form = $("product-form");
    const editing = productDialog.editing;
    const save = $("product-save");
    save.disabled = true;
    $("product-form-error").textContent = "";
    try {
      const body = productBody(form, editing);
      if (editing) {
        const headers = productDialog.etag ? { "If-Match": productDialog.etag } : {};
        await api("PUT", `/api/products/${editing}`, { body, headers });
      } else {
        await api("POST", "/api/products", { body });
      }
      $("product-dialog").close();
      notice(editing ? `Saved “${body.name}”.` : `Created “${body.name}”.`);
      loadCategories();
      refreshCards();
      route();
    } catch (error) {
      const shown = fieldErrors(form, error);
      $("product-form-error").textContent = error.status === 412 ?
        "Someone changed this product meanwhile. Close and edit again to see their version." :
        (shown ? "Please correct the marked fields." : error.message);
    } finally {
      save.disabled = false;
    }
  }

  function confirmDialog(text, okLabel) {
    return new Promise((resolve) => {
      const dialog = $("confirm-dialog");
      $("confirm-text").textContent = text;
      $("confirm-ok").textContent = okLabel;
      dialog.returnValue = "";
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
      dialog.showModal();
    });
  }

  // A refusal of a row's action (a product that still holds stock) is shown in that row, by its buttons.
  // It is kept by product id, not in the clicked element: a list reload that lands meanwhile (a search
  // typed just before the click) redraws the rows, and the message must survive it.
  const rowErrors = new Map();

  function rowFailed(product, error) {
    rowErrors.set(product.id, error.message);
    const line = document.querySelector(`#products-body tr[data-product-id="${product.id}"] .row-error`);
    if (!line) return;
    line.textContent = error.message;
    line.scrollIntoView({ block: "nearest" });
  }

  function afterRetiring(text) {
    notice(text);
    refreshCards();
    loadCategories();
    if (location.hash.startsWith("#/product/")) location.hash = "#/products";
    else loadProducts();
  }

  function stockRecords(product) {
    return product.inventory ? product.inventory.warehouses.map((w) => w.warehouse) : [];
  }

  async function deleteProduct(product) {
    rowErrors.delete(product.id);
    const records = stockRecords(product);
    const text = records.length ?
      `Delete “${product.name}”? Its empty stock records (${records.join(", ")}) go with it; their ` +
      "movement history stays readable. This cannot be undone." :
      `Delete “${product.name}”? This cannot be undone.`;
    if (!(await confirmDialog(text, "Delete"))) return;
    try {
      await api("DELETE", `/api/products/${product.id}`);
      afterRetiring(`Deleted “${product.name}”.`);
    } catch (error) {
      rowFailed(product, error);
    }
  }

  async function archiveProduct(product) {
    rowErrors.delete(product.id);
    const text = `Archive “${product.name}”? It leaves the product list and takes no new stock; its stock ` +
      "and history are kept. You can restore it from “Archived only”.";
    if (!(await confirmDialog(text, "Archive"))) return;
    try {
      await api("PUT", `/api/products/${product.id}`, { body: { archived: true } });
      afterRetiring(`Archived “${product.name}”.`);
    } catch (error) {
      rowFailed(product, error);
    }
  }

  async function restoreProduct(product) {
    rowErrors.delete(product.id);
    try {
      await api("PUT", `/api/products/${product.id}`, { body: { archived: false } });
      afterRetiring(`Restored “${product.name}”.`);
    } catch (error) {
      rowFailed(product, error);
    }
  }

  // ---- one product's stock ---------------------------------------------------------------------------
  const productView = { id: null, records: [], movementsOffset: 0 };

  async function loadProduct(id) {
    productView.id = id;
    productView.movementsOffset = 0;
    $("product-title").textContent = "";
    $("product-meta").textContent = "";
    showState("product-state", "Loading…");
    try {
      const { data } = await api("GET", `/api/products/${id}`);
      $("product-title").textContent = data.name;
      const meta = [data.archived && "Archived", data.sku && `SKU ${data.sku}`, data.category,
        formatAmount(data.price),
        data.cost_price === null || data.cost_price === undefined ? "no cost price" : `cost ${formatAmount(data.cost_price)}`];
      $("product-meta").textContent = meta.filter(Boolean).join(" · ");
      showState("product-state", data.description || "");
      await Promise.all([loadStock(), loadMovements()]);
    } catch (error) {
      showState("product-state", error.status === 404 ? "This product does not exist (any more)." :
        `Could not load the product: ${error.message}`);
    }
  }

  async function loadStock() {
    const id = productView.id;
    showState("stock-state", "Loading stock…");
    try {
      const { data } = await api("GET", `/api/inventory?${query({ product_id: id, limit: 1000 })}`);
      if (productView.id !== id) return;
      data.sort((a, b) => a.warehouse.localeCompare(b.warehouse));
      productView.records = data;
      $("stock-body").replaceChildren(...data.map((record) => el("tr", { dataset: { recordId: record.id } },
        el("td", {}, record.warehouse),
        el("td", { className: "num" }, count.format(record.quantity)),
        el("td", { className: "num" }, count.format(record.reorder_point)),
        el("td", { className: "num" }, reorderQuantity(record)),
        el("td", {}, levelBadge(record.quantity, record.reorder_point)),
        el("td", { className: "actions" }, el("button", {
          type: "button", className: "secondary small", onclick: () => editReorder(record),
          "aria-label": `Reorder settings for ${record.warehouse}`,
        }, "Reorder…")))));
      labelCells($("stock-table"));
      $("stock-total").textContent = count.format(data.reduce((sum, r) => sum + r.quantity, 0));
      $("stock-table").hidden = data.length === 0;
      showState("stock-state", data.length ? "" : "No stock yet. Receive some below.");
      $("transfer-from").replaceChildren(...data.map((r) => el("option", { value: r.warehouse }, `${r.warehouse} (${r.quantity})`)));
      await fetchWarehouses();
    } catch (error) {
      showState("stock-state", `Could not load stock: ${error.message}`);
    }
  }

  const reorderQuantity = (record) => (record.reorder_quantity ? count.format(record.reorder_quantity) : "–");

  // Reorder point and quantity of one stock record: a PUT of just those two, guarded by the version shown.
  const reorderDialog = { record: null };

  function editReorder(record) {
    const form = $("reorder-form");
    clearFormErrors(form);
    reorderDialog.record = record;
    $("reorder-record").textContent = `${$("product-title").textContent} in ${record.warehouse}: ` +
      `${count.format(record.quantity)} in stock`;
    form.elements.reorder_point.value = String(record.reorder_point);
    form.elements.reorder_quantity.value = String(record.reorder_quantity);
    $("reorder-dialog").showModal();
    form.elements.reorder_point.focus();
  }

  async function saveReorder(event) {
    event.preventDefault();
    const form = event.target;
    const record = reorderDialog.record;
    clearFormErrors(form);
    const body = {};
    for (const name of ["reorder_point", "reorder_quantity"]) {
      const text = form.elements[name].value.trim();
      // A whole number goes as one; anything else as typed, so the API names the field.
      body[name] = /^\d+$/.test(text) ? Number(text) : text;
    }
    const save = $("reorder-save");
    save.disabled = true;
    try {
      await api("PUT", `/api/inventory/${record.id}`, { body, headers: { "If-Match": `"${record.version}"` } });
      $("reorder-dialog").close();
      notice(`Reorder settings saved for ${record.warehouse}.`);
      await Promise.all([loadStock(), refreshCards()]);
    } catch (error) {
      formFailed(form, error);
      if (error instanceof ApiError && error.status === 412) {
        await loadStock();
        const fresh = productView.records.find((r) => r.id === record.id);
        if (fresh) reorderDialog.record = fresh;
      }
    } finally {
      save.disabled = false;
    }
  }

  async function loadMovements() {
    const id = productView.id;
    const offset = productView.movementsOffset;
    showState("movements-state", "Loading history…");
    try {
      const result = await api("GET", `/api/inventory/movements?${query({ product_id: id, limit: PAGE_SIZE, offset })}`);
      if (productView.id !== id) return;
      $("movements-body").replaceChildren(...result.data.map((m) => el("tr", {},
        el("td", {}, formatDate(m.created_at)),
        el("td", {}, m.warehouse),
        el("td", {}, el("span", { className: "reason", title: m.reason }, reasonLabel(m.reason))),
        el("td", { className: `num ${m.delta < 0 ? "negative" : "positive"}` }, signed(m.delta)),
        el("td", { className: "num" }, count.format(m.quantity_after)),
        el("td", { className: m.actor ? "" : "muted" }, actorLabel(m.actor)),
        el("td", {}, [m.note, m.reference && `ref ${m.reference}`].filter(Boolean).join(" · ")))));
      labelCells($("movements-table"));
      $("movements-table").hidden = result.data.length === 0;
      showState("movements-state", result.data.length ? "" : "No movements yet.");
      pager("movements", offset, result.data.length, totalOf(result), (next) => {
        productView.movementsOffset = next;
        loadMovements();
      });
    } catch (error) {
      showState("movements-state", `Could not load the history: ${error.message}`);
    }
  }

  const TAKES = new Set(["ship", "damage"]);

  async function recordMovement(event) {
    event.preventDefault();
    const form = event.target;
    clearFormErrors(form);
    const action = form.elements.action.value;
    const warehouse = form.elements.warehouse.value.trim();
    const amount = Number(form.elements.quantity.value);
    const note = form.elements.note.value.trim();
    const fail = (field, message) => {
      form.querySelector(`.field-error[data-field="${field}"]`).textContent = message;
    };
    if (!warehouse) return fail("warehouse", "Choose a warehouse.");
    if (!Number.isInteger(amount) || amount === 0 || (action !== "adjust" && amount < 0)) {
      return fail("delta", action === "adjust" ? "Enter a whole number other than 0 (negative takes stock)." :
        "Enter a whole number above 0.");
    }
    if (action === "adjust" && !note) return fail("note", "Say why the stock is adjusted.");
    const delta = TAKES.has(action) ? -Math.abs(amount) : amount;
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      let record = productView.records.find((r) => r.warehouse === warehouse);
      if (!record) {
        if (delta < 0) return fail("warehouse", `There is no stock of this product in ${warehouse}.`);
        // A new warehouse starts at 0 so the history shows this as the receive it is.
        const created = await api("POST", "/api/inventory", {
          body: { product_id: productView.id, warehouse, quantity: 0 },
          headers: { "Idempotency-Key": randomKey() },
        });
        record = created.data;
      }
      const body = { delta, reason: action };
      if (note) body.note = note;
      await api("POST", `/api/inventory/${record.id}/adjust`, { body, headers: { "Idempotency-Key": randomKey() } });
      form.reset();
      notice(`${action} ${Math.abs(delta)} recorded in ${warehouse}.`);
      productView.movementsOffset = 0;
      await Promise.all([loadStock(), loadMovements(), refreshCards()]);
    } catch (error) {
      formFailed(form, error);
    } finally {
      button.disabled = false;
    }
    return undefined;
  }

  async function transfer(event) {
    event.preventDefault();
    const form = event.target;
    clearFormErrors(form);
    const body = {
      product_id: productView.id,
      from_warehouse: form.elements.from_warehouse.value,
      to_warehouse: form.elements.to_warehouse.value.trim(),
      quantity: Number(form.elements.quantity.value),
    };
    const note = form.elements.note.value.trim();
    if (note) body.note = note;
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      await api("POST", "/api/inventory/transfer", { body, headers: { "Idempotency-Key": randomKey() } });
      form.reset();
      notice(`Moved ${body.quantity} from ${body.from_warehouse} to ${body.to_warehouse}.`);
      productView.movementsOffset = 0;
      await Promise.all([loadStock(), loadMovements(), refreshCards()]);
    } catch (error) {
      formFailed(form, error);
    } finally {
      button.disabled = false;
    }
  }

  // ---- warehouses ----------------------------------------------------------------------------------
  // The managed warehouses: listed, created, renamed and archived in their view, and the only choices of
  // the stock forms' pickers (a typo can no longer make a second warehouse). Each change reloads the list
  // and the pickers from the API, so every count shown is the server's.
  const warehouseView = { list: [], rowErrors: new Map(), renaming: null };

  async function fetchWarehouses() {
    const { data } = await api("GET", "/api/warehouses");
    warehouseView.list = data;
    fillWarehousePickers();
    return data;
  }

  function fillWarehousePickers() {
    const active = warehouseView.list.filter((w) => !w.archived);
    for (const select of document.querySelectorAll("select.warehouse-picker")) {
      const chosen = select.value;
      select.replaceChildren(el("option", { value: "" }, active.length ? "Choose a warehouse…" : "No warehouses yet"),
        ...active.map((w) => el("option", { value: w.name }, w.name)));
      if (active.some((w) => w.name === chosen)) select.value = chosen;
    }
  }

  function warehouseStatus(warehouse) {
    if (warehouse.archived) return el("span", { className: "badge level-none" }, "Archived");
    if (warehouse.name_clash) return el("span", { className: "badge level-medium" }, "Name differs only by case: rename one");
    return el("span", { className: "badge level-high" }, "Active");
  }

  function warehouseRow(warehouse) {
    const action = (label, onclick, text) => el("button", {
      type: "button", className: "secondary small", onclick, "aria-label": `${label} ${warehouse.name}`,
    }, text || label);
    return el("tr", { dataset: { warehouseId: warehouse.id } },
      el("td", {}, warehouse.name),
      el("td", { className: "num" }, count.format(warehouse.quantity)),
      el("td", {}, warehouseStatus(warehouse)),
      el("td", { className: "actions" },
        action("Rename", () => openRename(warehouse)),
        warehouse.archived ? action("Restore", () => setArchived(warehouse, false)) :
          action("Archive", () => setArchived(warehouse, true)),
        el("p", { className: "row-error", role: "alert" }, warehouseView.rowErrors.get(warehouse.id) || "")));
  }

  async function loadWarehouses() {
    showState("warehouses-state", "Loading warehouses…");
    try {
      const data = await fetchWarehouses();
      $("warehouses-body").replaceChildren(...data.map(warehouseRow));
      labelCells($("warehouses-table"));
      $("warehouses-table").hidden = data.length === 0;
      showState("warehouses-state", data.length ? "" : "No warehouses yet. Create the first one above.");
    } catch (error) {
      $("warehouses-table").hidden = true;
      showState("warehouses-state", `Could not load warehouses: ${error.message}`);
    }
  }

  async function afterWarehouseChange(text) {
    notice(text);
    await Promise.all([loadWarehouses(), refreshCards()]);
  }

  async function createWarehouse(event) {
    event.preventDefault();
    const form = event.target;
    clearFormErrors(form);
    const name = form.elements.name.value.trim();
    if (!name) {
      form.querySelector('.field-error[data-field="name"]').textContent = "Enter the warehouse's name.";
      return;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      await api("POST", "/api/warehouses", { body: { name } });
      form.reset();
      await afterWarehouseChange(`Created warehouse “${name}”.`);
    } catch (error) {
      formFailed(form, error);
    } finally {
      button.disabled = false;
    }
  }

  function openRename(warehouse) {
    const form = $("rename-form");
    clearFormErrors(form);
    warehouseView.renaming = warehouse;
    $("rename-dialog-title").textContent = `Rename ${warehouse.name}`;
    form.elements.name.value = warehouse.name;
    $("rename-dialog").showModal();
    form.elements.name.select();
  }

  async function saveRename(event) {
    event.preventDefault();
    const form = event.target;
    const warehouse = warehouseView.renaming;
    clearFormErrors(form);
    const name = form.elements.name.value.trim();
    if (!name) {
      form.querySelector('.field-error[data-field="name"]').textContent = "Enter the new name.";
      return;
    }
    const save = $("rename-save");
    save.disabled = true;
    try {
      await api("PUT", `/api/warehouses/${warehouse.id}`, {
        body: { name }, headers: { "If-Match": `"${warehouse.version}"` },
      });
      $("rename-dialog").close();
      warehouseView.rowErrors.delete(warehouse.id);
      await afterWarehouseChange(`Renamed “${warehouse.name}” to “${name}”.`);
    } catch (error) {
      formFailed(form, error);
      if (error instanceof ApiError && error.status === 412) {
        await loadWarehouses();
        const fresh = warehouseView.list.find((w) => w.id === warehouse.id);
        if (fresh) warehouseView.renaming = fresh;
      }
    } finally {
      save.disabled = false;
    }
  }

  // Archive or restore; a refusal (it still holds stock) is shown in the warehouse's row, by its buttons.
  async function setArchived(warehouse, archived) {
    warehouseView.rowErrors.delete(warehouse.id);
    try {
      await api("PUT", `/api/warehouses/${warehouse.id}`, { body: { archived } });
      await afterWarehouseChange(`${archived ? "Archived" : "Restored"} warehouse “${warehouse.name}”.`);
    } catch (error) {
      warehouseView.rowErrors.set(warehouse.id, error.message);
      const line = document.querySelector(`#warehouses-body tr[data-warehouse-id="${warehouse.id}"] .row-error`);
      if (!line) return;
      line.textContent = error.message;
      line.scrollIntoView({ block: "nearest" });
    }
  }

  // ---- low stock -----------------------------------------------------------------------------------
  const lowView = { offset: 0 };

  async function loadLowStock() {
    showState("low-state", "Loading low stock…");
    try {
      const result = await api("GET", `/api/inventory/low-stock?${query({ limit: PAGE_SIZE, offset: lowView.offset })}`);
      const ids = [...new Set(result.data.map((r) => r.product_id))];
      const names = new Map();
      if (ids.length) {
        const products = await api("GET", `/api/products?${query({ ids: ids.join(","), limit: 1000 })}`);
        for (const product of products.data) names.set(product.id, product.name);
      }
      $("low-body").replaceChildren(...result.data.map((record) => el("tr", {},
        el("td", {}, el("a", { href: `#/product/${record.product_id}` }, names.get(record.product_id) || `#${record.product_id}`)),
        el("td", {}, record.warehouse),
        el("td", { className: "num" }, levelBadge(record.quantity, record.reorder_point), " ", count.format(record.quantity)),
        el("td", { className: "num" }, count.format(record.reorder_point)),
        el("td", { className: "num" }, reorderQuantity(record)),
        el("td", {}, formatDate(record.last_updated)))));
      labelCells($("low-table"));
      $("low-table").hidden = result.data.length === 0;
      showState("low-state", result.data.length ? "" : "Nothing is low on stock.");
      pager("low", lowView.offset, result.data.length, totalOf(result), (offset) => {
        lowView.offset = offset;
        loadLowStock();
      });
    } catch (error) {
      $("low-table").hidden = true;
      showState("low-state", `Could not load low stock: ${error.message}`);
    }
  }

  // ---- the shop-wide movement log --------------------------------------------------------------------
  const logView = { offset: 0 };

  function logFilters() {
    const form = $("log-filters").elements;
    return {
      from: form.from.value, to: form.to.value, product_id: form.product_id.value,
      warehouse: form.warehouse.value.trim(), reason: form.reason.value, actor: form.actor.value.trim(),
    };
  }

  // The choices are read each time the view opens, so a product or warehouse added meanwhile is there.
  async function openLog() {
    await loadLogChoices();
    loadLog();
  }

  // The product and warehouse choices of the filters (up to 1,000 of each: suggestions, not limits).
  async function loadLogChoices() {
    try {
      const [products, records] = await Promise.all([
        api("GET", "/api/products?limit=1000&sort=name"),
        api("GET", "/api/inventory?limit=1000"),
      ]);
      const select = $("log-product");
      const chosen = select.value;
      select.replaceChildren(el("option", { value: "" }, "All products"), ...products.data.map((p) =>
        el("option", { value: p.id }, p.sku ? `${p.name} (${p.sku})` : p.name)));
      select.value = chosen;
      const names = [...new Set(records.data.map((r) => r.warehouse))].sort();
      $("log-warehouse-options").replaceChildren(...names.map((name) => el("option", { value: name })));
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 401)) showError(error);
    }
  }

  async function loadLog() {
    const form = $("log-filters");
    clearFormErrors(form);
    logView.seq = (logView.seq || 0) + 1;
    const seq = logView.seq;
    showState("log-state", "Loading movements…");
    const offset = logView.offset;
    try {
      const result = await api("GET", `/api/inventory/movements?${query({ ...logFilters(), limit: PAGE_SIZE, offset })}`);
      if (seq !== logView.seq) return;
      $("log-body").replaceChildren(...result.data.map((m) => el("tr", {},
        el("td", {}, formatDate(m.created_at)),
        el("td", {}, el("a", { href: `#/product/${m.product_id}` }, m.product_name || `Product ${m.product_id}`),
          m.sku ? el("span", { className: "muted mono" }, ` ${m.sku}`) : null),
        el("td", {}, m.warehouse),
        el("td", {}, el("span", { className: "reason", title: m.reason }, reasonLabel(m.reason))),
        el("td", { className: `num ${m.delta < 0 ? "negative" : "positive"}` }, signed(m.delta)),
        el("td", { className: "num" }, count.format(m.quantity_after)),
        el("td", { className: m.actor ? "" : "muted" }, actorLabel(m.actor)),
        el("td", {}, [m.note, m.reference && `ref ${m.reference}`].filter(Boolean).join(" · ")))));
      labelCells($("log-table"));
      $("log-table").hidden = result.data.length === 0;
      const filtered = Object.values(logFilters()).some(Boolean);
      showState("log-state", result.data.length ? "" :
        (filtered ? "No movement matches these filters." : "No movements yet."));
      pager("log", offset, result.data.length, totalOf(result), (next) => {
        logView.offset = next;
        loadLog();
      });
    } catch (error) {
      if (seq !== logView.seq) return;
      $("log-table").hidden = true;
      showState("log-state", "");
      // A bad filter (a date the API cannot read, say) is shown under the filters, in their words.
      formFailed(form, error);
    }
  }

  // ---- import and export ---------------------------------------------------------------------------
  // A download needs the token in a header, which a plain link cannot send: fetch it, then save the file.
  async function download(name, filters, errorLine) {
    errorLine.textContent = "";
    const headers = {};
    const token = currentToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    try {
      const response = await fetch(`/api/export/${name}.csv?${query(filters)}`, { headers, credentials: "omit", cache: "no-store" });
      if (!response.ok) {
        let problem = null;
        try { problem = await response.json(); } catch { problem = null; }
        throw new ApiError(response.status, problem);
      }
      const disposition = response.headers.get("Content-Disposition") || "";
      const match = disposition.match(/filename="([^"]+)"/);
      const link = el("a", { href: URL.createObjectURL(await response.blob()), download: match ? match[1] : `stockwiz-${name}.csv` });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    } catch (error) {
      errorLine.textContent = error instanceof ApiError ? error.describe() : `The download failed: ${error.message}`;
    }
  }

  const importState = { checked: null };

  function resetImport() {
    importState.checked = null;
    $("import-run").disabled = true;
    $("import-error").textContent = "";
    $("import-summary").textContent = "";
    $("import-errors").hidden = true;
    $("import-errors-body").replaceChildren();
  }

  function summarise(report) {
    const parts = [`${count.format(report.created)} new`, `${count.format(report.updated)} updated`,
      `${count.format(report.unchanged)} unchanged`];
    const rows = `${count.format(report.rows)} ${report.rows === 1 ? "row" : "rows"}`;
    return report.dry_run ? `The file is fine: ${rows} (${parts.join(", ")}). Choose “Import” to write it.` :
      `Imported ${rows}: ${parts.join(", ")}.`;
  }

  async function runImport(dryRun) {
    const form = $("import-form");
    const file = form.elements.file.files[0];
    const kind = form.elements.kind.value;
    resetImport();
    if (!file) {
      $("import-error").textContent = "Choose a CSV file first.";
      return;
    }
    const buttons = [$("import-check"), $("import-run")];
    for (const button of buttons) button.disabled = true;
    $("import-summary").textContent = dryRun ? "Checking the file…" : "Importing…";
    try {
      const { data } = await api("POST", `/api/import/${kind}.csv?dry_run=${dryRun}`, {
        raw: file, headers: { "Content-Type": "text/csv" },
      });
      $("import-summary").textContent = summarise(data);
      if (dryRun) importState.checked = { kind, file };
      else {
        form.reset();
        notice(summarise(data));
        refreshCards();
      }
    } catch (error) {
      $("import-summary").textContent = "";
      const rows = error instanceof ApiError && Array.isArray(error.problem.row_errors) ? error.problem.row_errors : [];
      $("import-error").textContent = error.message;
      $("import-errors-body").replaceChildren(...rows.map((row) => el("tr", {},
        el("td", { className: "num" }, String(row.row)), el("td", { className: "mono" }, row.column),
        el("td", {}, row.message))));
      labelCells($("import-errors"));
      $("import-errors").hidden = rows.length === 0;
    } finally {
      $("import-check").disabled = false;
      $("import-run").disabled = !importState.checked;
    }
  }

  // ---- routing -------------------------------------------------------------------------------------
  function show(name) {
    for (const view of document.querySelectorAll(".view")) view.hidden = view.id !== `view-${name}`;
    for (const link of document.querySelectorAll("[data-nav]")) {
      link.classList.toggle("active", link.dataset.nav === name || (name === "product" && link.dataset.nav === "products"));
    }
  }

  function route() {
    $("error").hidden = true;
    const hash = location.hash || "#/products";
    const product = hash.match(/^#\/product\/(\d+)$/);
    if (product) {
      show("product");
      loadProduct(Number(product[1]));
    } else if (hash === "#/low-stock") {
      show("low-stock");
      loadLowStock();
    } else if (hash === "#/warehouses") {
      // Refusals belong to the visit that caused them: coming back starts clean.
      clearFormErrors($("warehouse-form"));
      warehouseView.rowErrors.clear();
      show("warehouses");
      loadWarehouses();
    } else if (hash === "#/movements") {
      show("movements");
      openLog();
    } else if (hash === "#/import") {
      show("import");
    } else {
      show("products");
      loadProducts();
    }
  }

  function debounce(fn, ms) {
    let timer;
    return (...args) => {
      clearTimeout(timer);
      timer = setTimeout(() => fn(...args), ms);
    };
  }

  async function start() {
    const restart = () => { productsView.offset = 0; loadProducts(); };
    $("search").addEventListener("input", debounce(restart, 250));
    $("category").addEventListener("change", restart);
    $("sort").addEventListener("change", () => { showSort(); restart(); });
    for (const button of document.querySelectorAll("#products-table button.sort")) {
      button.addEventListener("click", () => sortBy(button.dataset.sort));
    }
    showSort();
    $("show-archived").addEventListener("change", restart);
    $("new-product").addEventListener("click", () => openProductDialog(null));
    $("product-form").addEventListener("submit", saveProduct);
    $("product-cancel").addEventListener("click", () => $("product-dialog").close());
    $("movement-form").addEventListener("submit", recordMovement);
    $("movement-action").addEventListener("change", (event) => {
      $("movement-quantity-label").textContent = event.target.value === "adjust" ? "Change (+/−)" : "Quantity";
    });
    $("transfer-form").addEventListener("submit", transfer);
    $("reorder-form").addEventListener("submit", saveReorder);
    $("warehouse-form").addEventListener("submit", createWarehouse);
    $("rename-form").addEventListener("submit", saveRename);
    $("rename-cancel").addEventListener("click", () => $("rename-dialog").close());
    $("reorder-cancel").addEventListener("click", () => $("reorder-dialog").close());
    $("error-close").addEventListener("click", () => { $("error").hidden = true; });
    const signIn = () => {
      session.declined = false;
      return askForToken(NEEDS_TOKEN).then((token) => { if (token) reload(); });
    };
    $("sign-in").addEventListener("click", signIn);
    $("signed-out-sign-in").addEventListener("click", signIn);
    $("sign-out").addEventListener("click", () => signOut());
    $("token-form").addEventListener("submit", (event) => {
      const value = event.target.elements.token.value.trim();
      if (value) keepToken(value);
    });
    $("token-cancel").addEventListener("click", () => $("token-dialog").close());
    $("log-filters").addEventListener("submit", (event) => {
      event.preventDefault();
      logView.offset = 0;
      loadLog();
    });
    $("log-clear").addEventListener("click", () => {
      $("log-filters").reset();
      logView.offset = 0;
      loadLog();
    });
    $("log-download").addEventListener("click", () => download("movements", logFilters(), $("log-error")));
    $("log-reason").append(...Object.entries(REASONS).map(([value, label]) => el("option", { value }, label)));
    for (const button of document.querySelectorAll("[data-export]")) {
      button.addEventListener("click", () => download(button.dataset.export, {}, $("export-error")));
    }
    $("import-form").addEventListener("submit", (event) => {
      event.preventDefault();
      runImport(true);
    });
    $("import-run").addEventListener("click", () => runImport(false));
    for (const id of ["import-kind", "import-file"]) $(id).addEventListener("change", resetImport);
    window.addEventListener("hashchange", route);
    showAuthButtons();
    await borrowToken();
    showAuthButtons();
    reload();
  }

  function reload() {
    loadSettings().then((signedIn) => {
      if (!signedIn) return;
      route();
      refreshCards();
      loadCategories();
    });
  }

  start();
})();
