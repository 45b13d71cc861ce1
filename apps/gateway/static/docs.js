// The API docs page: renders the gateway's own /openapi.json (its routes and every product and inventory
// route under /api) as readable HTML. Written here rather than vendoring Swagger UI or Redoc: those need
// inline styles or a CDN, which the Content-Security-Policy forbids, and this page is a few hundred lines.
// Every value from the document is put on the page with textContent, never as HTML.
"use strict";

(function () {
  const METHODS = ["get", "post", "put", "patch", "delete", "head", "options"];

  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (name === "text") node.textContent = value;
      else node.setAttribute(name, value);
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  function refName(schema) {
    return schema && typeof schema.$ref === "string" ? schema.$ref.split("/").pop() : null;
  }

  // A short, human description of a schema: "Product", "array of Movement", "integer 1-1000", "string".
  function describe(schema) {
    if (!schema) return "";
    const name = refName(schema);
    if (name) return name;
    if (schema.type === "array") return "array of " + describe(schema.items);
    if (schema.enum) return "one of " + schema.enum.join(", ");
    if (schema.anyOf) return schema.anyOf.map(describe).join(" or ");
    if (schema.allOf) return schema.allOf.map(describe).filter(Boolean).join(" and ");
    let text = Array.isArray(schema.type) ? schema.type.join(" or ") : schema.type || "any";
    if (schema.minimum !== undefined || schema.maximum !== undefined) {
      text += " " + (schema.minimum ?? "…") + "–" + (schema.maximum ?? "…");
    }
    if (schema.maxLength !== undefined) text += ", at most " + schema.maxLength + " characters";
    if (schema.format) text += " (" + schema.format + ")";
    return text;
  }

  function exampleOf(doc, schema) {
    const name = refName(schema);
    if (name) {
      const component = doc.components.schemas[name];
      return component && component.examples ? component.examples[0] : undefined;
    }
    if (schema && schema.type === "array") {
      const item = exampleOf(doc, schema.items);
      return item === undefined ? undefined : [item];
    }
    return schema && schema.examples ? schema.examples[0] : undefined;
  }

  function exampleBlock(value) {
    return el("pre", { class: "example", "aria-label": "Example" }, el("code", { text: JSON.stringify(value, null, 2) }));
  }

  function table(headings, rows) {
    const head = el("tr", {}, ...headings.map((h) => el("th", { scope: "col", text: h })));
    const body = el("tbody", {}, ...rows.map((cells) => el("tr", {}, ...cells.map((c) => el("td", { text: c })))));
    return el("div", { class: "table-wrap" }, el("table", {}, el("thead", {}, head), body));
  }

  function jsonSchemaOf(content) {
    if (!content) return null;
    const type = Object.keys(content)[0];
    return { type, schema: content[type].schema, example: content[type].example };
  }

  function operationCard(doc, method, path, pathItem, operation) {
    const id = operation.operationId || method + " " + path;
    const card = el("section", { class: "op", id: id, "data-search": [method, path, id, operation.summary || ""].join(" ").toLowerCase() });
    const heading = el(
      "h3",
      {},
      el("span", { class: "method method-" + method, text: method.toUpperCase() }),
      el("span", { class: "op-path", text: path }),
      el("span", { class: "op-id", text: operation.operationId || "" }),
    );
    card.append(heading, el("p", { text: operation.summary || "" }));
    // A longer description (an import's columns and rules, say) follows the summary.
    if (operation.description) card.append(el("p", { class: "muted", text: operation.description }));
    if (operation.security && operation.security.length) {
      card.append(el("p", { class: "lock", text: "Needs Authorization: Bearer <token> when the gateway has tokens configured." }));
    }
    const parameters = [...(pathItem.parameters || []), ...(operation.parameters || [])];
    if (parameters.length) {
      card.append(
        el("h4", { text: "Parameters" }),
        table(
          ["name", "in", "required", "type", "description"],
          parameters.map((p) => [p.name, p.in, p.required ? "yes" : "no", describe(p.schema), p.description || ""]),
        ),
      );
    }
    const body = operation.requestBody && jsonSchemaOf(operation.requestBody.content);
    if (body) {
      card.append(el("h4", { text: "Request body (" + body.type + "): " + describe(body.schema) }));
      // A body that is not JSON (a CSV file) is shown as its text.
      if (typeof body.example === "string") card.append(el("pre", { class: "example", "aria-label": "Example" }, el("code", { text: body.example })));
      else {
        const example = exampleOf(doc, body.schema);
        if (example !== undefined) card.append(exampleBlock(example));
      }
    }
    const responses = Object.entries(operation.responses || {});
    if (responses.length) {
      card.append(el("h4", { text: "Responses" }));
      const rows = responses.map(([status, response]) => {
        const content = jsonSchemaOf(response.content);
        return [status, response.description || "", content ? content.type + ": " + describe(content.schema) : ""];
      });
      card.append(table(["status", "meaning", "body"], rows));
      const ok = responses.find(([status]) => status.startsWith("2"));
      const content = ok && jsonSchemaOf(ok[1].content);
      const example = content && exampleOf(doc, content.schema);
      if (example !== undefined) card.append(el("p", { class: "muted", text: "Example answer (" + ok[0] + "):" }), exampleBlock(example));
    }
    return card;
  }

  function schemaCard(name, schema) {
    const card = el("section", { class: "schema", id: "schema-" + name }, el("h3", { text: name }));
    if (schema.description) card.append(el("p", { class: "muted", text: schema.description }));
    const required = new Set(schema.required || []);
    const properties = Object.entries(schema.properties || {});
    if (properties.length) {
      card.append(
        table(
          ["field", "type", "required", "description"],
          properties.map(([field, property]) => [field, describe(property), required.has(field) ? "yes" : "no", property.description || ""]),
        ),
      );
    }
    if (schema.examples && schema.examples.length) card.append(exampleBlock(schema.examples[0]));
    return card;
  }

  function render(doc) {
    document.getElementById("docs-title").textContent = doc.info.title + " " + doc.info.version;
    document.getElementById("docs-description").textContent = doc.info.description || "";
    const bearer = doc.components.securitySchemes && doc.components.securitySchemes.bearerAuth;
    if (bearer) {
      document.getElementById("docs-auth").textContent =
        "Authentication: send 'Authorization: Bearer <token>' on /api routes. " + (bearer.description || "");
    }
    const groups = new Map();
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of METHODS) {
        const operation = item[method];
        if (!operation) continue;
        const tag = (operation.tags && operation.tags[0]) || "gateway";
        if (!groups.has(tag)) groups.set(tag, []);
        groups.get(tag).push(operationCard(doc, method, path, item, operation));
      }
    }
    const operations = document.getElementById("docs-operations");
    const toc = document.getElementById("docs-toc");
    for (const [tag, cards] of groups) {
      const id = "tag-" + tag;
      toc.append(el("a", { href: "#" + id, text: tag + " (" + cards.length + ")" }));
      operations.append(el("section", { class: "docs-group" }, el("h2", { class: "docs-tag", id: id, text: tag }), ...cards));
    }
    toc.append(el("a", { href: "#schemas", text: "schemas" }));
    const schemas = document.getElementById("docs-schemas");
    for (const [name, schema] of Object.entries(doc.components.schemas || {})) schemas.append(schemaCard(name, schema));
    const count = [...groups.values()].reduce((total, cards) => total + cards.length, 0);
    const state = document.getElementById("docs-state");
    state.textContent = count + " operations.";
    document.getElementById("docs-filter").addEventListener("input", (event) => {
      const needle = event.target.value.trim().toLowerCase();
      let shown = 0;
      for (const card of operations.querySelectorAll(".op")) {
        card.hidden = needle !== "" && !card.dataset.search.includes(needle);
        if (!card.hidden) shown += 1;
      }
      // A group whose operations are all filtered out disappears with its heading.
      for (const group of operations.querySelectorAll(".docs-group")) {
        group.hidden = group.querySelector(".op:not([hidden])") === null;
      }
      state.textContent = needle ? shown + " of " + count + " operations match." : count + " operations.";
    });
    if (location.hash) {
      const target = document.getElementById(decodeURIComponent(location.hash.slice(1)));
      if (target) target.scrollIntoView();
    }
  }

  async function start() {
    const state = document.getElementById("docs-state");
    try {
      const response = await fetch("/openapi.json", { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error("the gateway answered " + response.status);
      render(await response.json());
    } catch (error) {
      state.textContent = "Could not load the API description: " + error.message + ". Reload to try again.";
    }
  }

  start();
})();
