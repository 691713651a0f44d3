// SPDX-License-Identifier: MIT
// Check Kubernetes manifests against the API's OpenAPI schemas, as the
// API server would with strict field validation: every object must have
// the types and required fields of its schema, and no field the schema
// does not know (a typo such as `livenesProbe` is an error, not a field
// silently dropped).
//
// Usage: node k8s-schema.js NODE_MODULES FILE.yaml...
// The validators come from the npm package kubernetes-models (compiled
// from the Kubernetes OpenAPI document); YAML is read with `yaml`.
// Exit 0 when every document of every file is valid, 1 otherwise.
"use strict";

const fs = require("fs");
const path = require("path");

const modules = process.argv[2];
const files = process.argv.slice(3);
const YAML = require(path.join(modules, "yaml"));
const schemas = path.join(modules, "kubernetes-models", "_schemas");

// "apps/v1", "Deployment" -> IoK8sApiAppsV1Deployment; core is "v1".
function schemaFile(apiVersion, kind) {
  const parts = String(apiVersion).split("/");
  const group = parts.length === 2 ? parts[0].split(".")[0] : "core";
  const version = parts[parts.length - 1];
  const cap = (s) => s.charAt(0).toUpperCase() + s.slice(1);
  return path.join(schemas, `IoK8sApi${cap(group)}${cap(version)}${kind}.js`);
}

// A deep copy of value whose objects record the keys a validator reads:
// the compiled validators read every property their schema declares (and
// every key of a map), so a key never read is unknown to the schema.
function watched(value, where, seen) {
  if (value === null || typeof value !== "object")
    return value;
  if (Array.isArray(value))
    return value.map((v, i) => watched(v, `${where}[${i}]`, seen));
  const read = new Set();
  const copy = {};
  for (const [k, v] of Object.entries(value))
    copy[k] = watched(v, `${where}.${k}`, seen);
  seen.push({ where, keys: Object.keys(value), read });
  return new Proxy(copy, {
    get(target, key, receiver) {
      if (typeof key === "string")
        read.add(key);
      return Reflect.get(target, key, receiver);
    },
  });
}

function checkDocument(doc, name) {
  const problems = [];
  const file = schemaFile(doc.apiVersion, doc.kind);
  if (!fs.existsSync(file))
    return [`${name}: no schema for ${doc.apiVersion} ${doc.kind}`];
  const validate = require(file).validate;
  const seen = [];
  if (!validate(watched(doc, "", seen))) {
    for (const e of validate.errors)
      problems.push(`${name}: ${e.instancePath || "/"}: ${e.keyword} ` +
                    JSON.stringify(e.params));
  }
  // Report an unknown field once, not again for each field inside it.
  const unknown = [];
  const inside = (w) => unknown.some((u) => w === u ||
                                           w.startsWith(u + ".") ||
                                           w.startsWith(u + "["));
  seen.sort((a, b) => a.where.length - b.where.length);
  for (const { where, keys, read } of seen)
    for (const k of keys)
      if (!read.has(k) && !inside(where)) {
        unknown.push(`${where}.${k}`);
        problems.push(`${name}: ${where}.${k}: unknown field`);
      }
  return problems;
}

let failures = 0;
let count = 0;
for (const file of files) {
  const docs = YAML.parseAllDocuments(fs.readFileSync(file, "utf8"));
  docs.forEach((d, i) => {
    if (d.errors.length) {
      console.log(`${file}: ${d.errors[0].message}`);
      failures++;
      return;
    }
    const doc = d.toJS();
    if (doc === null)
      return;
    const name = `${path.basename(file)}[${i}] ${doc.kind}/` +
                 `${doc.metadata && doc.metadata.name}`;
    const problems = checkDocument(doc, name);
    problems.forEach((p) => console.log(p));
    failures += problems.length;
    count++;
  });
}
console.log(`k8s-schema: ${count} objects, ${failures} problems`);
process.exit(failures ? 1 : 0);
