// Converts docs/api/openapi.yaml into a Postman collection, deterministically, so the committed file only
// changes when the API does (the drift check of .ci/run), and the environment that goes with it.
// Usage: node convert.js <openapi.yaml> <output directory>   (run by `make schema`)
"use strict";
const fs = require("fs");

// The converter fills example values with Math.random and gives every entry a random uuid: seed the one
// (a small xorshift PRNG) and drop the other.
let seed = 0x2f6b3a91;
Math.random = () => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 4294967296;
};

const converter = require("openapi-to-postmanv2");

function stripIds(value) {
  if (Array.isArray(value)) return value.map(stripIds);
  if (value && typeof value === "object") {
    const out = {};
    for (const [key, inner] of Object.entries(value)) {
      if (key === "id" || key === "_postman_id") continue;
      out[key] = stripIds(inner);
    }
    return out;
  }
  return value;
}

const [spec, outputDir] = process.argv.slice(2);
const environment = {
  name: "Daymark (local)",
  values: [
    { key: "baseUrl", value: "http://127.0.0.1:8000", type: "default", enabled: true },
    // An access token from POST /api/v1/auth/token (or auth/register); it lives 5 minutes by default.
    { key: "bearerToken", value: "", type: "secret", enabled: true },
  ],
  _postman_variable_scope: "environment",
};
converter.convert(
  { type: "string", data: fs.readFileSync(spec, "utf8") },
  { folderStrategy: "Tags", requestParametersResolution: "Schema", exampleParametersResolution: "Schema" },
  (error, result) => {
    if (error || !result.result) {
      console.error(error || result.reason);
      process.exit(1);
    }
    const collection = stripIds(result.output[0].data);
    fs.mkdirSync(outputDir, { recursive: true });
    const write = (name, data) => fs.writeFileSync(`${outputDir}/${name}`, JSON.stringify(data, null, 2) + "\n");
    write("daymark.postman_collection.json", collection);
    write("daymark.postman_environment.json", environment);
  },
);
