// A minimal Language Server Protocol client for tests/catalog/test_editor.py: opens YAML
// documents in yaml-language-server (as an editor does) and prints the diagnostics it publishes.
// Usage: node lsp_client.js SERVER_JS DOCS_JSON  (DOCS_JSON: [{"uri": ..., "text": ...}])
"use strict";
const { spawn } = require("child_process");
const fs = require("fs");

const [serverJs, docsPath] = process.argv.slice(2);
const docs = JSON.parse(fs.readFileSync(docsPath, "utf8"));
const server = spawn(process.execPath, [serverJs, "--stdio"], { stdio: ["pipe", "pipe", "inherit"] });
const settings = { validate: true, hover: true, completion: true, schemas: {}, schemaStore: { enable: false } };
const results = {};
let buffer = Buffer.alloc(0);

function send(message) {
  const body = JSON.stringify({ jsonrpc: "2.0", ...message });
  server.stdin.write(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

function finish(code) {
  process.stdout.write(JSON.stringify(results));
  server.kill();
  process.exit(code);
}

function handle(message) {
  if (message.method === "workspace/configuration") {
    send({ id: message.id, result: message.params.items.map(() => settings) });
  } else if (message.method !== undefined && message.id !== undefined) {
    send({ id: message.id, result: null }); // other server requests: nothing to register
  } else if (message.method === "textDocument/publishDiagnostics") {
    results[message.params.uri] = message.params.diagnostics;
    if (docs.every((d) => d.uri in results)) setTimeout(() => finish(0), 1000); // late updates
  } else if (message.id === 1) {
    send({ method: "initialized", params: {} });
    send({ method: "workspace/didChangeConfiguration", params: { settings: { yaml: settings } } });
    for (const d of docs) {
      const textDocument = { uri: d.uri, languageId: "yaml", version: 1, text: d.text };
      send({ method: "textDocument/didOpen", params: { textDocument } });
    }
  }
}

server.stdout.on("data", (chunk) => {
  buffer = Buffer.concat([buffer, chunk]);
  for (;;) {
    const end = buffer.indexOf("\r\n\r\n");
    if (end < 0) return;
    const length = Number(/Content-Length: (\d+)/i.exec(buffer.subarray(0, end).toString())[1]);
    if (buffer.length < end + 4 + length) return;
    const body = buffer.subarray(end + 4, end + 4 + length).toString();
    buffer = buffer.subarray(end + 4 + length);
    handle(JSON.parse(body));
  }
});

send({ id: 1, method: "initialize", params: { processId: process.pid, rootUri: null, capabilities: { workspace: { configuration: true } } } });
setTimeout(() => finish(1), 60000); // bounded: a server that never answers fails the test
